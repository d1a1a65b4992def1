"""The live state of one gathering, as immutable dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from facilitation.roles import Role

CHAT_KEPT = 200  # chat messages kept in the snapshot; older ones stay in the event log


class Phase(StrEnum):
    LOBBY = "lobby"
    LIVE = "live"
    ENDED = "ended"


@dataclass(frozen=True)
class Actor:
    """The person sending a command, with their role in the gathering's theme."""

    person_id: int
    name: str
    role: Role
    municipality: str | None = None


@dataclass(frozen=True)
class AgendaSlot:
    id: int
    title: str
    kind: str
    planned_minutes: int


@dataclass(frozen=True)
class CurrentItem:
    index: int
    started_at: float
    planned_seconds: int
    extended_seconds: int = 0

    @property
    def deadline(self) -> float:
        return self.started_at + self.planned_seconds + self.extended_seconds


@dataclass(frozen=True)
class PersonRef:
    person_id: int
    name: str
    municipality: str | None


@dataclass(frozen=True)
class ChatMessage:
    seq: int
    author: PersonRef
    text: str
    at: float


@dataclass(frozen=True)
class GatheringState:
    gathering_id: str
    agenda: tuple[AgendaSlot, ...]
    version: int = 0
    phase: Phase = Phase.LOBBY
    current: CurrentItem | None = None
    hands: tuple[PersonRef, ...] = ()
    speaker: PersonRef | None = None
    chat: tuple[ChatMessage, ...] = ()
    attendees: frozenset[int] = field(default_factory=frozenset)
    opened_at: float | None = None
    ended_at: float | None = None

    def has_hand_up(self, person_id: int) -> bool:
        return any(h.person_id == person_id for h in self.hands)

    def current_slot(self) -> AgendaSlot | None:
        return None if self.current is None else self.agenda[self.current.index]
