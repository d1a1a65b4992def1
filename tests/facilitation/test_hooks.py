"""The order in which a moment's hooks run is facilitation.core.HOOK_ORDER's, written down
on purpose: it is the order of the events in the gathering's log."""

from __future__ import annotations

import pytest

from facilitation import Actor, AgendaSlot, GatheringState, Role, core, fold
from facilitation import breakouts as b
from facilitation import commands as c
from facilitation import polls as p
from facilitation import questions as q
from facilitation import recording as r
from facilitation import stage as st
from facilitation.events import Event
from facilitation.state import Context, PersonRef, PollKind, PollPlan
from tests.facilitation.deciding import T0, run

FRIDA = Actor(1, "Frida Fasilitator", Role.FACILITATOR)
EVA = Actor(5, "Eva Ekspert", Role.EXPERT)
ANNE = Actor(3, "Anne Askvik", Role.PARTICIPANT, "Askvik kommune", "oppstart")
BJORN = Actor(4, "Bjørn Brekke", Role.PARTICIPANT, "Brekke kommune", "oppstart")
CONTEXT = Context(present=(ANNE.member, BJORN.member),
                  people=(PersonRef(1, FRIDA.name, None), PersonRef(5, EVA.name, None)))
CHECKIN = PollPlan("Hvordan går det?", PollKind.SINGLE, ("Bra", "Dårlig"))
AGENDA = (
    AgendaSlot(11, "Spørsmål til Eva", "qa", 20, expert_id=5),
    AgendaSlot(12, "Velkommen tilbake", "welcome", 10, checkin_poll=CHECKIN),
)

# which hook of "item_started" brings which event (in the scene below)
BROUGHT_BY = {
    b.BreakoutsRecalled: "breakouts.open_or_recall_groups",
    p.PollClosed: "polls.close_checkin_at_item_end",
    p.PollLaunched: "polls.launch_checkin_poll",
    q.QuestionsClosed: "questions.focus_on_qa_item",
    r.RecordingStopped: "recording.stop_at_item_end",
    st.StageCleared: "stage.set_stage_for_item",
}


def every_hook_has_something_to_do() -> GatheringState:
    """Eva's Q&A runs with groups open by hand, Eva recorded and an earlier welcome item's
    check-in still open (as logs from before check-ins closed with their item hold): leaving
    it for a welcome item with a check-in poll gives each item_started hook an event."""
    state = run(GatheringState("g1", AGENDA), FRIDA, c.OpenRoom(), T0, CONTEXT)[0]
    state = run(state, FRIDA, c.NextItem(from_item=None), T0, CONTEXT)[0]
    state = run(state, EVA, r.GiveConsent(), T0 + 1, CONTEXT)[0]
    state = run(state, FRIDA, r.StartRecording(), T0 + 2, CONTEXT)[0]
    state = run(state, FRIDA, b.ProposeBreakouts(group_size=2), T0 + 3, CONTEXT)[0]
    state = run(state, FRIDA, b.OpenBreakouts(minutes=5), T0 + 4, CONTEXT)[0]
    state = fold(state, [p.PollLaunched(1, "Klar?", PollKind.WORD, (), T0 - 600, item_id=10)])
    assert state.spotlight is not None and state.recording is not None
    assert state.qa_item == 11 and state.breakouts is not None
    return state


def start_the_next_item() -> list[Event]:
    return run(every_hook_has_something_to_do(), FRIDA, c.NextItem(from_item=11), T0 + 60,
               CONTEXT)[1]


def test_the_table_and_the_registered_hooks_agree_exactly() -> None:
    assert set(core.HOOKS) == set(core.HOOK_ORDER)
    for moment, names in core.HOOK_ORDER.items():
        assert len(set(names)) == len(names), f"{moment} lists a hook twice"
        assert set(core.HOOKS[moment]) == set(names), moment


def test_an_item_start_brings_its_events_in_the_tables_order() -> None:
    started, *brought = start_the_next_item()
    assert started.type == "agenda.item_started"
    assert [BROUGHT_BY[type(ev)] for ev in brought] == list(core.HOOK_ORDER["item_started"])


def test_the_order_is_the_tables_not_the_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    # reversed, but the old check-in still closes before the new one launches (a launch
    # closes any open poll itself, and this test tells the hooks apart by their events)
    other_order = ("stage.set_stage_for_item", "recording.stop_at_item_end",
                   "questions.focus_on_qa_item", "polls.close_checkin_at_item_end",
                   "polls.launch_checkin_poll", "breakouts.open_or_recall_groups")
    assert sorted(other_order) == sorted(core.HOOK_ORDER["item_started"])
    monkeypatch.setitem(core.HOOK_ORDER, "item_started", other_order)
    _, *brought = start_the_next_item()
    assert [BROUGHT_BY[type(ev)] for ev in brought] == list(other_order)


def test_the_order_the_stored_logs_hold() -> None:
    """Changing this is changing the order of events in every gathering's log from now on."""
    assert core.HOOK_ORDER == {
        "item_started": ("breakouts.open_or_recall_groups", "polls.close_checkin_at_item_end",
                         "polls.launch_checkin_poll", "questions.focus_on_qa_item",
                         "recording.stop_at_item_end", "stage.set_stage_for_item"),
        "joined": ("breakouts.give_late_joiner_a_group",),
        "tick": ("breakouts.warn_and_recall_at_deadline",),
        "timer_changed": ("breakouts.retime_with_item",),
        "stage_changed": ("recording.stop_when_spotlight_moves",),
        "ending": ("recording.stop_at_gathering_end", "polls.close_checkin_at_gathering_end"),
    }


def _stray(state: GatheringState, d: core.Decision) -> list[Event]:
    return []


def test_a_hook_missing_from_the_table_fails_when_it_registers() -> None:
    with pytest.raises(LookupError, match="not in HOOK_ORDER"):
        core.hook("tick")(_stray)
    with pytest.raises(LookupError, match="no moment"):
        core.hook("lunch")(_stray)
    assert all("_stray" not in name for hooks in core.HOOKS.values() for name in hooks)


def test_a_hook_registered_twice_fails() -> None:
    fn = core.HOOKS["tick"]["breakouts.warn_and_recall_at_deadline"]
    with pytest.raises(LookupError, match="twice"):
        core.hook("tick")(fn)
