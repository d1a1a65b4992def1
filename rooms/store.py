"""Persistence of live gatherings: the plan, the event log and command receipts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import AgendaSlot, Event, GatheringState, fold
from facilitation.events import event_from
from rooms.models import CommandReceipt, Gathering, GatheringEvent


class VersionClash(Exception):
    """Another writer committed at the same version first."""


@dataclass(frozen=True)
class StoredEvent:
    version: int
    type: str
    data: dict[str, Any]

    def to_wire(self, gathering_id: str) -> dict[str, Any]:
        return {"gathering": gathering_id, "version": self.version, "type": self.type,
                "data": self.data}


class GatheringStore:
    def __init__(self, sessions: async_sessionmaker) -> None:
        self.sessions = sessions

    async def gathering(self, gathering_id: str) -> Gathering | None:
        async with self.sessions() as session:
            return await session.get(Gathering, gathering_id)

    async def initial_state(self, gathering_id: str) -> GatheringState | None:
        gathering = await self.gathering(gathering_id)
        if gathering is None:
            return None
        agenda = tuple(
            AgendaSlot(i.id, i.title, i.kind, i.planned_minutes) for i in gathering.items
        )
        return GatheringState(gathering_id=gathering_id, agenda=agenda)

    async def events_since(self, gathering_id: str, version: int) -> list[StoredEvent]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(GatheringEvent)
                .where(GatheringEvent.gathering_id == gathering_id, GatheringEvent.seq > version)
                .order_by(GatheringEvent.seq)
            )
            return [StoredEvent(r.seq, r.type, r.data) for r in rows]

    async def catch_up(self, state: GatheringState) -> GatheringState:
        """Fold in whatever other workers committed since `state.version`."""
        stored = await self.events_since(state.gathering_id, state.version)
        return fold(state, (event_from(s.type, s.data) for s in stored))

    async def receipt(self, person_id: int, command_id: str) -> dict[str, Any] | None:
        async with self.sessions() as session:
            row = await session.scalar(
                select(CommandReceipt).where(
                    CommandReceipt.person_id == person_id, CommandReceipt.command_id == command_id
                )
            )
            return None if row is None else row.answer

    async def commit(
        self,
        state: GatheringState,
        events: list[Event],
        *,
        person_id: int,
        command_id: str | None,
        answer: dict[str, Any],
        now: float,
    ) -> list[StoredEvent]:
        """Append `events` after `state.version` with the command's receipt, atomically.

        Raises VersionClash when another writer took one of those versions."""
        stored = [
            StoredEvent(state.version + n, ev.type, ev.data()) for n, ev in enumerate(events, 1)
        ]
        async with self.sessions() as session:
            session.add_all(
                GatheringEvent(gathering_id=state.gathering_id, seq=s.version, type=s.type,
                               data=s.data, at=now, person_id=person_id)
                for s in stored
            )
            if command_id is not None:
                session.add(CommandReceipt(person_id=person_id, command_id=command_id,
                                           gathering_id=state.gathering_id, answer=answer, at=now))
            try:
                await session.commit()
            except IntegrityError as clash:
                raise VersionClash from clash
        return stored
