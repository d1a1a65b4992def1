"""Breakouts, timers and notes rights: pure rules, a fake clock, no I/O."""

from __future__ import annotations

import pytest

from facilitation import Actor, AgendaSlot, GatheringState, Role
from facilitation import breakouts as b
from facilitation import commands as c
from facilitation import events as e
from facilitation.notes import (
    FACILITATORS,
    PLENARY,
    CloseNotes,
    NotesReopened,
    ReopenNotes,
    is_shared,
    may_read_note,
    may_write_note,
    note_template,
)
from facilitation.state import (
    BreakoutPlan,
    BreakoutStatus,
    Context,
    GroupingRule,
    Member,
    Phase,
)
from tests.facilitation import deciding
from tests.facilitation.deciding import T0

STAGE_PLAN = BreakoutPlan(GroupingRule.SAME_STAGE, 4, "Hva står dere fast på?", "Utfordring:")
AGENDA = (
    AgendaSlot(11, "Velkommen", "welcome", 10),
    AgendaSlot(12, "Grupperom", "breakout", 20, breakout=STAGE_PLAN),
    AgendaSlot(13, "Deling", "plenary", 15),
)
FRIDA = Actor(1, "Frida Fasilitator", Role.FACILITATOR)
OLA = Actor(9, "Ola Observatør", Role.OBSERVER)
EVA = Actor(8, "Eva Ekspert", Role.EXPERT)


def participant(pid: int, municipality: str, stage: str) -> Actor:
    return Actor(pid, f"Person {pid}", Role.PARTICIPANT, municipality, stage)


ANNE = participant(3, "Askvik kommune", "oppstart")
BJORN = participant(4, "Brekke kommune", "oppstart")
CARL = participant(5, "Cirkel kommune", "gjennomforing")
DINA = participant(6, "Dal kommune", "gjennomforing")
LATE = participant(7, "Eik kommune", "gjennomforing")
PRESENT = Context(present=tuple(a.member for a in (ANNE, BJORN, CARL, DINA)),
                  stage_names=(("oppstart", "Oppstart"), ("gjennomforing", "Gjennomføring")))


def run(state: GatheringState, actor: Actor, command: c.Command, now: float = T0,
        context: Context = PRESENT) -> tuple[GatheringState, list[e.Event]]:
    return deciding.run(state, actor, command, now, context)


def rejected(state: GatheringState, actor: Actor, command: c.Command, now: float = T0) -> str:
    return deciding.rejected(state, actor, command, now, PRESENT).code


def live() -> GatheringState:
    state, _ = run(GatheringState("g1", AGENDA), FRIDA, c.OpenRoom())
    state, _ = run(state, FRIDA, c.NextItem(from_item=None))
    return state


def in_breakouts(now: float = T0) -> GatheringState:
    state, _ = run(live(), FRIDA, c.NextItem(from_item=11), now)
    return state


def members_of(state: GatheringState) -> dict[str, set[int]]:
    assert state.breakouts is not None
    return {g.name: {m.person_id for m in g.members} for g in state.breakouts.groups}


# --- a breakout item does what it says ---------------------------------------------------


def test_advancing_into_a_breakout_item_opens_groups_by_project_stage() -> None:
    state, events = run(live(), FRIDA, c.NextItem(from_item=11), T0 + 60)
    assert [ev.type for ev in events] == [
        "agenda.item_started", "breakouts.proposed", "breakouts.opened"]
    assert members_of(state) == {"Oppstart": {3, 4}, "Gjennomføring": {5, 6}}
    assert state.breakouts is not None
    assert state.breakouts.status is BreakoutStatus.OPEN
    assert state.breakouts.plan == STAGE_PLAN
    assert state.breakouts.deadline == T0 + 60 + 20 * 60  # the item's own deadline
    assert state.breakouts.round == 1


