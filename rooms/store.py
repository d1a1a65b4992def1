"""Persistence of live gatherings: the plan, the event log and command receipts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitation import AgendaSlot, Event, GatheringState, fold
from facilitation.events import event_from, public_data
from facilitation.state import BreakoutPlan, PollPlan
from rooms.db import session_or_new, write_locked
from rooms.models import AgendaItem, CommandReceipt, Gathering, GatheringEvent

# first key of PostgreSQL's two-key advisory locks taken here: "one writer per gathering"
WRITER_LOCK_SPACE = 0x4B4C  # "KL"


def _slot(item: AgendaItem) -> AgendaSlot:
    settings = item.settings or {}
    plan = BreakoutPlan.from_settings(settings) if item.kind == "breakout" else None
    checkin = PollPlan.from_settings(settings.get("poll")) if item.kind == "welcome" else None
    follow_ups = bool(settings.get("follow_ups")) and item.kind in ("plenary", "breakout")
    return AgendaSlot(item.id, item.title, item.kind, item.planned_minutes,
                      expert_id=item.expert_id, breakout=plan, checkin_poll=checkin,
                      follow_ups=follow_ups)


class VersionClash(Exception):
    """Another writer committed at the same version first."""


@dataclass(frozen=True)
class StoredEvent:
    version: int
    type: str
    data: dict[str, Any]

    def to_wire(self, gathering_id: str) -> dict[str, Any]:
        """As sent to clients: the event's private fields (who voted, who answered a poll
        what, who asked anonymously) stay in the log."""
        return {"gathering": gathering_id, "version": self.version, "type": self.type,
                "data": public_data(self.type, self.data)}


@dataclass(frozen=True)
class Entry:
    """One command's part of a commit: who sent it, its events, and its receipt (the answer
    a repeat of its id gets) when it came with an id."""

    person_id: int
    events: tuple[Event, ...]
    command_id: str | None = None
    answer: dict[str, Any] | None = None


class GatheringStore:
    """Every method takes an optional `session`: the one `writing()` gives, so a command's
    reads and its commit happen under the gathering's write lock on one connection."""

    def __init__(self, sessions: async_sessionmaker) -> None:
        self.sessions = sessions

    def _session(self, session: AsyncSession | None) -> AbstractAsyncContextManager[AsyncSession]:
        return session_or_new(self.sessions, session)

    @asynccontextmanager
    async def writing(self, gathering_id: str) -> AsyncIterator[AsyncSession]:
        """A session that holds the gathering's write lock, across all worker processes,
        until it commits or ends: one command at a time reads, decides and commits.

        Optimistic retries alone starve a worker: the loser of a clash learns of it only
        when the winner commits, and by then the winner's next command is already reading,
        so it loses again (25 times in a row with two busy workers). PostgreSQL: an
        advisory lock for the transaction, waiters queue in order. SQLite: BEGIN IMMEDIATE
        takes the database's write lock up front. The unique (gathering, seq) stays the
        guarantee; the lock only makes clashes rare."""
        async with write_locked(self.sessions, WRITER_LOCK_SPACE, gathering_id) as session:
            yield session

    async def gathering(
        self, gathering_id: str, session: AsyncSession | None = None
    ) -> Gathering | None:
        async with self._session(session) as s:
            return await s.get(Gathering, gathering_id)

    async def initial_state(
        self, gathering_id: str, session: AsyncSession | None = None
    ) -> GatheringState | None:
        gathering = await self.gathering(gathering_id, session)
        if gathering is None:
            return None
        agenda = tuple(_slot(item) for item in gathering.items)
        return GatheringState(gathering_id=gathering_id, agenda=agenda)

    async def events_since(
        self, gathering_id: str, version: int, session: AsyncSession | None = None
    ) -> list[StoredEvent]:
        async with self._session(session) as s:
            rows = await s.scalars(
                select(GatheringEvent)
                .where(GatheringEvent.gathering_id == gathering_id, GatheringEvent.seq > version)
                .order_by(GatheringEvent.seq)
            )
            return [StoredEvent(r.seq, r.type, r.data) for r in rows]

    async def log_rewrites(
        self, gathering_id: str, session: AsyncSession | None = None
    ) -> int | None:
        """How often the gathering's log was rewritten in place (rooms/privacy.py): a state
        folded before the count changed is stale. None if there is no such gathering."""
        async with self._session(session) as s:
            value = await s.scalar(
                select(Gathering.log_rewrites).where(Gathering.id == gathering_id))
            return None if value is None else int(value)

    async def catch_up(
        self, state: GatheringState, session: AsyncSession | None = None
    ) -> GatheringState:
        """Fold in whatever other workers committed since `state.version`."""
        stored = await self.events_since(state.gathering_id, state.version, session)
        return fold(state, (event_from(s.type, s.data) for s in stored))

    async def receipt(
        self, person_id: int, command_id: str, session: AsyncSession | None = None
    ) -> dict[str, Any] | None:
        async with self._session(session) as s:
            row = await s.scalar(
                select(CommandReceipt).where(
                    CommandReceipt.person_id == person_id, CommandReceipt.command_id == command_id
                )
            )
            return None if row is None else row.answer

    async def commit(
        self,
        state: GatheringState,
        events: Sequence[Event],
        *,
        person_id: int,
        command_id: str | None,
        answer: dict[str, Any],
        now: float,
        session: AsyncSession | None = None,
    ) -> list[StoredEvent]:
        """Append `events` after `state.version` with the command's receipt, atomically.

        Raises VersionClash when another writer took one of those versions."""
        entry = Entry(person_id, tuple(events), command_id, answer)
        return (await self.commit_all(state, [entry], now=now, session=session))[0]

    async def commit_all(
        self, state: GatheringState, entries: Sequence[Entry], *, now: float,
        session: AsyncSession | None = None,
    ) -> list[list[StoredEvent]]:
        """Append several commands' events one after another from `state.version`, with their
        receipts, in one transaction (a group commit): all of them or none. The stored
        events of each entry, in order. Raises VersionClash as `commit`."""
        version = state.version
        stored: list[list[StoredEvent]] = []
        for entry in entries:
            stored.append([StoredEvent(version + n, ev.type, ev.data())
                           for n, ev in enumerate(entry.events, 1)])
            version += len(entry.events)
        async with self._session(session) as s:
            for entry, events in zip(entries, stored, strict=True):
                s.add_all(GatheringEvent(gathering_id=state.gathering_id, seq=ev.version,
                                         type=ev.type, data=ev.data, at=now,
                                         person_id=entry.person_id) for ev in events)
                if entry.command_id is not None:
                    s.add(CommandReceipt(person_id=entry.person_id, command_id=entry.command_id,
                                         gathering_id=state.gathering_id, answer=entry.answer,
                                         at=now))
            try:
                await s.commit()
            except IntegrityError as clash:
                await s.rollback()
                raise VersionClash from clash
        return stored
