"""Recording an expert slot: only with the consent of the person in the spotlight, only them,
and never past their slot, their consent, the spotlight or the gathering."""

from __future__ import annotations

import json

import pytest

from facilitation import Actor, AgendaSlot, GatheringState, Rejected
from facilitation import commands as c
from facilitation import recording as r
from facilitation import stage as st
from facilitation.events import Event, event_from
from facilitation.snapshot import live_view
from facilitation.state import Context, PersonRef, RecordingConsent, RecordingRun
from tests.facilitation import deciding
from tests.facilitation.deciding import ALICE, EVA, FRIDA, T0

THEME = Context(people=(PersonRef(1, "Frida Fasilitator", None),
                        PersonRef(3, "Alice Askvik", "Askvik kommune"),
                        PersonRef(5, "Eva Ekspert", None)))
AGENDA = (
    AgendaSlot(11, "Velkommen", "welcome", 10),
    AgendaSlot(12, "Innlegg: Eva", "expert_talk", 20, expert_id=5),
    AgendaSlot(13, "Spørsmål til Eva", "qa", 10, expert_id=5),
    AgendaSlot(14, "Pause", "break", 10),
)


def run(state: GatheringState, actor: Actor, command: c.Command, now: float = T0
        ) -> tuple[GatheringState, list[Event]]:
    return deciding.run(state, actor, command, now, THEME)


def refused(state: GatheringState, actor: Actor, command: c.Command) -> Rejected:
    return deciding.rejected(state, actor, command, T0, THEME)


def eva_on_stage() -> GatheringState:
    """Live, in Eva's slot: she has the spotlight."""
    state = run(GatheringState(gathering_id="g1", agenda=AGENDA), FRIDA, c.OpenRoom())[0]
    state = run(state, FRIDA, c.NextItem(from_item=None))[0]
    state = run(state, FRIDA, c.NextItem(from_item=11))[0]
    assert state.spotlight is not None and state.spotlight.person_id == 5
    return state


def recording_eva() -> GatheringState:
    state = run(eva_on_stage(), EVA, r.GiveConsent(), T0 + 1)[0]
    return run(state, FRIDA, r.StartRecording(), T0 + 2)[0]


def test_facilitator_records_the_expert_after_she_agrees() -> None:
    state = eva_on_stage()
    assert "not agreed" in refused(state, FRIDA, r.StartRecording()).reason
    state, events = run(state, EVA, r.GiveConsent(), T0 + 1)
    assert events == [r.ConsentGiven(5, "Eva Ekspert", 12, T0 + 1)]
    assert run(state, EVA, r.GiveConsent())[1] == []  # already agreed
    state, events = run(state, FRIDA, r.StartRecording(), T0 + 2)
    assert events == [r.RecordingStarted(5, "Eva Ekspert", 12, T0 + 2, by_person_id=1,
                                         consent_at=T0 + 1)]
    assert state.recording == RecordingRun(5, "Eva Ekspert", 12, T0 + 2, 1, T0 + 1)
    assert r.recorded_person(state) == 5
    assert run(state, FRIDA, r.StartRecording())[1] == []  # already recording
    state, events = run(state, FRIDA, r.StopRecording(), T0 + 60)
    assert events == [r.RecordingStopped(5, T0 + 60, "stopped")] and state.recording is None
    assert run(state, FRIDA, r.StopRecording())[1] == []


def test_only_the_person_in_the_spotlight_can_agree() -> None:
    caught = refused(eva_on_stage(), ALICE, r.GiveConsent())
    assert caught.code == "forbidden"


def test_nobody_in_the_spotlight_means_nothing_to_record() -> None:
    state = run(eva_on_stage(), FRIDA, st.ClearStage())[0]
    assert "spotlight" in refused(state, FRIDA, r.StartRecording()).reason


def test_consent_is_for_one_slot() -> None:
    """Agreeing in the talk is not agreeing in the Q&A that follows: she is asked again."""
    state = run(eva_on_stage(), EVA, r.GiveConsent(), T0 + 1)[0]
    state = run(state, FRIDA, c.NextItem(from_item=12), T0 + 2)[0]
    assert state.spotlight is not None and state.spotlight.person_id == 5
    assert r.valid_consent(state) is None
    assert "not agreed" in refused(state, FRIDA, r.StartRecording()).reason


def test_she_agrees_for_her_talk_and_the_qa_after_it_and_the_recording_goes_on() -> None:
    state, events = run(eva_on_stage(), EVA, r.GiveConsent(include_qa=True), T0 + 1)
    assert events == [r.ConsentGiven(5, "Eva Ekspert", 12, T0 + 1, qa_item_id=13)]
    state = run(state, FRIDA, r.StartRecording(), T0 + 2)[0]
    recording = state.recording
    state, events = run(state, FRIDA, c.NextItem(from_item=12), T0 + 60)
    assert [ev.type for ev in events] == ["agenda.item_started", "questions.opened"]
    assert state.recording == recording  # the same run: the stage keeps one file
    assert r.valid_consent(state) is not None
    # the Q&A is as far as she agreed: the next item ends the recording
    state, events = run(state, FRIDA, c.NextItem(from_item=13), T0 + 120)
    assert r.RecordingStopped(5, T0 + 120, "item_ended") in events
    assert r.valid_consent(state) is None