def test_leaving_the_breakout_item_calls_everyone_back() -> None:
    state, events = run(in_breakouts(), FRIDA, c.NextItem(from_item=12), T0 + 600)
    assert [ev.type for ev in events] == ["agenda.item_started", "breakouts.recalled"]
    assert state.breakouts is not None and state.breakouts.status is BreakoutStatus.RECALLED
    assert members_of(state) == {"Oppstart": {3, 4}, "Gjennomføring": {5, 6}}  # for the harvest


def test_a_second_round_gets_a_new_number() -> None:
    state, _ = run(in_breakouts(), FRIDA, b.RecallBreakouts())
    state, _ = run(state, FRIDA, b.ProposeBreakouts(rule=GroupingRule.MIXED, group_size=2))
    assert state.breakouts is not None and state.breakouts.round == 2
    assert state.breakouts.status is BreakoutStatus.PROPOSED
    for group in state.breakouts.groups:  # mixed: an experienced municipality in each
        assert any(m.stage == "gjennomforing" for m in group.members)


def test_proposing_while_groups_are_open_is_rejected() -> None:
    assert rejected(in_breakouts(), FRIDA, b.ProposeBreakouts()) == "rejected"


@pytest.mark.parametrize("size", [1, 13])
def test_group_size_is_bounded(size: int) -> None:
    assert rejected(live(), FRIDA, b.ProposeBreakouts(group_size=size)) == "rejected"


# --- the facilitator adjusts --------------------------------------------------------------


def test_the_facilitator_moves_renames_and_broadcasts() -> None:
    state, _ = run(in_breakouts(), FRIDA, b.MoveMember(person_id=3, to_group="g2"))
    assert members_of(state) == {"Oppstart": {4}, "Gjennomføring": {3, 5, 6}}
    state, _ = run(state, FRIDA, b.RenameGroup(group="g2", name="  Innkjøp  "))
    assert "Innkjøp" in members_of(state)
    state, events = run(state, FRIDA, b.BroadcastToGroups(text="Fem minutter igjen"), T0 + 9)
    assert events == [b.BroadcastSent("Fem minutter igjen", T0 + 9, FRIDA.name)]


@pytest.mark.parametrize("command", [
    b.MoveMember(person_id=3, to_group="g9"), b.MoveMember(person_id=99, to_group="g1"),
    b.RenameGroup(group="g9", name="X"), b.RenameGroup(group="g1", name="   "),
    b.BroadcastToGroups(text="  "), b.OpenBreakouts(),
])
def test_adjustments_that_cannot_be_done(command: c.Command) -> None:
    assert rejected(in_breakouts(), FRIDA, command) == "rejected"


def test_nothing_to_adjust_without_groups() -> None:
    for command in (b.RecallBreakouts(), b.OpenBreakouts(), b.BroadcastToGroups(text="Hei"),
                    b.MoveMember(person_id=3, to_group="g1")):
        assert rejected(live(), FRIDA, command) == "rejected"


def test_open_with_minutes_or_the_default() -> None:
    state, _ = run(live(), FRIDA, b.ProposeBreakouts())
    opened, events = run(state, FRIDA, b.OpenBreakouts(minutes=7), T0 + 5)
    assert events == [b.BreakoutsOpened(at=T0 + 5, deadline=T0 + 5 + 7 * 60)]
    _, events = run(state, FRIDA, b.OpenBreakouts(), T0 + 5)
    assert events == [b.BreakoutsOpened(at=T0 + 5, deadline=T0 + 5 + b.DEFAULT_MINUTES * 60)]


# --- participants -------------------------------------------------------------------------


def test_self_select_lets_participants_choose_until_a_group_is_full() -> None:
    state, _ = run(live(), FRIDA, b.ProposeBreakouts(rule=GroupingRule.SELF_SELECT,
                                                      group_size=2))
    assert state.breakouts is not None
    assert [len(g.members) for g in state.breakouts.groups] == [0, 0]
    state, _ = run(state, ANNE, b.ChooseGroup(group="g1"))
    state, _ = run(state, BJORN, b.ChooseGroup(group="g1"))
    assert rejected(state, CARL, b.ChooseGroup(group="g1")) == "rejected"
    state, _ = run(state, ANNE, b.ChooseGroup(group="g2"))  # changing one's mind
    assert members_of(state) == {"Gruppe 1": {4}, "Gruppe 2": {3}}


