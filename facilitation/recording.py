"""Recording an expert slot, with the expert's agreement and everyone told.

The person in the spotlight agrees (`recording.consent`, kept in the log with who and
when) for the agenda item that runs, and if they like for the Q&A right after it that keeps
them on stage (`include_qa`); only then may a runner start a recording, and only that
person's own stage stream is recorded: nobody else who speaks or is seen in the gathering is
ever on it. The recording stops when a runner stops it, the person withdraws their consent,
the spotlight moves, the item ends (unless the next item is the Q&A they agreed to as well:
then it goes on, one file) or the gathering ends. `state.recording` is what every client
shows as the recording indicator; the process that owns the stage turns it into a file
(recordings/)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from facilitation.commands import LIVE, Command
from facilitation.core import Decision, Rejected, applies, decides, hook
from facilitation.events import Event
from facilitation.questions import QA_KIND
from facilitation.roles import RUNNERS, SPEAKERS
from facilitation.stage import item_expert_id, stage_person
from facilitation.state import AgendaSlot, GatheringState, RecordingConsent, RecordingRun

# --- commands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GiveConsent(Command, type="recording.consent", rights=SPEAKERS, phases=LIVE,
                  summary="The person in the spotlight agrees to be recorded in this item "
                          "(and the Q&A after it)."):
    """`include_qa`: also in the Q&A item right after this one, which keeps them on stage."""

    include_qa: bool = False


@dataclass(frozen=True)
class WithdrawConsent(Command, type="recording.withdraw", rights=SPEAKERS, phases=LIVE,
                      summary="Withdraw one's consent; a recording of oneself stops."):
    pass


@dataclass(frozen=True)
class StartRecording(Command, type="recording.start", rights=RUNNERS, phases=LIVE,
                     summary="Record the consenting person in the spotlight."):
    pass


@dataclass(frozen=True)
class StopRecording(Command, type="recording.stop", rights=RUNNERS, phases=LIVE,
                    summary="Stop the recording."):
    pass


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentGiven(Event):
    type: ClassVar[str] = "recording.consent_given"
    person_id: int
    name: str
    item_id: int | None
    at: float
    qa_item_id: int | None = None  # the Q&A after the item, when they agreed to it too


@dataclass(frozen=True)
class ConsentWithdrawn(Event):
    type: ClassVar[str] = "recording.consent_withdrawn"
    person_id: int
    at: float


@dataclass(frozen=True)
class RecordingStarted(Event):
    type: ClassVar[str] = "recording.started"
    person_id: int
    name: str
    item_id: int | None
    at: float
    by_person_id: int
    consent_at: float


@dataclass(frozen=True)
class RecordingStopped(Event):
    type: ClassVar[str] = "recording.stopped"
    person_id: int
    at: float
    reason: str  # stopped | consent_withdrawn | stage_changed | item_ended | gathering_ended


# --- the rule ----------------------------------------------------------------------------


def current_item_id(state: GatheringState) -> int | None:
    slot = state.current_slot()
    return None if slot is None else slot.id


def covers(consent: RecordingConsent, item_id: int | None) -> bool:
    """Whether the consent is for the agenda item `item_id`: the one it was given in, or
    the Q&A after it that the person agreed to as well."""
    return item_id == consent.item_id or (consent.qa_item_id is not None
                                          and item_id == consent.qa_item_id)


def valid_consent(state: GatheringState) -> RecordingConsent | None:
    """The consent that allows recording now: given by the person in the spotlight for the
    agenda item that runs."""
    consent, spotlight = state.consent, state.spotlight
    if consent is None or spotlight is None or consent.person_id != spotlight.person_id:
        return None
    return consent if covers(consent, current_item_id(state)) else None


def following_qa(state: GatheringState, person_id: int) -> AgendaSlot | None:
    """The Q&A item right after the running one, if it keeps `person_id` on stage (it names
    them, or names nobody and follows their talk: stage.py)."""
    after = None if state.current is None else state.current.index + 1
    if after is None or after >= len(state.agenda) or state.agenda[after].kind != QA_KIND:
        return None
    return state.agenda[after] if item_expert_id(state.agenda, after) == person_id else None


def recorded_person(state: GatheringState) -> int | None:
    """Whose stage stream is being recorded now: one person who agreed, or nobody."""
    return None if state.recording is None else state.recording.person_id


# --- decisions ---------------------------------------------------------------------------


@decides
def decide_give_consent(command: GiveConsent, d: Decision) -> list[Event]:
    spotlight = d.state.spotlight
    if spotlight is None or spotlight.person_id != d.actor.person_id:
        raise Rejected("only the person in the spotlight can agree to be recorded",
                       code="forbidden")
    qa = following_qa(d.state, d.actor.person_id) if command.include_qa else None
    if command.include_qa and qa is None:
        raise Rejected("the next item is not a Q&A that keeps you on stage")
    given = valid_consent(d.state)
    if given is not None and (qa is None or given.qa_item_id == qa.id):
        return []
    return [ConsentGiven(d.actor.person_id, d.actor.name, current_item_id(d.state), d.now,
                         qa_item_id=None if qa is None else qa.id)]


@decides
def decide_withdraw_consent(command: WithdrawConsent, d: Decision) -> list[Event]:
    consent = d.state.consent
    if consent is None or consent.person_id != d.actor.person_id:
        return []
    events: list[Event] = []
    if recorded_person(d.state) == d.actor.person_id:
        events.append(RecordingStopped(d.actor.person_id, d.now, "consent_withdrawn"))
    return [*events, ConsentWithdrawn(d.actor.person_id, d.now)]


@decides
def decide_start_recording(command: StartRecording, d: Decision) -> list[Event]:
    if d.state.recording is not None:
        return []
    spotlight = d.state.spotlight
    if spotlight is None:
        raise Rejected("nobody is in the spotlight: give the expert the stage first")
    consent = valid_consent(d.state)
    if consent is None:
        raise Rejected(f"{spotlight.name} has not agreed to be recorded")
    return [RecordingStarted(spotlight.person_id, spotlight.name, consent.item_id, d.now,
                             d.actor.person_id, consent.at)]


@decides
def decide_stop_recording(command: StopRecording, d: Decision) -> list[Event]:
    person_id = recorded_person(d.state)
    return [] if person_id is None else [RecordingStopped(person_id, d.now, "stopped")]


@hook("stage_changed")
def stop_when_spotlight_moves(state: GatheringState, d: Decision) -> list[Event]:
    """The recorded person left the spotlight (moved by hand): the recording stops."""
    person_id = recorded_person(state)
    spotlight = state.spotlight
    if person_id is None or (spotlight is not None and spotlight.person_id == person_id):
        return []
    return [RecordingStopped(person_id, d.now, "stage_changed")]


@hook("item_started")
def stop_at_item_end(state: GatheringState, d: Decision) -> list[Event]:
    """Another agenda item started: the recording of the last one stops, unless the person
    agreed to this item too and it keeps them on stage (a talk's Q&A). Then the run, and
    so its file (recordings/stage_tap.py), goes on unchanged."""
    run, consent = state.recording, state.consent
    if run is None:
        return []
    on_stage = stage_person(state, d)
    if (consent is not None and consent.person_id == run.person_id
            and covers(consent, current_item_id(state))
            and on_stage is not None and on_stage.person_id == run.person_id):
        return []
    return [RecordingStopped(run.person_id, d.now, "item_ended")]


@hook("ending")
def stop_at_gathering_end(state: GatheringState, d: Decision) -> list[Event]:
    """The gathering ends: so does its recording."""
    person_id = recorded_person(state)
    return [] if person_id is None else [RecordingStopped(person_id, d.now, "gathering_ended")]


# --- apply -------------------------------------------------------------------------------


@applies(ConsentGiven)
def _apply_consent(s: GatheringState, ev: ConsentGiven) -> GatheringState:
    return replace(s, consent=RecordingConsent(ev.person_id, ev.name, ev.item_id, ev.at,
                                               ev.qa_item_id))


@applies(ConsentWithdrawn)
def _apply_withdrawn(s: GatheringState, ev: ConsentWithdrawn) -> GatheringState:
    return replace(s, consent=None)


@applies(RecordingStarted)
def _apply_started(s: GatheringState, ev: RecordingStarted) -> GatheringState:
    return replace(s, recording=RecordingRun(ev.person_id, ev.name, ev.item_id, ev.at,
                                             ev.by_person_id, ev.consent_at))


@applies(RecordingStopped)
def _apply_stopped(s: GatheringState, ev: RecordingStopped) -> GatheringState:
    return replace(s, recording=None)
