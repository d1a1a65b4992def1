"""The single command path of a live gathering.

check rights -> under the gathering's lock: catch up -> decide -> commit -> broadcast.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from facilitation import Actor, Command, GatheringState, Rejected, decide
from facilitation.roles import may_send
from facilitation.state import Context
from rooms.db import session_or_new
from rooms.store import GatheringStore, StoredEvent, VersionClash

Publish = Callable[[str, list[dict[str, Any]]], Awaitable[None]]
ContextFor = Callable[[str, Command], Awaitable[Context]]
# told (command type, seconds) after each command: its time in the store (loading the state,
# its receipt, its commit); for the server's metrics, without rooms/ knowing of them
DbTime = Callable[[str, float], None]
MAX_ATTEMPTS = 5
# the store seconds of the command this task is executing, while someone listens (`db_time`)
_store_seconds: ContextVar[list[float] | None] = ContextVar("store_seconds", default=None)


@contextlib.contextmanager
def _in_store() -> Iterator[None]:
    """Count the time inside toward the executing command's store seconds."""
    spent = _store_seconds.get()
    if spent is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        spent[0] += time.perf_counter() - start


class Forbidden(Exception):
    """The sender's role does not allow this command."""


class GatheringNotFound(Exception):
    pass


@dataclass(frozen=True)
class Outcome:
    answer: dict[str, Any]
    state: GatheringState
    events: list[StoredEvent]


async def no_context(gathering_id: str, command: Command) -> Context:
    return Context()


class LiveRooms:
    def __init__(
        self,
        store: GatheringStore,
        publish: Publish,
        clock: Callable[[], float] = time.time,
        context: ContextFor = no_context,
    ) -> None:
        self.store = store
        self.publish = publish
        self.clock = clock
        self.context = context
        self._states: dict[str, GatheringState] = {}
        # each cached state's gathering's `log_rewrites` when it was folded from scratch
        self._rewrites: dict[str, int] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.db_time: DbTime | None = None

    def cached(self) -> list[GatheringState]:
        """The states this process holds, as of their last use (for the clock)."""
        return list(self._states.values())

    def forget(self, gathering_id: str) -> None:
        """Drop the cached state: its log was rewritten (a person erased, rooms/privacy.py).
        A shortcut for this worker: the others notice `log_rewrites` (`_fresh_state`)."""
        self._states.pop(gathering_id, None)
        self._rewrites.pop(gathering_id, None)

    async def state(self, gathering_id: str) -> GatheringState:
        async with self._locks[gathering_id]:
            return await self._fresh_state(gathering_id)

    async def execute(
        self, actor: Actor, gathering_id: str, command: Command, command_id: str | None = None
    ) -> Outcome:
        if not may_send(actor.role, command.type):
            raise Forbidden(f"{actor.role} may not send {command.type}")
        if self.db_time is None:
            return await self._execute(actor, gathering_id, command, command_id)
        spent = [0.0]
        token = _store_seconds.set(spent)
        try:
            return await self._execute(actor, gathering_id, command, command_id)
        finally:
            _store_seconds.reset(token)
            self.db_time(command.type, spent[0])

    async def _execute(
        self, actor: Actor, gathering_id: str, command: Command, command_id: str | None
    ) -> Outcome:
        async with self._locks[gathering_id]:
            if command_id is None:  # joins and clock ticks: most change nothing
                quiet = await self._quiet(actor, gathering_id, command)
                if quiet is not None:
                    return quiet
            for _ in range(MAX_ATTEMPTS):
                try:
                    # the database-wide write lock: workers take turns instead of racing
                    async with self.store.writing(gathering_id) as session:
                        if command_id is not None:
                            with _in_store():
                                first = await self.store.receipt(actor.person_id,
                                                                 command_id, session)
                            if first is not None:
                                state = await self._fresh_state(gathering_id, session)
                                return Outcome(first, state, [])
                        return await self._attempt(actor, gathering_id, command, command_id,
                                                   session)
                except VersionClash:
                    continue  # another writer committed first: catch up and decide again
        raise Rejected("the gathering is too busy, try again", code="conflict")

    async def _quiet(self, actor: Actor, gathering_id: str, command: Command) -> Outcome | None:
        """The outcome without taking the write lock, if the command causes no event."""
        state = await self._fresh_state(gathering_id)
        context = await self.context(gathering_id, command)
        new_state, events = decide(state, actor, command, self.clock(), context)
        if events:
            return None
        return Outcome({"ok": True, "version": new_state.version}, new_state, [])

    async def _attempt(
        self, actor: Actor, gathering_id: str, command: Command, command_id: str | None,
        session: AsyncSession,
    ) -> Outcome:
        state = await self._fresh_state(gathering_id, session)
        context = await self.context(gathering_id, command)
        now = self.clock()
        try:
            new_state, events = decide(state, actor, command, now, context)
        except Rejected as rejected:
            if command_id is not None:
                answer = {"ok": False, "error": {"code": rejected.code,
                                                 "message": rejected.reason}}
                with _in_store():
                    await self.store.commit(state, [], person_id=actor.person_id,
                                            command_id=command_id, answer=answer, now=now,
                                            session=session)
            raise
        answer = {"ok": True, "version": new_state.version}
        if events or command_id is not None:
            with _in_store():
                stored = await self.store.commit(state, events, person_id=actor.person_id,
                                                 command_id=command_id, answer=answer,
                                                 now=now, session=session)
        else:
            stored = []
        self._states[gathering_id] = new_state
        if stored:
            await self.publish(gathering_id, [s.to_wire(gathering_id) for s in stored])
        return Outcome(answer, new_state, stored)

    async def _fresh_state(
        self, gathering_id: str, session: AsyncSession | None = None
    ) -> GatheringState:
        """The cached state, caught up; folded afresh when the log was rewritten in place
        (a person erased, on any worker): catching up reads only newer events. The count is
        read before the events, so a rewrite committed in between is seen next time."""
        with _in_store():
            async with session_or_new(self.store.sessions, session) as s:  # one connection
                rewrites = await self.store.log_rewrites(gathering_id, s)
                if rewrites is None:
                    raise GatheringNotFound(gathering_id)
                state = self._states.get(gathering_id)
                if state is None or self._rewrites.get(gathering_id) != rewrites:
                    state = await self.store.initial_state(gathering_id, s)
                    if state is None:
                        raise GatheringNotFound(gathering_id)
                state = await self.store.catch_up(state, s)
        self._states[gathering_id] = state
        self._rewrites[gathering_id] = rewrites
        return state
