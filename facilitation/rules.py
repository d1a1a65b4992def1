"""`decide` turns a command into events; `apply` folds an event into state.

Which command is allowed in which phase is a table, not scattered ifs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import singledispatch

from facilitation import commands as c
from facilitation import events as e
from facilitation.roles import runs_gathering
from facilitation.state import (
    CHAT_KEPT,
    Actor,
    ChatMessage,
    CurrentItem,
    GatheringState,
    PersonRef,
    Phase,
)

MAX_EXTEND_MINUTES = 60

ANY_PHASE = frozenset(Phase)
OPEN_PHASES = frozenset({Phase.LOBBY, Phase.LIVE})

# command type -> phases in which it is allowed
PHASE_RULES: dict[str, frozenset[Phase]] = {
    "room.join": ANY_PHASE,
    "room.sync": ANY_PHASE,
    "room.open": frozenset({Phase.LOBBY}),
    "agenda.next": frozenset({Phase.LIVE}),
    "agenda.previous": frozenset({Phase.LIVE}),
    "agenda.extend": frozenset({Phase.LIVE}),
    "hand.raise": frozenset({Phase.LIVE}),
    "hand.lower": OPEN_PHASES,
    "hand.call_next": frozenset({Phase.LIVE}),
    "chat.send": OPEN_PHASES,
    "gathering.end": OPEN_PHASES,
}


class Rejected(Exception):
    """The command is well-formed and allowed for the role, but not now.

    `code` is `rejected`, or `conflict` when the sender acted on a stale view."""

    def __init__(self, reason: str, code: str = "rejected") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def decide(
    state: GatheringState, actor: Actor, command: c.Command, now: float
) -> tuple[GatheringState, list[e.Event]]:
    phases = PHASE_RULES.get(command.type)
    if phases is None or state.phase not in phases:
        raise Rejected(f"{command.type} is not possible while the gathering is {state.phase}")
    events = _decide(command, state, actor, now)
    return fold(state, events), events


def fold(state: GatheringState, events: Iterable[e.Event]) -> GatheringState:
    for event in events:
        state = apply(state, event)
    return state


def _person(actor: Actor) -> dict[str, object]:
    return {"person_id": actor.person_id, "name": actor.name, "municipality": actor.municipality}


def _check_from_item(state: GatheringState, from_item: int | None) -> None:
    slot = state.current_slot()
    if (slot.id if slot else None) != from_item:
        raise Rejected("the agenda has moved on since you last saw it", code="conflict")


def _start(state: GatheringState, index: int, now: float) -> e.ItemStarted:
    slot = state.agenda[index]
    return e.ItemStarted(
        index=index, item_id=slot.id, started_at=now, planned_seconds=slot.planned_minutes * 60
    )


@singledispatch
def _decide(command: c.Command, state: GatheringState, actor: Actor, now: float) -> list[e.Event]:
    raise Rejected(f"unknown command {command.type}")


@_decide.register
def _(command: c.JoinRoom, state: GatheringState, actor: Actor, now: float) -> list[e.Event]:
    if actor.person_id in state.attendees:
        return []
    return [e.AttendeeArrived(**_person(actor))]  # type: ignore[arg-type]


@_decide.register
def _(command: c.OpenRoom, state: GatheringState, actor: Actor, now: float) -> list[e.Event]:
    return [e.RoomOpened(at=now)]


@_decide.register
def _(command: c.NextItem, state: GatheringState, actor: Actor, now: float) -> list[e.Event]:
    _check_from_item(state, command.from_item)
    index = 0 if state.current is None else state.current.index + 1
    if index >= len(state.agenda):
        raise Rejected("this is the last agenda item")
    return [_start(state, index, now)]


@_decide.register
def _(command: c.PreviousItem, state: GatheringState, actor: Actor, now: float) -> list[e.Event]:
    _check_from_item(state, command.from_item)
    if state.current is None or state.current.index == 0:
        raise Rejected("this is the first agenda item")
    return [_start(state, state.current.index - 1, now)]


@_decide.register
def _(command: c.ExtendItem, state: GatheringState, actor: Actor, now: float) -> list[e.Event]:
    if state.current is None:
        raise Rejected("no agenda item is running")
    if not 1 <= command.minutes <= MAX_EXTEND_MINUTES:
        raise Rejected(f"extend by 1 to {MAX_EXTEND_MINUTES} minutes")
    extended = state.current.extended_seconds + command.minutes * 60
    return [e.ItemExtended(index=state.current.index, extended_seconds=extended)]


@_decide.register
def _(command: c.RaiseHand, state: GatheringState, actor: Actor, now: float) -> list[e.Event]:
    if state.has_hand_up(actor.person_id):
        return []
    return [e.HandRaised(**_person(actor))]  # type: ignore[arg-type]


@_decide.register
def _(command: c.LowerHand, state: GatheringState, actor: Actor, now: float) -> list[e.Event]:
    person_id = actor.person_id if command.person_id is None else command.person_id
    if person_id != actor.person_id and not runs_gathering(actor.role):
        raise Rejected("only the facilitator may lower someone else's hand", code="forbidden")
    if not state.has_hand_up(person_id):
        return []
    return [e.HandLowered(person_id=person_id)]


@_decide.register
def _(command: c.CallNextHand, state: GatheringState, actor: Actor, now: float) -> list[e.Event]:
    if not state.hands:
        raise Rejected("no hands are raised")
    first = state.hands[0]
    return [
        e.SpeakerCalled(person_id=first.person_id, name=first.name, municipality=first.municipality)
    ]


@_decide.register
def _(command: c.SendChat, state: GatheringState, actor: Actor, now: float) -> list[e.Event]:
    text = command.text.strip()
    if not text:
        raise Rejected("an empty message cannot be sent")
    return [e.ChatPosted(**_person(actor), text=text, at=now)]  # type: ignore[arg-type]


@_decide.register
def _(command: c.EndGathering, state: GatheringState, actor: Actor, now: float) -> list[e.Event]:
    return [e.GatheringEnded(at=now)]


# --- apply: the fold -----------------------------------------------------------------


def _ref(event: e.AttendeeArrived | e.HandRaised | e.SpeakerCalled | e.ChatPosted) -> PersonRef:
    return PersonRef(event.person_id, event.name, event.municipality)


def _apply_arrived(s: GatheringState, ev: e.AttendeeArrived) -> GatheringState:
    return replace(s, attendees=s.attendees | {ev.person_id})


def _apply_opened(s: GatheringState, ev: e.RoomOpened) -> GatheringState:
    return replace(s, phase=Phase.LIVE, opened_at=ev.at)


def _apply_started(s: GatheringState, ev: e.ItemStarted) -> GatheringState:
    # a new item ends the floor given in the last one; raised hands stay in the queue
    current = CurrentItem(ev.index, ev.started_at, ev.planned_seconds)
    return replace(s, current=current, speaker=None)


def _apply_extended(s: GatheringState, ev: e.ItemExtended) -> GatheringState:
    assert s.current is not None
    return replace(s, current=replace(s.current, extended_seconds=ev.extended_seconds))


def _apply_raised(s: GatheringState, ev: e.HandRaised) -> GatheringState:
    return replace(s, hands=(*s.hands, _ref(ev)))


def _apply_lowered(s: GatheringState, ev: e.HandLowered) -> GatheringState:
    return replace(s, hands=tuple(h for h in s.hands if h.person_id != ev.person_id))


def _apply_called(s: GatheringState, ev: e.SpeakerCalled) -> GatheringState:
    hands = tuple(h for h in s.hands if h.person_id != ev.person_id)
    return replace(s, hands=hands, speaker=_ref(ev))


def _apply_chat(s: GatheringState, ev: e.ChatPosted) -> GatheringState:
    message = ChatMessage(seq=s.version, author=_ref(ev), text=ev.text, at=ev.at)
    return replace(s, chat=(*s.chat, message)[-CHAT_KEPT:])


def _apply_ended(s: GatheringState, ev: e.GatheringEnded) -> GatheringState:
    return replace(s, phase=Phase.ENDED, ended_at=ev.at, hands=(), speaker=None)


_APPLY: dict[type[e.Event], Callable[[GatheringState, e.Event], GatheringState]] = {
    e.AttendeeArrived: _apply_arrived,  # type: ignore[dict-item]
    e.RoomOpened: _apply_opened,  # type: ignore[dict-item]
    e.ItemStarted: _apply_started,  # type: ignore[dict-item]
    e.ItemExtended: _apply_extended,  # type: ignore[dict-item]
    e.HandRaised: _apply_raised,  # type: ignore[dict-item]
    e.HandLowered: _apply_lowered,  # type: ignore[dict-item]
    e.SpeakerCalled: _apply_called,  # type: ignore[dict-item]
    e.ChatPosted: _apply_chat,  # type: ignore[dict-item]
    e.GatheringEnded: _apply_ended,  # type: ignore[dict-item]
}


def apply(state: GatheringState, event: e.Event) -> GatheringState:
    """Fold one event into state; each event advances the version by one."""
    state = replace(state, version=state.version + 1)
    return _APPLY[type(event)](state, event)
