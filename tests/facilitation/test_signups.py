"""Who is coming, pure and table-driven: facilitation.signups (answering until the start,
the reminder's window, the runners' lists, the advance proposal adjusted for who came)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from facilitation import Actor, AgendaSlot, GatheringState, Role
from facilitation import commands as c
from facilitation.grouping import propose_groups
from facilitation.signups import (
    COLLEAGUE,
    COMING,
    NOT_COMING,
    Answer,
    adjust_proposal,
    advance_members,
    counts,
    expected_municipalities,
    may_answer,
    planned_for,
    reminder_due,
)
from facilitation.state import (
    AdvanceGroups,
    BreakoutPlan,
    Context,
    Group,
    GroupingRule,
    Member,
)
from tests.facilitation.deciding import T0, run

START = datetime(2027, 3, 4, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
SAME = BreakoutPlan(rule=GroupingRule.SAME_STAGE, group_size=3)


@pytest.mark.parametrize(("now", "cancelled", "open_"), [
    (START - 48 * H, False, True),
    (START - timedelta(seconds=1), False, True),
    (START, False, False),  # it has started
    (START + H, False, False),
    (START - 48 * H, True, False),  # cancelled
])
def test_an_answer_can_change_until_the_gathering_starts(
        now: datetime, cancelled: bool, open_: bool) -> None:
    assert may_answer(START, cancelled, now) is open_


@pytest.mark.parametrize(("before", "cancelled", "due"), [
    (48 * H, False, False),  # two days before: too early
    (26 * H + timedelta(seconds=1), False, False),
    (26 * H, False, True),  # the window opens 26 hours before...
    (24 * H, False, True),
    (2 * H + timedelta(seconds=1), False, True),
    (2 * H, False, False),  # ...and closes 2 hours before
    (-H, False, False),  # it has started
    (24 * H, True, False),  # cancelled
])
def test_the_reminder_goes_out_the_day_before(before: timedelta, cancelled: bool,
                                              due: bool) -> None:
    assert reminder_due(START, cancelled, START - before) is due


def answer(pid: int, kind: str, place: int | None, participant: bool = True) -> Answer:
    names = {1: "Askvik", 2: "Brekke", 3: "Dale"}
    return Answer(pid, f"Person {pid}", kind, f"wish {pid}", place,
                  names.get(place) if place else None, participant)


def test_the_runners_see_the_expected_municipalities_with_their_stages_and_counts() -> None:
    answers = [answer(1, COMING, 1), answer(2, COMING, 1), answer(3, COLLEAGUE, 2),
               answer(4, NOT_COMING, 3), answer(5, COMING, None)]
    stages = {1: ["oppstart", "gjennomforing", "oppstart"], 2: ["videreforing"]}
    rows = expected_municipalities(answers, stages)
    assert [(e.name, e.stages, e.coming, e.colleague) for e in rows] == [
        ("Askvik", ("oppstart", "gjennomforing"), ("Person 1", "Person 2"), False),
        ("Brekke", ("videreforing",), (), True),
        (None, (), ("Person 5",), False),  # no municipality: last
    ]
    assert counts(answers) == {COMING: 3, NOT_COMING: 1, COLLEAGUE: 1, "municipalities": 2}


def test_the_proposal_groups_the_participants_who_come_and_a_seat_for_a_colleague() -> None:
    answers = [answer(1, COMING, 1), answer(2, COLLEAGUE, 2), answer(3, COLLEAGUE, 1),
               answer(4, NOT_COMING, 3), answer(5, COMING, 3, participant=False),
               answer(6, COLLEAGUE, 2)]
    projects = {1: ("oppstart", ("skole",)), 2: ("videreforing", ())}
    assert advance_members(answers, projects) == (
        Member(1, "Person 1", "Askvik", "oppstart", ("skole",)),
        # Askvik has someone coming: its colleague answer adds no seat; Brekke gets one
        Member(-2, "Brekke", "Brekke", "videreforing", ()),
    )


def m(pid: int, place: str, stage: str = "oppstart") -> Member:
    return Member(pid, f"P{pid}", place, stage)


PROPOSAL = (
    Group("g1", "Oppstart 1", (m(1, "A"), m(2, "B"), m(3, "C"))),
    Group("g2", "Oppstart 2", (m(4, "D"), m(5, "E"), m(-6, "F"))),  # F: a colleague's seat
    Group("g3", "Gjennomføring", (m(7, "G", "gjennomforing"), m(8, "H", "gjennomforing"))),
)


def layout(groups: tuple[Group, ...] | None) -> list[tuple[str, str, list[int]]] | None:
    if groups is None:
        return None
    return [(g.id, g.name, sorted(x.person_id for x in g.members)) for g in groups]


def test_everyone_came_and_a_newcomer_takes_their_municipalitys_seat() -> None:
    present = [m(1, "A"), m(2, "B"), m(3, "C"), m(4, "D"), m(5, "E"), m(16, "F"),
               m(7, "G", "gjennomforing"), m(8, "H", "gjennomforing")]
    assert layout(adjust_proposal(PROPOSAL, present, SAME)) == [
        ("g1", "Oppstart 1", [1, 2, 3]), ("g2", "Oppstart 2", [4, 5, 16]),
        ("g3", "Gjennomføring", [7, 8])]


def test_a_group_left_with_one_person_is_dissolved_and_they_are_placed_by_the_rule() -> None:
    present = [m(1, "A"), m(2, "B"), m(4, "D"), m(7, "G", "gjennomforing"),
               m(8, "H", "gjennomforing")]
    # g2 keeps only person 4 (5 absent, F's seat untaken): 4 joins the other starters' group
    assert layout(adjust_proposal(PROPOSAL, present, SAME)) == [
        ("g1", "Oppstart 1", [1, 2, 4]), ("g2", "Gjennomføring", [7, 8])]


def test_newcomers_are_placed_by_the_rule_and_fresh_data_is_used() -> None:
    present = [m(1, "A"), m(2, "B"), m(3, "C"), m(4, "D"), m(5, "E"),
               m(7, "G", "gjennomforing"), m(8, "H", "gjennomforing"),
               m(9, "I", "gjennomforing"), m(10, "J")]
    adjusted = adjust_proposal(PROPOSAL, present, SAME)
    assert layout(adjusted) == [
        ("g1", "Oppstart 1", [1, 2, 3]), ("g2", "Oppstart 2", [4, 5, 10]),
        ("g3", "Gjennomføring", [7, 8, 9])]
    moved = [m(1, "A", "videreforing"), *present[1:]]
    adjusted = adjust_proposal(PROPOSAL, moved, SAME)
    assert adjusted is not None
    assert adjusted[0].members[0] == Member(1, "P1", "A", "videreforing")  # their stage now


@pytest.mark.parametrize("present", [
    [],  # nobody here
    [m(20, "X"), m(21, "Y")],  # nobody who signed up came
    [m(1, "A"), m(20, "X"), m(21, "Y"), m(22, "Z")],  # 1 of 4 signed up: fewer than half
])
def test_a_proposal_that_no_longer_describes_the_room_is_dropped(present: list[Member]) -> None:
    assert adjust_proposal(PROPOSAL, present, SAME) is None


def test_a_proposal_is_used_only_for_its_item_and_the_plan_it_was_made_by() -> None:
    made = AdvanceGroups(7, SAME, PROPOSAL)
    assert planned_for([made], 7, SAME) is made
    assert planned_for([made], 8, SAME) is None
    assert planned_for([made], None, SAME) is None
    assert planned_for([made], 7, BreakoutPlan(rule=GroupingRule.SAME_STAGE,
                                                group_size=4)) is None
    assert planned_for([made], 7, BreakoutPlan(rule=GroupingRule.MIXED, group_size=3)) is None
    selfish = BreakoutPlan(rule=GroupingRule.SELF_SELECT, group_size=3)
    assert planned_for([AdvanceGroups(7, selfish, ())], 7, selfish) is None


def test_when_everyone_comes_the_day_gives_the_same_groups_as_the_advance_proposal() -> None:
    members = [m(i, f"K{i}", "oppstart" if i % 2 else "gjennomforing") for i in range(1, 11)]
    advance = propose_groups(members, SAME)
    assert adjust_proposal(advance, list(reversed(members)), SAME) == advance


STAGE_NAMES = (("oppstart", "Oppstart"), ("gjennomforing", "Gjennomføring"))
SLOTS = (AgendaSlot(11, "Velkommen", "welcome", 10),
         AgendaSlot(12, "Grupperom", "breakout", 20, breakout=SAME))
FRIDA = Actor(1, "Frida Fasilitator", Role.FACILITATOR)


def groups_on_opening(context: Context) -> list[tuple[str, str, list[int]]] | None:
    state, _ = run(GatheringState("g1", SLOTS), FRIDA, c.OpenRoom(), T0, context)
    state, _ = run(state, FRIDA, c.NextItem(from_item=None), T0, context)
    state, events = run(state, FRIDA, c.NextItem(from_item=11), T0 + 60, context)
    assert [ev.type for ev in events] == [
        "agenda.item_started", "breakouts.proposed", "breakouts.opened"]
    assert state.breakouts is not None
    return layout(state.breakouts.groups)


def test_starting_the_breakout_item_opens_the_advance_groups_adjusted_for_who_came() -> None:
    present = (m(1, "A"), m(2, "B"), m(4, "D"), m(16, "F"),
               m(7, "G", "gjennomforing"), m(8, "H", "gjennomforing"))
    advance = (AdvanceGroups(12, SAME, PROPOSAL),)
    assert groups_on_opening(Context(present=present, advance=advance,
                                     stage_names=STAGE_NAMES)) == [
        ("g1", "Oppstart 1", [1, 2]), ("g2", "Oppstart 2", [4, 16]),
        ("g3", "Gjennomføring", [7, 8])]
    # without it (or made for another item), the groups are proposed afresh by the rule
    fresh = groups_on_opening(Context(present=present, stage_names=STAGE_NAMES,
                                      advance=(AdvanceGroups(99, SAME, PROPOSAL),)))
    assert fresh == layout(propose_groups(present, SAME, stage_names=dict(STAGE_NAMES),
                                          seed="g1:1"))
