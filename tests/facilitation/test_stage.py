"""The stage, pure and table-driven: an expert slot gives its expert the spotlight, other
items take it back, and the facilitator can do either by hand."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from facilitation import Actor, AgendaSlot, GatheringState, Phase, Rejected
from facilitation import commands as c
from facilitation import stage as st
from facilitation.events import Event, event_from
from facilitation.snapshot import live_view
from facilitation.state import Context, PersonRef
from tests.facilitation import deciding
from tests.facilitation.deciding import ALICE, FRIDA, T0

EVA_REF = PersonRef(5, "Eva Ekspert", None)
OLE = PersonRef(8, "Ole Ordfører", "Brekke kommune")
# the theme's people, as the server loads them for agenda moves and stage.spotlight
THEME = Context(people=(PersonRef(1, "Frida Fasilitator", None),
                        PersonRef(3, "Alice Askvik", "Askvik kommune"), EVA_REF, OLE))

AGENDA = (
    AgendaSlot(11, "Velkommen", "welcome", 10),
    AgendaSlot(12, "Innlegg: Eva", "expert_talk", 20, expert_id=5),
    AgendaSlot(13, "Innlegg: Ole", "expert_talk", 15, expert_id=8),
    AgendaSlot(14, "Spørsmål til Ole", "qa", 10, expert_id=8),
    AgendaSlot(15, "Spørsmål og svar", "qa", 10),
    AgendaSlot(16, "Innlegg uten ekspert", "expert_talk", 10),
    AgendaSlot(17, "Innlegg: Eva igjen", "expert_talk", 10, expert_id=5),
    AgendaSlot(18, "Innlegg: Ukjent", "expert_talk", 10, expert_id=99),
)


def run(state: GatheringState, actor: Actor, command: c.Command, now: float = T0,
        context: Context = THEME) -> tuple[GatheringState, list[Event]]:
    return deciding.run(state, actor, command, now, context)


def refused(state: GatheringState, command: c.Command) -> Rejected:
    return deciding.rejected(state, FRIDA, command, T0, THEME)


def live() -> GatheringState:
    return run(GatheringState(gathering_id="g1", agenda=AGENDA), FRIDA, c.OpenRoom())[0]


def next_item(state: GatheringState, now: float) -> tuple[GatheringState, list[Event]]:
    """The facilitator starts the next agenda item."""
    slot = state.current_slot()
    return run(state, FRIDA, c.NextItem(from_item=slot.id if slot else None), now)


def stage_events(events: list[Event]) -> list[Event]:
    return [e for e in events if e.type.startswith("stage.")]


def test_walking_the_agenda_moves_the_spotlight() -> None:
    """(item started -> the stage events it brings, who has the stage after)"""
    expected: list[tuple[list[Event], PersonRef | None]] = [
        ([], None),  # welcome: nobody had the stage
        ([st.SpotlightGiven(5, "Eva Ekspert", None, item_id=12)], EVA_REF),
        ([st.SpotlightGiven(8, "Ole Ordfører", "Brekke kommune", item_id=13)], OLE),
        ([], OLE),  # Ole's Q&A: Ole keeps the stage, nothing to say
        ([st.StageCleared(at=T0 + 4)], None),  # a Q&A without an expert
        ([], None),  # an expert item that names nobody
        ([st.SpotlightGiven(5, "Eva Ekspert", None, item_id=17)], EVA_REF),
        ([st.StageCleared(at=T0 + 7)], None),  # an expert no longer in the theme: nobody
    ]
    state = live()
    for step, (events_expected, holder) in enumerate(expected):
        state, events = next_item(state, T0 + step)
        assert stage_events(events) == events_expected, AGENDA[step].title
        assert state.spotlight == holder, AGENDA[step].title
        assert live_view(state)["spotlight"] == (None if holder is None else {
            "person_id": holder.person_id, "name": holder.name,
            "municipality": holder.municipality})


def test_going_back_into_the_expert_slot_gives_the_stage_again() -> None:
    state = live()
    for from_item in (None, 11, 12):
        state = run(state, FRIDA, c.NextItem(from_item=from_item))[0]
    assert state.spotlight == OLE
    state, events = run(state, FRIDA, c.PreviousItem(from_item=13), T0 + 9)
    assert stage_events(events) == [st.SpotlightGiven(5, "Eva Ekspert", None, item_id=12)]
    state, events = run(state, FRIDA, c.PreviousItem(from_item=12), T0 + 10)
    assert stage_events(events) == [st.StageCleared(at=T0 + 10)]


def test_a_qa_right_after_a_talk_keeps_the_talks_expert_on_stage() -> None:
    """A Q&A that names nobody (or the talk's expert) after an expert talk is that expert's;
    one that names nobody after anything else empties the stage."""
    agenda = (AgendaSlot(21, "Innlegg: Eva", "expert_talk", 20, expert_id=5),
              AgendaSlot(22, "Spørsmål og svar", "qa", 10),
              AgendaSlot(23, "Innlegg: Ole", "expert_talk", 15, expert_id=8),
              AgendaSlot(24, "Spørsmål til Ole", "qa", 10, expert_id=8),
              AgendaSlot(25, "Flere spørsmål", "qa", 10))
    state = run(GatheringState(gathering_id="g1", agenda=agenda), FRIDA, c.OpenRoom())[0]
    expected: list[tuple[list[Event], PersonRef | None]] = [
        ([st.SpotlightGiven(5, "Eva Ekspert", None, item_id=21)], EVA_REF),
        ([], EVA_REF),  # her Q&A: she keeps the stage, nothing to say
        ([st.SpotlightGiven(8, "Ole Ordfører", "Brekke kommune", item_id=23)], OLE),
        ([], OLE),
        ([st.StageCleared(at=T0 + 4)], None),  # after a Q&A, not a talk: nobody
    ]
    for step, (events_expected, holder) in enumerate(expected):
        state, events = next_item(state, T0 + step)
        assert stage_events(events) == events_expected, agenda[step].title
        assert state.spotlight == holder, agenda[step].title
    # back into her Q&A, from the stage taken away: it is hers again
    state = run(state, FRIDA, c.PreviousItem(from_item=25), T0 + 5)[0]
    state = run(state, FRIDA, c.PreviousItem(from_item=24), T0 + 6)[0]
    state, events = run(state, FRIDA, c.PreviousItem(from_item=23), T0 + 7)
    assert stage_events(events) == [st.SpotlightGiven(5, "Eva Ekspert", None, item_id=22)]


def test_the_facilitator_gives_and_takes_the_stage_by_hand() -> None:
    state, events = run(live(), FRIDA, st.Spotlight(person_id=3))
    assert events == [st.SpotlightGiven(3, "Alice Askvik", "Askvik kommune")]
    assert run(state, FRIDA, st.Spotlight(person_id=3))[1] == []  # already there
    state, events = run(state, FRIDA, st.Spotlight(person_id=5))
    assert events == [st.SpotlightGiven(5, "Eva Ekspert", None)]
    state, events = run(state, FRIDA, st.ClearStage(), T0 + 7)
    assert events == [st.StageCleared(at=T0 + 7)] and state.spotlight is None
    assert run(state, FRIDA, st.ClearStage())[1] == []  # nothing on stage: nothing to do


def test_facilitator_takes_the_expert_and_the_speaker_off_stage() -> None:
    state = run(live(), FRIDA, st.Spotlight(person_id=5))[0]
    state = run(state, ALICE, c.RaiseHand())[0]
    state = run(state, FRIDA, c.CallNextHand(), context=replace(THEME, here=frozenset({3})))[0]
    assert state.speaker is not None and state.speaker.person_id == 3
    state, events = run(state, FRIDA, st.TakeOffStage(person_id=3), T0 + 5)
    assert events == [st.FloorEnded(3, T0 + 5)] and state.speaker is None
    state, events = run(state, FRIDA, st.TakeOffStage(person_id=5), T0 + 6)
    assert events == [st.StageCleared(T0 + 6)] and state.spotlight is None
    # nobody left on stage by spotlight or floor
    assert "neither" in refused(state, st.TakeOffStage(person_id=5)).reason


def test_only_people_of_the_theme_get_the_stage() -> None:
    assert "theme" in refused(live(), st.Spotlight(person_id=42)).reason


@pytest.mark.parametrize("phase", [Phase.LOBBY, Phase.ENDED])
@pytest.mark.parametrize("command", [st.Spotlight(person_id=3), st.ClearStage()])
def test_the_stage_is_for_a_live_gathering(command: c.Command, phase: Phase) -> None:
    state = replace(live(), phase=phase, spotlight=OLE)
    assert str(phase) in refused(state, command).reason


STAGE_EVENT_SAMPLES: list[Event] = [st.SpotlightGiven(5, "Eva", None, 12),
                                    st.SpotlightGiven(8, "Ole", "Brekke kommune"),
                                    st.StageCleared(T0), st.FloorEnded(3, T0)]


@pytest.mark.parametrize("sample", STAGE_EVENT_SAMPLES, ids=lambda s: s.type)
def test_every_stage_event_round_trips_through_its_json_data(sample: Event) -> None:
    assert event_from(sample.type, json.loads(json.dumps(sample.data()))) == sample
