"""Events: what happened in a gathering. Small named dataclasses, stored and broadcast."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

EVENT_TYPES: dict[str, type[Event]] = {}


@dataclass(frozen=True)
class Event:
    """Base of every event. A subclass with a `type` registers itself in EVENT_TYPES, so
    feature modules (breakouts, questions, ...) define their events next to their rules."""

    type: ClassVar[str] = ""
    # fields kept in the log (for the rules and moderation) but never sent to anyone:
    # who asked an anonymous question, who voted, who answered a poll what
    private: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.type:
            assert cls.type not in EVENT_TYPES, f"event type {cls.type} defined twice"
            EVENT_TYPES[cls.type] = cls

    def data(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Event:
        """Rebuild from `data()` after a JSON round trip; events with nested values override."""
        return cls(**data)


@dataclass(frozen=True)
class AttendeeArrived(Event):
    type: ClassVar[str] = "attendee.arrived"
    person_id: int
    name: str
    municipality: str | None


@dataclass(frozen=True)
class RoomOpened(Event):
    type: ClassVar[str] = "room.opened"
    at: float


@dataclass(frozen=True)
class ItemStarted(Event):
    type: ClassVar[str] = "agenda.item_started"
    index: int
    item_id: int
    started_at: float
    planned_seconds: int


@dataclass(frozen=True)
class ItemExtended(Event):
    type: ClassVar[str] = "agenda.item_extended"
    index: int
    extended_seconds: int


@dataclass(frozen=True)
class ItemPaused(Event):
    type: ClassVar[str] = "agenda.item_paused"
    index: int
    at: float


@dataclass(frozen=True)
class ItemResumed(Event):
    type: ClassVar[str] = "agenda.item_resumed"
    index: int
    at: float
    paused_seconds: float  # the item's total time paused so far


@dataclass(frozen=True)
class ItemWarned(Event):
    """One minute left of the current item."""

    type: ClassVar[str] = "agenda.item_warned"
    index: int
    at: float


@dataclass(frozen=True)
class HandRaised(Event):
    type: ClassVar[str] = "hand.raised"
    person_id: int
    name: str
    municipality: str | None


@dataclass(frozen=True)
class HandLowered(Event):
    type: ClassVar[str] = "hand.lowered"
    person_id: int


@dataclass(frozen=True)
class SpeakerCalled(Event):
    type: ClassVar[str] = "hand.called"
    person_id: int
    name: str
    municipality: str | None


@dataclass(frozen=True)
class ChatPosted(Event):
    type: ClassVar[str] = "chat.posted"
    person_id: int
    name: str
    municipality: str | None
    text: str
    at: float


@dataclass(frozen=True)
class GatheringEnded(Event):
    type: ClassVar[str] = "gathering.ended"
    at: float


def event_from(type_: str, data: dict[str, Any]) -> Event:
    return EVENT_TYPES[type_].from_data(data)


def public_data(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    """An event's data as it may be sent: without its private fields."""
    cls = EVENT_TYPES.get(type_)
    if cls is None or not cls.private:
        return data
    return {k: v for k, v in data.items() if k not in cls.private}
