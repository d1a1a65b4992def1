"""The rules of the room: `decide`, the one entry point (a command is allowed only in the
phases its declaration names, facilitation/commands.py), and the core commands' rules (join,
open, agenda, hands, chat, end). Feature modules add their own rules through
`facilitation.core`."""

from __future__ import annotations

from dataclasses import replace

from facilitation import commands as c
from facilitation import events as e
from facilitation.commands import COMMANDS
from facilitation.core import (
    Decision,
    Rejected,
    applies,
    decide_command,
    decides,
    fold,
    run_hooks,
)
from facilitation.roles import runs_gathering
from facilitation.state import (
    CHAT_KEPT,
    Actor,
    ChatMessage,
    Context,
    CurrentItem,
    GatheringState,
    PersonRef,
    Phase,
)

NO_CONTEXT = Context()
MAX_EXTEND_MINUTES = c.MAX_EXTEND_MINUTES


def decide(
    state: GatheringState,
    actor: Actor,
    command: c.Command,
    now: float,
    context: Context = NO_CONTEXT,
) -> tuple[GatheringState, list[e.Event]]:
    spec = COMMANDS.get(command.type)
    if spec is None or state.phase not in spec.phases:
        raise Rejected(f"{command.type} is not possible while the gathering is {state.phase}")
    events = decide_command(command, Decision(state, actor, now, context))
    return fold(state, events), events


def _person(actor: Actor) -> dict[str, object]:
    return {"person_id": actor.person_id, "name": actor.name, "municipality": actor.municipality}


def _check_from_item(state: GatheringState, from_item: int | None) -> None:
    slot = state.current_slot()
    if (slot.id if slot else None) != from_item:
        raise Rejected("the agenda has moved on since you last saw it", code="conflict")


def _start(d: Decision, index: int) -> list[e.Event]:
    slot = d.state.agenda[index]
    started = e.ItemStarted(index=index, item_id=slot.id, started_at=d.now,
                            planned_seconds=slot.planned_minutes * 60)
    return [started, *run_hooks("item_started", fold(d.state, [started]), d)]


@decides
def decide_join_room(command: c.JoinRoom, d: Decision) -> list[e.Event]:
    events: list[e.Event] = []
    if d.actor.person_id not in d.state.attendees:
        events.append(e.AttendeeArrived(**_person(d.actor)))  # type: ignore[arg-type]
    return events + run_hooks("joined", fold(d.state, events), d)


@decides
def decide_open_room(command: c.OpenRoom, d: Decision) -> list[e.Event]:
    return [e.RoomOpened(at=d.now)]


@decides
def decide_next_item(command: c.NextItem, d: Decision) -> list[e.Event]:
    _check_from_item(d.state, command.from_item)
    index = 0 if d.state.current is None else d.state.current.index + 1
    if index >= len(d.state.agenda):
        raise Rejected("this is the last agenda item")
    return _start(d, index)


@decides
def decide_previous_item(command: c.PreviousItem, d: Decision) -> list[e.Event]:
    _check_from_item(d.state, command.from_item)
    if d.state.current is None or d.state.current.index == 0:
        raise Rejected("this is the first agenda item")
    return _start(d, d.state.current.index - 1)


@decides
def decide_extend_item(command: c.ExtendItem, d: Decision) -> list[e.Event]:
    current = d.state.current
    if current is None:
        raise Rejected("no agenda item is running")
    if not 1 <= command.minutes <= MAX_EXTEND_MINUTES:
        raise Rejected(f"extend by 1 to {MAX_EXTEND_MINUTES} minutes")
    extended = current.extended_seconds + command.minutes * 60
    return _timer_changed(d, e.ItemExtended(index=current.index, extended_seconds=extended))


def _timer_changed(d: Decision, event: e.Event) -> list[e.Event]:
    return [event, *run_hooks("timer_changed", fold(d.state, [event]), d)]


@decides
def decide_pause_item(command: c.PauseItem, d: Decision) -> list[e.Event]:
    current = d.state.current
    if current is None or current.paused_at is not None:
        raise Rejected("no running timer to pause")
    return _timer_changed(d, e.ItemPaused(index=current.index, at=d.now))


@decides
def decide_resume_item(command: c.ResumeItem, d: Decision) -> list[e.Event]:
    current = d.state.current
    if current is None or current.paused_at is None:
        raise Rejected("the timer is not paused")
    paused = current.paused_seconds + (d.now - current.paused_at)
    return _timer_changed(d, e.ItemResumed(index=current.index, at=d.now, paused_seconds=paused))


WARNING_SECONDS = 60


@decides
def decide_tick(command: c.Tick, d: Decision) -> list[e.Event]:
    """The clock: a one-minute warning before the current item's deadline, once."""
    events: list[e.Event] = []
    current = d.state.current
    if (current is not None and not current.warned and current.paused_at is None
            and d.now >= current.deadline - WARNING_SECONDS):
        events.append(e.ItemWarned(index=current.index, at=d.now))
    return events + run_hooks("tick", fold(d.state, events), d)