def test_a_consent_for_the_talk_alone_can_take_in_the_qa_later() -> None:
    state = run(eva_on_stage(), EVA, r.GiveConsent(), T0 + 1)[0]
    assert run(state, EVA, r.GiveConsent())[1] == []
    state, events = run(state, EVA, r.GiveConsent(include_qa=True), T0 + 5)
    assert events == [r.ConsentGiven(5, "Eva Ekspert", 12, T0 + 5, qa_item_id=13)]
    assert run(state, EVA, r.GiveConsent(include_qa=True))[1] == []  # already agreed
    assert run(state, EVA, r.GiveConsent())[1] == []


@pytest.mark.parametrize(("agenda", "at_index"), [
    (AGENDA, 2),  # in the Q&A itself: a break comes next
    (AGENDA[:2], 1),  # the talk is the last item
    ((*AGENDA[:2], AgendaSlot(13, "Spørsmål til Ole", "qa", 10, expert_id=8)), 1),
    ((*AGENDA[:2], AgendaSlot(13, "Pause", "break", 10)), 1),
])
def test_the_qa_is_offered_only_when_it_follows_and_keeps_her_on_stage(
        agenda: tuple[AgendaSlot, ...], at_index: int) -> None:
    state = run(GatheringState(gathering_id="g1", agenda=agenda), FRIDA, c.OpenRoom())[0]
    for index in range(at_index + 1):
        state = run(state, FRIDA, c.NextItem(
            from_item=None if index == 0 else agenda[index - 1].id))[0]
    state = run(state, FRIDA, st.Spotlight(person_id=5))[0]
    assert "not a Q&A" in refused(state, EVA, r.GiveConsent(include_qa=True)).reason


def test_a_qa_that_names_nobody_after_her_talk_is_hers() -> None:
    agenda = (*AGENDA[:2], AgendaSlot(13, "Spørsmål og svar", "qa", 10))
    state = run(GatheringState(gathering_id="g1", agenda=agenda), FRIDA, c.OpenRoom())[0]
    state = run(state, FRIDA, c.NextItem(from_item=None))[0]
    state = run(state, FRIDA, c.NextItem(from_item=11))[0]
    state = run(state, EVA, r.GiveConsent(include_qa=True), T0 + 1)[0]
    state = run(state, FRIDA, r.StartRecording(), T0 + 2)[0]
    state, events = run(state, FRIDA, c.NextItem(from_item=12), T0 + 60)
    assert [ev.type for ev in events] == ["agenda.item_started", "questions.opened"]
    assert state.spotlight is not None and state.spotlight.person_id == 5
    assert state.recording is not None


def test_withdrawing_consent_stops_the_recording() -> None:
    state, events = run(recording_eva(), EVA, r.WithdrawConsent(), T0 + 9)
    assert events == [r.RecordingStopped(5, T0 + 9, "consent_withdrawn"),
                      r.ConsentWithdrawn(5, T0 + 9)]
    assert state.recording is None and state.consent is None
    assert "not agreed" in refused(state, FRIDA, r.StartRecording()).reason
    assert run(state, ALICE, r.WithdrawConsent())[1] == []  # had not agreed: nothing to do


@pytest.mark.parametrize(("command", "reason"), [
    (c.NextItem(from_item=12), "item_ended"),
    (st.ClearStage(), "stage_changed"),
    (st.Spotlight(person_id=3), "stage_changed"),
    (st.TakeOffStage(person_id=5), "stage_changed"),
    (c.EndGathering(), "gathering_ended"),
])
def test_the_recording_never_outlives_the_slot(command: c.Command, reason: str) -> None:
    state, events = run(recording_eva(), FRIDA, command, T0 + 30)
    assert r.RecordingStopped(5, T0 + 30, reason) in events
    assert state.recording is None


def test_everyone_sees_the_recording_indicator_and_the_consent() -> None:
    view = live_view(recording_eva(), viewer=3)
    assert view["recording"] == {"person_id": 5, "name": "Eva Ekspert", "item_id": 12,
                                 "started_at": T0 + 2, "by_person_id": 1,
                                 "consent_at": T0 + 1}
    assert view["consent"] == {"person_id": 5, "name": "Eva Ekspert", "item_id": 12,
                               "at": T0 + 1, "qa_item_id": None}
    assert live_view(eva_on_stage())["recording"] is None


RECORDING_EVENT_SAMPLES: list[Event] = [
    r.ConsentGiven(5, "Eva", 12, T0), r.ConsentGiven(5, "Eva", None, T0),
    r.ConsentGiven(5, "Eva", 12, T0, qa_item_id=13),
    r.ConsentWithdrawn(5, T0), r.RecordingStarted(5, "Eva", 12, T0, 1, T0 - 1),
    r.RecordingStopped(5, T0, "stopped"),
]


@pytest.mark.parametrize("sample", RECORDING_EVENT_SAMPLES, ids=lambda s: s.type)
def test_every_recording_event_round_trips_through_its_json_data(sample: Event) -> None:
    assert event_from(sample.type, json.loads(json.dumps(sample.data()))) == sample


def test_consent_is_kept_with_who_and_when() -> None:
    assert recording_eva().consent == RecordingConsent(5, "Eva Ekspert", 12, T0 + 1)