def test_choosing_is_only_for_self_select() -> None:
    assert rejected(in_breakouts(), ANNE, b.ChooseGroup(group="g1")) == "rejected"


def test_a_late_joiner_is_placed_in_a_group_of_their_stage() -> None:
    state, events = run(in_breakouts(), LATE, c.JoinRoom())
    assert [ev.type for ev in events] == ["attendee.arrived", "breakouts.member_moved"]
    assert members_of(state)["Gjennomføring"] == {5, 6, 7}


@pytest.mark.parametrize("actor", [FRIDA, EVA, OLA])
def test_only_participants_are_placed_on_arrival(actor: Actor) -> None:
    _, events = run(in_breakouts(), actor, c.JoinRoom())
    assert [ev.type for ev in events] == ["attendee.arrived"]


def test_late_joiners_never_push_a_group_past_one_over_its_size() -> None:
    state, _ = run(live(), FRIDA, b.ProposeBreakouts(group_size=2))
    state, _ = run(state, FRIDA, b.MoveMember(person_id=3, to_group="g2"))
    state, _ = run(state, FRIDA, b.MoveMember(person_id=4, to_group="g2"))
    state, _ = run(state, FRIDA, b.OpenBreakouts(minutes=10))
    state, _ = run(state, FRIDA, b.MoveMember(person_id=5, to_group="g1"))
    crowded = run(state, participant(10, "Fjell kommune", "oppstart"), c.JoinRoom())[0]
    crowded = run(crowded, participant(11, "Foss kommune", "oppstart"), c.JoinRoom())[0]
    assert crowded.breakouts is not None
    sizes = [len(g.members) for g in crowded.breakouts.groups]
    assert sum(sizes) == 6 and max(sizes) <= 3


# --- the clock ----------------------------------------------------------------------------


SYSTEM = Actor(0, "Klimasats-forum", Role.SYSTEM)


def tick(state: GatheringState, now: float) -> tuple[GatheringState, list[str]]:
    state, events = run(state, SYSTEM, c.Tick(), now)
    return state, [ev.type for ev in events]


def test_the_item_gets_one_warning_a_minute_before_its_deadline() -> None:
    state = live()  # item 11, 10 minutes from T0
    assert tick(state, T0 + 538)[1] == []
    state, types = tick(state, T0 + 540)
    assert types == ["agenda.item_warned"]
    assert tick(state, T0 + 700)[1] == []  # once, also in overrun


def test_extending_allows_a_new_warning() -> None:
    state, _ = tick(live(), T0 + 545)
    state, _ = run(state, FRIDA, c.ExtendItem(minutes=5))
    assert tick(state, T0 + 600)[1] == []
    assert tick(state, T0 + 840)[1] == ["agenda.item_warned"]


def test_pausing_stops_the_countdown_and_resuming_moves_the_deadline() -> None:
    state, _ = run(live(), FRIDA, c.PauseItem(), T0 + 100)
    assert rejected(state, FRIDA, c.PauseItem()) == "rejected"
    assert tick(state, T0 + 590)[1] == []  # paused: no warning
    state, _ = run(state, FRIDA, c.ResumeItem(), T0 + 400)
    assert state.current is not None and state.current.deadline == T0 + 600 + 300
    assert rejected(state, FRIDA, c.ResumeItem()) == "rejected"
    assert tick(state, T0 + 839)[1] == []
    assert tick(state, T0 + 840)[1] == ["agenda.item_warned"]


def test_breakouts_are_warned_then_called_back_at_their_deadline() -> None:
    state = in_breakouts()  # item and groups: 20 minutes from T0
    state, types = tick(state, T0 + 1140)
    assert types == ["agenda.item_warned", "breakouts.warned"]
    assert tick(state, T0 + 1150)[1] == []
    state, types = tick(state, T0 + 1200)
    assert types == ["breakouts.recalled"]
    assert tick(state, T0 + 1300)[1] == []