@decides
def decide_raise_hand(command: c.RaiseHand, d: Decision) -> list[e.Event]:
    if d.state.has_hand_up(d.actor.person_id):
        return []
    return [e.HandRaised(**_person(d.actor))]  # type: ignore[arg-type]


@decides
def decide_lower_hand(command: c.LowerHand, d: Decision) -> list[e.Event]:
    person_id = d.actor.person_id if command.person_id is None else command.person_id
    if person_id != d.actor.person_id and not runs_gathering(d.actor.role):
        raise Rejected("only the facilitator may lower someone else's hand", code="forbidden")
    if not d.state.has_hand_up(person_id):
        return []
    return [e.HandLowered(person_id=person_id)]


@decides
def decide_call_next_hand(command: c.CallNextHand, d: Decision) -> list[e.Event]:
    """The floor goes to the first in the queue who is here. Those who left (closed every
    tab) are passed over but keep their place: they may come back, or the facilitator
    lowers their hands."""
    if not d.state.hands:
        raise Rejected("no hands are raised")
    first = next((h for h in d.state.hands if h.person_id in d.context.here), None)
    if first is None:
        raise Rejected("nobody in the queue is here: lower the hands of those who left")
    return [
        e.SpeakerCalled(person_id=first.person_id, name=first.name, municipality=first.municipality)
    ]


@decides
def decide_send_chat(command: c.SendChat, d: Decision) -> list[e.Event]:
    text = command.text.strip()
    if not text:
        raise Rejected("an empty message cannot be sent")
    return [e.ChatPosted(**_person(d.actor), text=text, at=d.now)]  # type: ignore[arg-type]


@decides
def decide_end_gathering(command: c.EndGathering, d: Decision) -> list[e.Event]:
    return [*run_hooks("ending", d.state, d), e.GatheringEnded(at=d.now)]


# --- apply: the fold -----------------------------------------------------------------


def _ref(event: e.AttendeeArrived | e.HandRaised | e.SpeakerCalled | e.ChatPosted) -> PersonRef:
    return PersonRef(event.person_id, event.name, event.municipality)


@applies(e.AttendeeArrived)
def _apply_arrived(s: GatheringState, ev: e.AttendeeArrived) -> GatheringState:
    return replace(s, attendees=s.attendees | {ev.person_id})


@applies(e.RoomOpened)
def _apply_opened(s: GatheringState, ev: e.RoomOpened) -> GatheringState:
    return replace(s, phase=Phase.LIVE, opened_at=ev.at)


@applies(e.ItemStarted)
def _apply_started(s: GatheringState, ev: e.ItemStarted) -> GatheringState:
    # a new item ends the floor given in the last one; raised hands stay in the queue
    current = CurrentItem(ev.index, ev.started_at, ev.planned_seconds)
    return replace(s, current=current, speaker=None,
                   started_items=s.started_items | {ev.item_id})


def _with_current(s: GatheringState, **changes: object) -> GatheringState:
    assert s.current is not None
    return replace(s, current=replace(s.current, **changes))  # type: ignore[arg-type]


@applies(e.ItemExtended)
def _apply_extended(s: GatheringState, ev: e.ItemExtended) -> GatheringState:
    # more time: a warning already given may be given again before the new deadline
    return _with_current(s, extended_seconds=ev.extended_seconds, warned=False)


@applies(e.ItemPaused)
def _apply_paused(s: GatheringState, ev: e.ItemPaused) -> GatheringState:
    return _with_current(s, paused_at=ev.at)


@applies(e.ItemResumed)
def _apply_resumed(s: GatheringState, ev: e.ItemResumed) -> GatheringState:
    return _with_current(s, paused_at=None, paused_seconds=ev.paused_seconds)


@applies(e.ItemWarned)
def _apply_warned(s: GatheringState, ev: e.ItemWarned) -> GatheringState:
    return _with_current(s, warned=True)


@applies(e.HandRaised)
def _apply_raised(s: GatheringState, ev: e.HandRaised) -> GatheringState:
    return replace(s, hands=(*s.hands, _ref(ev)))


@applies(e.HandLowered)
def _apply_lowered(s: GatheringState, ev: e.HandLowered) -> GatheringState:
    return replace(s, hands=tuple(h for h in s.hands if h.person_id != ev.person_id))


@applies(e.SpeakerCalled)
def _apply_called(s: GatheringState, ev: e.SpeakerCalled) -> GatheringState:
    hands = tuple(h for h in s.hands if h.person_id != ev.person_id)
    return replace(s, hands=hands, speaker=_ref(ev))


@applies(e.ChatPosted)
def _apply_chat(s: GatheringState, ev: e.ChatPosted) -> GatheringState:
    message = ChatMessage(seq=s.version, author=_ref(ev), text=ev.text, at=ev.at)
    return replace(s, chat=(*s.chat, message)[-CHAT_KEPT:])


@applies(e.GatheringEnded)
def _apply_ended(s: GatheringState, ev: e.GatheringEnded) -> GatheringState:
    return replace(s, phase=Phase.ENDED, ended_at=ev.at, hands=(), speaker=None)
