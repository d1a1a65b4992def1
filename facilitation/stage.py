"""The stage: who is in the spotlight for everyone. An `expert_talk` agenda item gives its
expert the stage when it starts, and so does a `qa` item that names an expert (the expert
answers the questions); a `qa` item that names nobody right after an expert talk keeps that
talk's expert on stage (the questions are for them); any other item starting takes the stage
back. The facilitator may also put anyone of the theme on stage, or clear it, by hand, and
take the expert or whoever has the floor off the stage (`stage.take_off`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from facilitation.commands import LIVE, Command, Need
from facilitation.core import Decision, Rejected, applies, decides, fold, hook, run_hooks
from facilitation.events import Event
from facilitation.questions import QA_KIND
from facilitation.roles import RUNNERS
from facilitation.state import AgendaSlot, GatheringState, PersonRef

TALK_KIND = "expert_talk"
STAGE_KINDS = frozenset({TALK_KIND, QA_KIND})  # the kinds that may name an expert

# --- commands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Spotlight(Command, type="stage.spotlight", rights=RUNNERS, phases=LIVE,
                summary="Give someone the stage.", needs=frozenset({Need.PEOPLE})):
    person_id: int


@dataclass(frozen=True)
class ClearStage(Command, type="stage.clear", rights=RUNNERS, phases=LIVE,
                 summary="Take the stage back."):
    pass


@dataclass(frozen=True)
class TakeOffStage(Command, type="stage.take_off", rights=RUNNERS, phases=LIVE,
                   summary="Take the expert or whoever has the floor off the stage."):
    person_id: int


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpotlightGiven(Event):
    type: ClassVar[str] = "stage.spotlight"
    person_id: int
    name: str
    municipality: str | None = None
    item_id: int | None = None  # the expert slot that gave it; None when given by hand


@dataclass(frozen=True)
class StageCleared(Event):
    type: ClassVar[str] = "stage.cleared"
    at: float


@dataclass(frozen=True)
class FloorEnded(Event):
    """The facilitator took the person with the floor off the stage."""

    type: ClassVar[str] = "stage.floor_ended"
    person_id: int
    at: float


# --- decisions ---------------------------------------------------------------------------


def _known_person(d: Decision, person_id: int) -> PersonRef | None:
    """A person of the gathering's theme (the caller loads them into the context)."""
    return next((p for p in d.context.people if p.person_id == person_id), None)


def _moved(d: Decision, events: list[Event]) -> list[Event]:
    """The stage events of a command and what follows from them (a recording stops)."""
    return [*events, *run_hooks("stage_changed", fold(d.state, events), d)] if events else []


@decides
def decide_spotlight(command: Spotlight, d: Decision) -> list[Event]:
    spotlight = d.state.spotlight
    if spotlight is not None and spotlight.person_id == command.person_id:
        return []
    person = _known_person(d, command.person_id)
    if person is None:
        raise Rejected("that person is not in this gathering's theme")
    return _moved(d, [SpotlightGiven(person.person_id, person.name, person.municipality)])


@decides
def decide_clear_stage(command: ClearStage, d: Decision) -> list[Event]:
    return _moved(d, [] if d.state.spotlight is None else [StageCleared(at=d.now)])


@decides
def decide_take_off_stage(command: TakeOffStage, d: Decision) -> list[Event]:
    """Whoever is on stage by the spotlight or the floor leaves it; runners publish by
    their own right and leave it themselves."""
    spotlight, speaker = d.state.spotlight, d.state.speaker
    events: list[Event] = []
    if spotlight is not None and spotlight.person_id == command.person_id:
        events.append(StageCleared(at=d.now))
    if speaker is not None and speaker.person_id == command.person_id:
        events.append(FloorEnded(command.person_id, d.now))
    if not events:
        raise Rejected("that person is neither in the spotlight nor has the floor")
    return _moved(d, events)


def item_expert_id(agenda: tuple[AgendaSlot, ...], index: int) -> int | None:
    """Whom the agenda item at `index` puts on stage: the expert it names, or for a Q&A
    that names nobody right after an expert talk, that talk's expert."""
    slot = agenda[index]
    if slot.kind not in STAGE_KINDS:
        return None
    before = agenda[index - 1] if index > 0 else None
    if slot.expert_id is None and slot.kind == QA_KIND and before and before.kind == TALK_KIND:
        return before.expert_id
    return slot.expert_id


def stage_person(state: GatheringState, d: Decision) -> PersonRef | None:
    """Whom the running item puts on stage. An expert who is no longer in the theme (so
    cannot be here) is as good as none."""
    if state.current is None:
        return None
    expert_id = item_expert_id(state.agenda, state.current.index)
    return None if expert_id is None else _known_person(d, expert_id)


@hook("item_started")
def set_stage_for_item(state: GatheringState, d: Decision) -> list[Event]:
    """An expert slot gives its expert the stage (a talk's Q&A keeps it); any other item
    ends the spotlight."""
    slot = state.current_slot()
    spotlight = state.spotlight
    expert = stage_person(state, d)
    if expert is not None and slot is not None:
        if spotlight is not None and spotlight.person_id == expert.person_id:
            return []
        return [SpotlightGiven(expert.person_id, expert.name, expert.municipality,
                               item_id=slot.id)]
    return [] if spotlight is None else [StageCleared(at=d.now)]


# --- apply -------------------------------------------------------------------------------


@applies(SpotlightGiven)
def _apply_spotlight(s: GatheringState, ev: SpotlightGiven) -> GatheringState:
    return replace(s, spotlight=PersonRef(ev.person_id, ev.name, ev.municipality))


@applies(StageCleared)
def _apply_cleared(s: GatheringState, ev: StageCleared) -> GatheringState:
    return replace(s, spotlight=None)


@applies(FloorEnded)
def _apply_floor_ended(s: GatheringState, ev: FloorEnded) -> GatheringState:
    return replace(s, speaker=None)