def test_extending_the_breakout_item_gives_the_groups_the_time_too() -> None:
    state, types = tick(in_breakouts(), T0 + 1150)
    assert "breakouts.warned" in types
    state, events = run(state, FRIDA, c.ExtendItem(minutes=5), T0 + 1160)
    assert [ev.type for ev in events] == ["agenda.item_extended", "breakouts.retimed"]
    assert state.breakouts is not None and state.breakouts.deadline == T0 + 1500
    assert tick(state, T0 + 1300)[1] == []  # the old deadline passes: groups stay open
    assert tick(state, T0 + 1440)[1] == ["agenda.item_warned", "breakouts.warned"]
    assert tick(state, T0 + 1500)[1][-1] == "breakouts.recalled"


def test_pausing_the_breakout_item_pauses_the_groups() -> None:
    state, events = run(in_breakouts(), FRIDA, c.PauseItem(), T0 + 600)
    assert state.breakouts is not None and state.breakouts.paused_at == T0 + 600
    assert tick(state, T0 + 1300)[1] == []  # past the deadline, but paused
    state, _ = run(state, FRIDA, c.ResumeItem(), T0 + 900)
    assert state.breakouts is not None
    assert (state.breakouts.paused_at, state.breakouts.deadline) == (None, T0 + 1500)
    assert tick(state, T0 + 1499)[1] == ["agenda.item_warned", "breakouts.warned"]


def test_extending_another_item_leaves_manual_groups_alone() -> None:
    state, _ = run(live(), FRIDA, b.ProposeBreakouts())
    state, _ = run(state, FRIDA, b.OpenBreakouts(minutes=5))
    _, events = run(state, FRIDA, c.ExtendItem(minutes=5))
    assert [ev.type for ev in events] == ["agenda.item_extended"]


def test_coming_back_to_the_breakout_item_reopens_the_same_groups() -> None:
    state, _ = run(in_breakouts(), FRIDA, c.PreviousItem(from_item=12), T0 + 300)
    assert state.breakouts is not None and state.breakouts.status is BreakoutStatus.RECALLED
    state, events = run(state, FRIDA, c.NextItem(from_item=11), T0 + 400)
    assert [ev.type for ev in events] == ["agenda.item_started", "breakouts.opened"]
    assert state.breakouts is not None
    assert (state.breakouts.round, state.breakouts.status) == (1, BreakoutStatus.OPEN)
    assert members_of(state) == {"Oppstart": {3, 4}, "Gjennomføring": {5, 6}}


def test_people_who_came_while_groups_were_proposed_get_one_when_they_open() -> None:
    state, _ = run(live(), FRIDA, b.ProposeBreakouts())
    with_late = Context(present=(*PRESENT.present, LATE.member), stage_names=PRESENT.stage_names)
    state, events = run(state, FRIDA, b.OpenBreakouts(minutes=10), T0, with_late)
    assert [ev.type for ev in events] == ["breakouts.opened", "breakouts.member_moved"]
    assert members_of(state)["Gjennomføring"] == {5, 6, 7}


def test_the_clock_is_the_servers_alone() -> None:
    from facilitation.roles import may_send

    assert [r for r in Role if may_send(r, "timer.tick")] == [Role.SYSTEM]


# --- who met whom ---------------------------------------------------------------------------


def test_meetings_are_the_municipality_pairs_of_recalled_groups() -> None:
    start = GatheringState("g1", AGENDA)
    state, events1 = run(start, FRIDA, c.OpenRoom())
    state, events2 = run(state, FRIDA, c.NextItem(from_item=None))
    state, events3 = run(state, FRIDA, c.NextItem(from_item=11))
    state, events4 = run(state, FRIDA, b.RecallBreakouts())
    log = events1 + events2 + events3 + events4
    assert b.meetings(start, log) == {
        frozenset({"Askvik kommune", "Brekke kommune"}),
        frozenset({"Cirkel kommune", "Dal kommune"}),
    }
    assert b.meetings(start, events1 + events2 + events3) == frozenset()  # not recalled yet


