"""Agenda planning, pure and table-driven: which change is allowed where, ids, moves, the
frozen prefix of started items, templates, copies, and the planned clock."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from facilitation import Actor, AgendaSlot, GatheringState, Phase, Role
from facilitation import commands as c
from facilitation import events as e
from facilitation import planning as p
from facilitation.polls import PollLaunched
from facilitation.roles import may_send
from facilitation.state import BreakoutPlan, Context, GroupingRule, PollKind, PollPlan
from tests.facilitation import deciding
from tests.facilitation.deciding import T0

AGENDA = (
    AgendaSlot(11, "Velkommen", "welcome", 10),
    AgendaSlot(12, "Innlegg", "expert_talk", 20, expert_id=5),
    AgendaSlot(13, "Grupperom", "breakout", 25, breakout=BreakoutPlan(task="Del erfaringer")),
    AgendaSlot(14, "Oppsummering", "wrap_up", 5),
)
FRIDA = Actor(1, "Frida Fasilitator", Role.FACILITATOR)
EVA_ID = 5  # an expert of the theme
THEME_PEOPLE = frozenset({1, 2, 3, 4, EVA_ID})
CONTEXT = Context(theme_people=THEME_PEOPLE)


def lobby() -> GatheringState:
    return GatheringState(gathering_id="g1", agenda=AGENDA)


def run(state: GatheringState, command: c.Command, context: Context = CONTEXT,
        actor: Actor = FRIDA) -> tuple[GatheringState, list[e.Event]]:
    return deciding.run(state, actor, command, T0, context)


def rejected(state: GatheringState, command: c.Command, context: Context = CONTEXT) -> str:
    error = deciding.rejected(state, FRIDA, command, T0, context)
    assert error.code == "rejected"
    return error.reason


def live() -> GatheringState:
    return run(lobby(), c.OpenRoom())[0]


def running(index: int) -> GatheringState:
    """Live, with the items up to `index` started in turn and `index` running."""
    state = live()
    for i in range(index + 1):
        state = run(state, c.NextItem(from_item=AGENDA[i - 1].id if i else None))[0]
    return state


def ids(state: GatheringState) -> list[int]:
    return [slot.id for slot in state.agenda]


# --- who, when -------------------------------------------------------------------------------

PLANNING = ["agenda.add_item", "agenda.update_item", "agenda.move_item", "agenda.remove_item",
            "agenda.copy_from", "agenda.use_template"]


@pytest.mark.parametrize("type_", PLANNING)
@pytest.mark.parametrize("role", list(Role))
def test_only_runners_plan(type_: str, role: Role) -> None:
    assert may_send(role, type_) is (role in {Role.FACILITATOR, Role.PROGRAMME_LEAD})


def _command(type_: str) -> c.Command:
    return {
        "agenda.add_item": p.AddItem("break", "Pause", 10),
        "agenda.update_item": p.UpdateItem(14, title="Avslutning"),
        "agenda.move_item": p.MoveItem(14, 2),
        "agenda.remove_item": p.RemoveItem(13),
        "agenda.copy_from": p.CopyFrom("g0"),
        "agenda.use_template": p.UseTemplate("standard"),
    }[type_]


SOURCE = Context(theme_people=THEME_PEOPLE,
                 source_agenda=(AgendaSlot(3, "Hei", "welcome", 15),
                                AgendaSlot(4, "Prat", "plenary", 45)))
LOBBY, LIVE_UNSTARTED, LIVE_ITEM_2 = "lobby", "live, nothing started", "live, item 2"
ENDED = "ended"
OK, NO = True, False

# (command, situation) -> allowed. Live, item 2 of 4 running: items 3 and 4 may still change,
# but a whole new agenda (template, copy) is only for an agenda that has not started.
WHERE: dict[tuple[str, str], bool] = {
    **{(t, LOBBY): OK for t in PLANNING},
    **{(t, LIVE_UNSTARTED): OK for t in PLANNING},
    **{(t, ENDED): NO for t in PLANNING},
    ("agenda.add_item", LIVE_ITEM_2): OK,
    ("agenda.update_item", LIVE_ITEM_2): OK,
    ("agenda.move_item", LIVE_ITEM_2): OK,
    ("agenda.remove_item", LIVE_ITEM_2): OK,
    ("agenda.copy_from", LIVE_ITEM_2): NO,
    ("agenda.use_template", LIVE_ITEM_2): NO,
}


def _situation(name: str) -> GatheringState:
    if name == LOBBY:
        return lobby()
    if name == LIVE_UNSTARTED:
        return live()
    if name == LIVE_ITEM_2:
        return running(1)
    return run(live(), c.EndGathering())[0]


@pytest.mark.parametrize(("type_", "situation"), sorted(WHERE))
def test_each_planning_command_in_each_situation(type_: str, situation: str) -> None:
    state = _situation(situation)
    command = _command(type_)
    assert command.type == type_
    if WHERE[(type_, situation)]:
        new_state, events = run(state, command, SOURCE)
        assert len(events) == 1 and events[0].type.startswith("agenda.")
        assert new_state.current == state.current  # the running item stays where it is
    else:
        reason = rejected(state, command, SOURCE)
        assert "ended" in reason or "started" in reason


# --- the frozen prefix: never the running or a past item ---------------------------------------

# Item 2 (id 12) runs; item 1 (id 11) ran. (command, allowed)
RUNNING_TABLE: list[tuple[c.Command, bool]] = [
    (p.UpdateItem(11, title="Ny tittel"), NO),  # past
    (p.UpdateItem(12, planned_minutes=30), NO),  # running (extend it with agenda.extend)
    (p.UpdateItem(13, planned_minutes=30), OK),
    (p.UpdateItem(14, title="Avslutning"), OK),
    (p.RemoveItem(11), NO),
    (p.RemoveItem(12), NO),
    (p.RemoveItem(13), OK),
    (p.MoveItem(11, 3), NO),
    (p.MoveItem(12, 3), NO),
    (p.MoveItem(14, 0), NO),  # before the past item
    (p.MoveItem(14, 1), NO),  # before the running item
    (p.MoveItem(14, 2), OK),
    (p.MoveItem(13, 3), OK),
    (p.AddItem("break", "Pause", 5, position=0), NO),
    (p.AddItem("break", "Pause", 5, position=1), NO),
    (p.AddItem("break", "Pause", 5, position=2), OK),  # right after the running item
    (p.AddItem("break", "Pause", 5, position=4), OK),  # at the end
    (p.AddItem("break", "Pause", 5, position=5), NO),  # past the end
    (p.AddItem("break", "Pause", 5), OK),
]


@pytest.mark.parametrize(("command", "allowed"), RUNNING_TABLE,
                         ids=[f"{cmd.type}-{n}" for n, (cmd, _) in enumerate(RUNNING_TABLE)])
def test_running_and_past_items_never_change(command: c.Command, allowed: bool) -> None:
    state = running(1)
    if allowed:
        new_state, events = run(state, command)
        assert events
        assert new_state.agenda[:2] == AGENDA[:2]
        assert new_state.current_slot() == AGENDA[1]
    else:
        rejected(state, command)


def test_an_item_once_started_stays_frozen_after_going_back() -> None:
    """Item 3 started, then the facilitator went back to item 2: item 3 has a past."""
    state = running(2)
    state = run(state, c.PreviousItem(from_item=13))[0]
    assert state.current_slot() == AGENDA[1]
    assert p.frozen_prefix(state) == 3
    assert "started" in rejected(state, p.UpdateItem(13, title="Nytt navn"))
    assert "started" in rejected(state, p.RemoveItem(13))
    run(state, p.UpdateItem(14, title="Avslutning"))


def test_the_frozen_prefix() -> None:
    assert p.frozen_prefix(lobby()) == 0
    assert p.frozen_prefix(live()) == 0
    assert [p.frozen_prefix(running(i)) for i in range(4)] == [1, 2, 3, 4]


def test_next_runs_the_planned_order_after_changes() -> None:
    state = running(0)
    state = run(state, p.MoveItem(14, 1))[0]
    state = run(state, p.AddItem("break", "Pause", 5, position=2))[0]
    assert ids(state) == [11, 14, 15, 12, 13]
    for expected in (14, 15, 12, 13):
        state = run(state, c.NextItem(from_item=state.current_slot().id))[0]  # type: ignore[union-attr]
        assert state.current_slot().id == expected  # type: ignore[union-attr]


# --- ids and moves ------------------------------------------------------------------------------


def test_new_items_get_the_next_id_above_the_highest_and_never_reuse_one() -> None:
    state, events = run(lobby(), p.AddItem("break", "Pause", 10))
    assert events == [p.ItemAdded(AgendaSlot(15, "Pause", "break", 10), 4)]
    state = run(state, p.RemoveItem(15))[0]
    state = run(state, p.RemoveItem(14))[0]
    state, events = run(state, p.AddItem("qa", "Spørsmål", 10, position=0))
    assert events == [p.ItemAdded(AgendaSlot(16, "Spørsmål", "qa", 10), 0)]
    assert ids(state) == [16, 11, 12, 13]
    state = run(state, p.UseTemplate("workshop"))[0]
    assert ids(state) == list(range(17, 17 + len(p.TEMPLATES["workshop"])))


def test_the_same_command_on_the_same_state_decides_the_same() -> None:
    command = p.AddItem("break", "Pause", 10, position=1)
    assert deciding.run(lobby(), FRIDA, command, T0, CONTEXT) == deciding.run(
        lobby(), FRIDA, command, T0 + 99, CONTEXT)


@pytest.mark.parametrize(("item_id", "position", "expected"), [
    (11, 3, [12, 13, 14, 11]),
    (14, 0, [14, 11, 12, 13]),
    (12, 2, [11, 13, 12, 14]),
    (13, 1, [11, 13, 12, 14]),
    (12, 1, [11, 12, 13, 14]),  # already there: nothing happens
])
def test_moves(item_id: int, position: int, expected: list[int]) -> None:
    state, events = run(lobby(), p.MoveItem(item_id, position))
    assert ids(state) == expected
    assert events == ([] if expected == ids(lobby()) else [p.ItemMoved(item_id, position)])


@pytest.mark.parametrize("command", [
    p.MoveItem(11, 4), p.MoveItem(11, -1), p.MoveItem(99, 0), p.RemoveItem(99),
    p.UpdateItem(99, title="x"), p.AddItem("break", "Pause", 5, position=-1),
])
def test_unknown_items_and_positions_are_rejected(command: c.Command) -> None:
    rejected(lobby(), command)


# --- an item's own rules ----------------------------------------------------------------------


@pytest.mark.parametrize(("command", "why"), [
    (p.AddItem("party", "Fest", 10), "kind"),
    (p.AddItem("break", "   ", 10), "title"),
    (p.AddItem("break", "x" * 201, 10), "title"),
    (p.AddItem("break", "Pause", 0), "minutes"),
    (p.AddItem("break", "Pause", 241), "minutes"),
    (p.AddItem("break", "Pause", 10, breakout=p.BreakoutChanges(group_size=3)), "breakout"),
    (p.AddItem("breakout", "Grupper", 10, breakout=p.BreakoutChanges(group_size=1)), "group"),
    (p.AddItem("breakout", "Grupper", 10, breakout=p.BreakoutChanges(task="x" * 1001)), "long"),
    (p.AddItem("expert_talk", "Innlegg", 10, expert_id=99), "expert"),
    (p.AddItem("welcome", "Velkommen", 10, expert_id=EVA_ID), "expert"),
    (p.UpdateItem(11, planned_minutes=300), "minutes"),
    (p.UpdateItem(11, breakout=p.BreakoutChanges(task="x")), "breakout"),
    (p.UpdateItem(12, expert_id=99), "expert"),
])
def test_an_items_own_rules(command: c.Command, why: str) -> None:
    assert why in rejected(lobby(), command)


def test_an_agenda_has_a_limit() -> None:
    state = replace(lobby(), agenda=tuple(AgendaSlot(i, "x", "break", 1)
                                          for i in range(1, p.MAX_ITEMS + 1)))
    assert "at most" in rejected(state, p.AddItem("break", "Pause", 5))


def test_a_breakout_item_carries_its_settings() -> None:
    command = p.AddItem("breakout", "  Grupper  ", 30, breakout=p.BreakoutChanges(
        rule=GroupingRule.MIXED, group_size=5, task="Finn neste steg", note_template="Mal",
        spread_municipalities=False))
    state, _ = run(lobby(), command)
    assert state.agenda[-1] == AgendaSlot(15, "Grupper", "breakout", 30, breakout=BreakoutPlan(
        GroupingRule.MIXED, 5, "Finn neste steg", "Mal", False))
    # without settings: the defaults
    state, _ = run(lobby(), p.AddItem("breakout", "Grupper", 30))
    assert state.agenda[-1].breakout == BreakoutPlan()


def test_update_changes_what_is_given_and_keeps_the_rest() -> None:
    state, events = run(lobby(), p.UpdateItem(13, breakout=p.BreakoutChanges(group_size=6)))
    assert events == [p.ItemUpdated(replace(AGENDA[2], breakout=BreakoutPlan(
        group_size=6, task="Del erfaringer")))]
    state, events = run(state, p.UpdateItem(12, expert_id=None))
    assert state.agenda[1].expert_id is None
    assert run(state, p.UpdateItem(12, title="Innlegg"))[1] == []  # no change, no event


def test_changing_the_kind_drops_what_the_new_kind_cannot_have() -> None:
    state, _ = run(lobby(), p.UpdateItem(13, kind="plenary"))
    assert state.agenda[2] == AgendaSlot(13, "Grupperom", "plenary", 25)
    state, _ = run(state, p.UpdateItem(12, kind="break"))
    assert state.agenda[1] == AgendaSlot(12, "Innlegg", "break", 20)
    state, _ = run(state, p.UpdateItem(12, kind="breakout"))
    assert state.agenda[1].breakout == BreakoutPlan()
    state, _ = run(state, p.UpdateItem(11, kind="qa", expert_id=EVA_ID))
    assert state.agenda[0] == AgendaSlot(11, "Velkommen", "qa", 10, expert_id=EVA_ID)


# --- a welcome item's check-in poll -------------------------------------------------------------

CHECKIN = PollPlan("Hvordan går det?", PollKind.SINGLE, ("Bra", "Sånn passe", "Dårlig"))


def test_a_welcome_item_is_added_with_its_check_in_poll() -> None:
    command = p.AddItem("welcome", "Innsjekk", 5, position=0, checkin_poll=PollPlan(
        "  Hvordan går det?  ", PollKind.SINGLE, (" Bra", "Sånn passe ", "Dårlig")))
    state, events = run(lobby(), command)  # run() also folds the events after a JSON trip
    assert events == [p.ItemAdded(AgendaSlot(15, "Innsjekk", "welcome", 5,
                                             checkin_poll=CHECKIN), 0)]
    assert state.agenda[0].checkin_poll == CHECKIN  # trimmed as poll.launch trims
    word = PollPlan("Ett ord om dagen?", PollKind.WORD)
    state, _ = run(lobby(), p.AddItem("welcome", "Innsjekk", 5, checkin_poll=word))
    assert state.agenda[-1].checkin_poll == word


def test_update_sets_replaces_keeps_and_removes_the_check_in_poll() -> None:
    state, events = run(lobby(), p.UpdateItem(11, checkin_poll=CHECKIN))
    assert events == [p.ItemUpdated(replace(AGENDA[0], checkin_poll=CHECKIN))]
    state, events = run(state, p.UpdateItem(11, title="Velkommen alle"))
    assert state.agenda[0].checkin_poll == CHECKIN  # not given: kept
    multiple = PollPlan("Hva vil du ha med deg?", PollKind.MULTIPLE, ("Ideer", "Kontakter"))
    state, _ = run(state, p.UpdateItem(11, checkin_poll=multiple))
    assert state.agenda[0].checkin_poll == multiple
    assert run(state, p.UpdateItem(11, checkin_poll=multiple))[1] == []  # no change, no event
    state, events = run(state, p.UpdateItem(11, checkin_poll=None))
    assert events == [p.ItemUpdated(replace(AGENDA[0], title="Velkommen alle"))]
    assert state.agenda[0].checkin_poll is None


def test_changing_a_welcome_item_to_another_kind_drops_its_check_in_poll() -> None:
    state, _ = run(lobby(), p.UpdateItem(11, checkin_poll=CHECKIN))
    state, events = run(state, p.UpdateItem(11, kind="plenary"))
    assert events == [p.ItemUpdated(AgendaSlot(11, "Velkommen", "plenary", 10))]


@pytest.mark.parametrize("command", [
    p.AddItem("plenary", "Runde", 10, checkin_poll=CHECKIN),
    p.AddItem("break", "Pause", 10, checkin_poll=CHECKIN),
    p.UpdateItem(14, checkin_poll=CHECKIN),  # a wrap-up item
    p.UpdateItem(11, kind="qa", checkin_poll=CHECKIN),  # no longer a welcome item
])
def test_only_a_welcome_item_has_a_check_in_poll(command: c.Command) -> None:
    assert rejected(lobby(), command) == "only a welcome item has a check-in poll"


@pytest.mark.parametrize(("plan", "why"), [
    (PollPlan("   ", PollKind.WORD), "question"),
    (PollPlan("x" * 301, PollKind.WORD), "question"),
    (PollPlan("Hvordan?", PollKind.SINGLE, ("Bra",)), "options"),
    (PollPlan("Hvordan?", PollKind.MULTIPLE, tuple(f"Valg {n}" for n in range(9))), "options"),
    (PollPlan("Hvordan?", PollKind.SINGLE, ("Bra", "x" * 101)), "characters"),
    (PollPlan("Hvordan?", PollKind.SINGLE, ("Bra", "  ")), "characters"),
    (PollPlan("Hvordan?", PollKind.SINGLE, ("Bra", " Bra")), "same"),
    (PollPlan("Ett ord?", PollKind.WORD, ("Bra",)), "no options"),
])
def test_a_check_in_poll_follows_the_rules_of_poll_launch(plan: PollPlan, why: str) -> None:
    assert why in rejected(lobby(), p.AddItem("welcome", "Innsjekk", 5, checkin_poll=plan))
    assert why in rejected(lobby(), p.UpdateItem(11, checkin_poll=plan))


def test_a_stored_check_in_poll_that_cannot_run_does_not_block_other_changes() -> None:
    broken = PollPlan("Hvordan?", PollKind.SINGLE, ("Bare ett",))  # as settings.poll may be
    state = replace(lobby(), agenda=(replace(AGENDA[0], checkin_poll=broken), *AGENDA[1:]))
    state, _ = run(state, p.UpdateItem(11, title="Velkommen alle"))
    assert state.agenda[0].checkin_poll == broken
    assert "options" in rejected(state, p.UpdateItem(11, checkin_poll=broken))


def test_the_check_in_poll_round_trips_through_the_events_json() -> None:
    state, events = run(lobby(), p.AddItem("welcome", "Innsjekk", 5, checkin_poll=CHECKIN))
    data = json.loads(json.dumps(events[0].data()))
    assert data["item"]["checkin_poll"] == {"question": "Hvordan går det?", "kind": "single",
                                            "options": ["Bra", "Sånn passe", "Dårlig"]}
    assert e.event_from("agenda.item_added", data) == events[0]
    state, events = run(state, p.UpdateItem(15, checkin_poll=None))
    assert json.loads(json.dumps(events[0].data()))["item"]["checkin_poll"] is None
    # a template keeps no check-in poll; a copy keeps the source's
    source = Context(theme_people=THEME_PEOPLE, source_agenda=(
        AgendaSlot(3, "Hei", "welcome", 15, checkin_poll=CHECKIN),))
    state, events = run(lobby(), p.CopyFrom("g0"), source)
    assert state.agenda[0].checkin_poll == CHECKIN
    assert e.event_from("agenda.replaced", json.loads(json.dumps(events[0].data()))) == events[0]


def test_the_welcome_item_launches_the_check_in_poll_set_in_the_plan() -> None:
    state, _ = run(live(), p.UpdateItem(11, checkin_poll=CHECKIN))
    state, events = run(state, c.NextItem(from_item=None))
    (launched,) = [ev for ev in events if isinstance(ev, PollLaunched)]
    assert (launched.question, launched.kind, launched.options, launched.item_id) == (
        CHECKIN.question, CHECKIN.kind, CHECKIN.options, 11)


# --- templates and copies ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.TEMPLATES))
def test_templates_are_valid_agendas_that_fit_two_hours(name: str) -> None:
    state, events = run(replace(lobby(), agenda=()), p.UseTemplate(name))
    assert events == [p.AgendaReplaced(state.agenda, template=name)]
    assert [(s.kind, s.title, s.planned_minutes) for s in state.agenda] == [
        (k, t, m) for k, t, m, _ in p.TEMPLATES[name]]
    assert all((s.breakout is not None) == (s.kind == "breakout") for s in state.agenda)
    assert p.planned_clock(state.agenda, datetime(2027, 3, 4, 9, tzinfo=UTC), 120).fits


def test_an_unknown_template_is_rejected() -> None:
    assert "template" in rejected(lobby(), p.UseTemplate("party"))


def test_a_template_keeps_the_facilitators_items_of_its_kinds() -> None:
    planned = replace(lobby(), agenda=(replace(AGENDA[0], checkin_poll=CHECKIN), *AGENDA[1:]))
    state, events = run(planned, p.UseTemplate("standard"))
    welcome, talk, breakout, wrap_up = planned.agenda
    standard = p.template_agenda("standard")
    assert standard is not None
    assert state.agenda == (
        replace(welcome, id=15),  # its title, minutes and check-in poll
        replace(talk, id=16),  # "Innlegg", 20 minutes, Eva
        replace(standard[2], id=17), replace(standard[3], id=18),  # Q&A and the break: new
        replace(breakout, id=19),  # its task, not the template's
        replace(standard[5], id=20),
        replace(wrap_up, id=21))
    assert events == [p.AgendaReplaced(state.agenda, template="standard")]


def slots(*kinds_and_titles: str) -> tuple[AgendaSlot, ...]:
    """Items from "kind:title" strings, ids 1, 2, ..."""
    return tuple(AgendaSlot(n, title, kind, 10)
                 for n, (kind, title) in enumerate((k.split(":") for k in kinds_and_titles), 1))


def test_a_merge_matches_items_of_a_kind_in_order() -> None:
    agenda = slots("expert_talk:Klimaregnskap", "break:Lunsj", "expert_talk:Matsvinn",
                   "plenary:Runde")
    template = replace_ids(slots("welcome:Velkommen", "expert_talk:Innlegg", "break:Pause",
                                 "break:Pause 2"), 0)
    merge = p.merge_template(agenda, template)
    assert [(placed.template.title, placed.slot.title) for placed in merge.placed] == [
        ("Velkommen", "Velkommen"), ("Innlegg", "Klimaregnskap"), ("Pause", "Lunsj"),
        ("Pause 2", "Pause 2")]
    assert [kept.slot for kept in merge.kept] == [agenda[0], agenda[1]]
    assert [added.title for added in merge.added] == ["Velkommen", "Pause 2"]
    assert merge.removed == (agenda[2], agenda[3])  # the second talk; no plenary in it


def replace_ids(items: tuple[AgendaSlot, ...], new_id: int) -> tuple[AgendaSlot, ...]:
    return tuple(replace(slot, id=new_id) for slot in items)


@pytest.mark.parametrize("name", sorted(p.TEMPLATES))
def test_a_template_over_an_empty_agenda_or_its_own_result(name: str) -> None:
    template = p.template_agenda(name)
    assert template is not None
    fresh = p.merge_template((), template)
    assert fresh.agenda == template and fresh.added == template
    assert fresh.kept == () and fresh.removed == ()
    own = tuple(replace(slot, id=n, title=f"Mitt {n}") for n, slot in enumerate(template, 1))
    again = p.merge_template(own, template)
    assert again.agenda == own and again.added == () and again.removed == ()


def test_a_template_over_a_started_agenda_is_still_rejected() -> None:
    assert "started" in rejected(running(0), p.UseTemplate("standard"))


def test_copy_from_another_gathering_of_the_theme() -> None:
    source = (AgendaSlot(3, "Hei", "welcome", 15),
              AgendaSlot(4, "Innlegg", "expert_talk", 30, expert_id=EVA_ID),
              AgendaSlot(5, "Innlegg", "expert_talk", 30, expert_id=77),  # left the theme
              AgendaSlot(6, "Grupper", "breakout", 30, breakout=BreakoutPlan(task="Oppgave")))
    context = Context(theme_people=THEME_PEOPLE, source_agenda=source)
    state, events = run(lobby(), p.CopyFrom("g0"), context)
    assert state.agenda == (
        AgendaSlot(15, "Hei", "welcome", 15),
        AgendaSlot(16, "Innlegg", "expert_talk", 30, expert_id=EVA_ID),
        AgendaSlot(17, "Innlegg", "expert_talk", 30),
        AgendaSlot(18, "Grupper", "breakout", 30, breakout=BreakoutPlan(task="Oppgave")))
    assert events == [p.AgendaReplaced(state.agenda, from_gathering="g0")]


@pytest.mark.parametrize(("gathering", "context", "why"), [
    ("g0", CONTEXT, "no such gathering"),  # the loader found none in this theme
    ("g1", SOURCE, "own"),
    ("g0", Context(theme_people=THEME_PEOPLE, source_agenda=()), "empty"),
])
def test_copy_refusals(gathering: str, context: Context, why: str) -> None:
    assert why in rejected(lobby(), p.CopyFrom(gathering), context)


def test_phase_is_checked_before_anything_else() -> None:
    ended = run(live(), c.EndGathering())[0]
    assert ended.phase is Phase.ENDED
    assert "ended" in rejected(ended, p.RemoveItem(99))


# --- the planned clock --------------------------------------------------------------------------

START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("minutes", "length", "starts", "fits", "over", "spare"), [
    ([10, 20, 25, 5], 60, ["09:00", "09:10", "09:30", "09:55"], True, 0, 0),
    ([10, 20, 25, 5], 90, ["09:00", "09:10", "09:30", "09:55"], True, 0, 30),
    ([10, 20, 25, 15], 60, ["09:00", "09:10", "09:30", "09:55"], False, 10, 0),
    ([240], 120, ["09:00"], False, 120, 0),
    ([], 60, [], True, 0, 60),
])
def test_the_planned_clock(minutes: list[int], length: int, starts: list[str], fits: bool,
                           over: int, spare: int) -> None:
    agenda = tuple(AgendaSlot(i, f"Punkt {i}", "plenary", m) for i, m in enumerate(minutes, 1))
    clock = p.planned_clock(agenda, START, length)
    assert [i.starts_at.strftime("%H:%M") for i in clock.items] == starts
    assert [i.slot for i in clock.items] == list(agenda)
    assert all(i.ends_at == j.starts_at for i, j in zip(clock.items, clock.items[1:], strict=False))
    assert (clock.fits, clock.over_minutes, clock.spare_minutes) == (fits, over, spare)
    assert clock.planned_minutes == sum(minutes)
    assert clock.ends_at.strftime("%H:%M") == (START.replace(hour=9 + length // 60,
                                                             minute=length % 60)
                                               .strftime("%H:%M"))
