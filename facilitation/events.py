"""Events: what happened in a gathering. Small named dataclasses, stored and broadcast."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    type: ClassVar[str] = ""

    def data(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        AttendeeArrived,
        RoomOpened,
        ItemStarted,
        ItemExtended,
        HandRaised,
        HandLowered,
        SpeakerCalled,
        ChatPosted,
        GatheringEnded,
    )
}


def event_from(type_: str, data: dict[str, Any]) -> Event:
    return EVENT_TYPES[type_](**data)