def test_groups_open_when_the_gathering_ends_count_as_met() -> None:
    """The facilitator ends the gathering during the breakout item, without a recall: the
    groups met all the same. Groups proposed but never opened did not."""
    start = GatheringState("g1", AGENDA)
    state, events1 = run(start, FRIDA, c.OpenRoom())
    state, events2 = run(state, FRIDA, c.NextItem(from_item=None))
    state, events3 = run(state, FRIDA, c.NextItem(from_item=11))
    assert state.breakouts is not None and state.breakouts.status is BreakoutStatus.OPEN
    state, events4 = run(state, FRIDA, c.EndGathering(), T0 + 60)
    assert b.meetings(start, events1 + events2 + events3 + events4) == {
        frozenset({"Askvik kommune", "Brekke kommune"}),
        frozenset({"Cirkel kommune", "Dal kommune"}),
    }
    state, proposed = run(live(), FRIDA, b.ProposeBreakouts())
    state, ended = run(state, FRIDA, c.EndGathering(), T0 + 60)
    assert b.meetings(start, [*events1, *proposed, *ended]) == frozenset()


# --- notes rights ---------------------------------------------------------------------------


@pytest.mark.parametrize(("actor", "note", "open_", "expected"), [
    (ANNE, "r1-g1", True, True),     # her group
    (ANNE, "r1-g2", True, False),    # another group
    (FRIDA, "r1-g2", True, True),    # facilitators write anywhere
    (ANNE, PLENARY, True, True),
    (OLA, PLENARY, True, False),     # observers read only
    (ANNE, "r1-g1", False, False),   # recalled: group notes are the harvest, read-only
    (ANNE, "r2-g1", True, False),    # no such round yet
    (ANNE, "x", True, False),
    (FRIDA, FACILITATORS, True, True),   # the facilitators' private notes
    (ANNE, FACILITATORS, True, False),
    (EVA, FACILITATORS, True, False),
])
def test_who_may_write_which_note(actor: Actor, note: str, open_: bool, expected: bool) -> None:
    state = in_breakouts()
    if not open_:
        state, _ = run(state, FRIDA, b.RecallBreakouts())
    assert may_write_note(state, actor, note) is expected


@pytest.mark.parametrize(("actor", "note", "expected"), [
    (ANNE, PLENARY, True), (OLA, "r1-g2", True), (OLA, "r9-g1", False),
    (FRIDA, FACILITATORS, True), (ANNE, FACILITATORS, False), (OLA, FACILITATORS, False),
])
def test_who_may_read_which_note(actor: Actor, note: str, expected: bool) -> None:
    assert may_read_note(in_breakouts(), actor, note) is expected
    assert is_shared(note) is (note != FACILITATORS)


def test_notes_are_read_only_after_the_end_unless_reopened() -> None:
    state, _ = run(live(), FRIDA, c.EndGathering())
    assert state.phase is Phase.ENDED
    assert not may_write_note(state, FRIDA, PLENARY)
    state, events = run(state, FRIDA, ReopenNotes(), T0 + 99)
    assert events == [NotesReopened(at=T0 + 99)]
    assert may_write_note(state, ANNE, PLENARY)
    assert rejected(state, FRIDA, ReopenNotes()) == "rejected"
    state, _ = run(state, FRIDA, CloseNotes())
    assert not may_write_note(state, ANNE, PLENARY)
    assert rejected(state, FRIDA, CloseNotes()) == "rejected"


def test_notes_cannot_be_reopened_before_the_end() -> None:
    assert rejected(live(), FRIDA, ReopenNotes()) == "rejected"


def test_group_notes_start_from_the_items_template() -> None:
    state = in_breakouts()
    assert note_template(state, "r1-g1") == "Utfordring:"
    assert note_template(state, PLENARY) == ""


def test_member_of_actor() -> None:
    assert ANNE.member == Member(3, "Person 3", "Askvik kommune", "oppstart", ())
