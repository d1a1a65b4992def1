"""The record a summary is built from: the agenda as run, attendance, breakout rounds."""

from __future__ import annotations

from facilitation import AgendaSlot, GatheringState
from facilitation import breakouts as b
from facilitation import events as e
from facilitation.history import Attendee, history
from facilitation.state import BreakoutPlan, Group, Member

T0 = 1_800_000_000.0
AGENDA = (
    AgendaSlot(11, "Velkommen", "welcome", 10),
    AgendaSlot(12, "Innlegg", "expert_talk", 20),
    AgendaSlot(13, "Grupper", "breakout", 25, breakout=BreakoutPlan()),
    AgendaSlot(14, "Slutt", "wrap_up", 5),
)
START = GatheringState(gathering_id="g1", agenda=AGENDA)
ALICE = Member(3, "Alice", "Askvik kommune")
BJORN = Member(4, "Bjørn", "Brekke kommune")


def minutes(m: float) -> float:
    return T0 + m * 60


def test_the_agenda_as_run_adds_up_each_items_time() -> None:
    log = [
        e.RoomOpened(T0),
        e.ItemStarted(0, 11, minutes(0), 600),
        e.ItemStarted(1, 12, minutes(12), 1200),
        e.ItemStarted(0, 11, minutes(20), 600),  # back to the welcome for 3 minutes
        e.ItemStarted(1, 12, minutes(23), 1200),
        e.GatheringEnded(minutes(40)),
    ]
    runs = history(START, log).items
    assert [(r.slot.id, r.started_at, r.actual_minutes, r.difference_minutes) for r in runs] == [
        (11, minutes(0), 15, 5), (12, minutes(12), 25, 5), (13, None, None, None),
        (14, None, None, None)]
    assert [r.ran for r in runs] == [True, True, False, False]


def test_an_item_still_running_counts_up_to_now() -> None:
    log = [e.RoomOpened(T0), e.ItemStarted(0, 11, minutes(0), 600)]
    assert history(START, log, now=minutes(7)).items[0].actual_minutes == 7
    assert history(START, log).items[0].actual_minutes == 0


def test_attendance_by_municipality() -> None:
    log = [e.AttendeeArrived(1, "Frida", None), e.AttendeeArrived(4, "Bjørn", "Brekke kommune"),
           e.AttendeeArrived(3, "Alice", "askvik kommune"),
           e.AttendeeArrived(5, "Anne", "Brekke kommune")]
    assert history(START, log).by_municipality() == [
        ("askvik kommune", [Attendee(3, "Alice", "askvik kommune")]),
        ("Brekke kommune", [Attendee(5, "Anne", "Brekke kommune"),
                            Attendee(4, "Bjørn", "Brekke kommune")]),
        (None, [Attendee(1, "Frida", None)]),
    ]


def test_each_opened_round_of_groups_as_it_was_called_back() -> None:
    groups = (Group("g1", "Oppstart", (ALICE,)), Group("g2", "Drift", (BJORN,)))
    log = [
        e.RoomOpened(T0),
        b.BreakoutsProposed(1, None, BreakoutPlan(), groups),  # never opened: not a round
        b.BreakoutsProposed(2, 13, BreakoutPlan(task="Del"), groups),
        b.BreakoutsOpened(minutes(1), minutes(20)),
        b.MemberMoved(BJORN, "g1"),
        b.GroupRenamed("g1", "Alle"),
        b.BreakoutsRecalled(minutes(20)),
    ]
    [round_] = history(START, log).rounds
    assert (round_.round, round_.item_id, round_.plan.task, round_.opened_at) == (
        2, 13, "Del", minutes(1))
    assert [(g.name, [m.name for m in g.members]) for g in round_.groups] == [
        ("Alle", ["Alice", "Bjørn"]), ("Drift", [])]
    assert history(START, log).item_title(13) == "Grupper"
