"""The single command path of a live gathering.

check rights -> wait in the gathering's queue -> under its lock, for each batch of waiting
commands: catch up -> decide each in turn -> one commit -> one broadcast -> answer each.
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
from rooms import batches
from rooms.db import session_or_new
from rooms.store import Entry, GatheringStore, StoredEvent, VersionClash

Publish = Callable[[str, list[dict[str, Any]]], Awaitable[None]]
ContextFor = Callable[[str, Command], Awaitable[Context]]
# told (command type, seconds) after each command: its time in the store (loading the state,
# its receipt, its commit); for the server's metrics, without rooms/ knowing of them
DbTime = Callable[[str, float], None]
MAX_ATTEMPTS = 5
# commands stored in one transaction at most: a storm of a thousand joins goes in a few
# batches, and none holds the gathering for long
MAX_BATCH = 250
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


@dataclass(frozen=True)
class Sent:
    """A command as its sender sent it, waiting for its batch."""

    actor: Actor
    command: Command
    command_id: str | None


Waiting = batches.Waiting[Sent, Outcome]


@dataclass(frozen=True)
class Decided:
    """One command of a batch, decided: the state after it, what it stores (`entry`: its
    events and receipt, or None) and its answer or its refusal."""

    waiting: Waiting
    state: GatheringState
    entry: Entry | None
    answer: dict[str, Any]
    error: BaseException | None = None

    def settle(self, stored: list[StoredEvent]) -> None:
        """Answer the sender, once the batch is stored."""
        if self.error is not None:
            self.waiting.fail(self.error)
        else:
            self.waiting.succeed(Outcome(self.answer, self.state, stored))


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
        self._batches: batches.Batches[str, Sent, Outcome] = batches.Batches(
            self._run, MAX_BATCH, lambda: Rejected("the server is stopping", code="unavailable"))
        self.db_time: DbTime | None = None

    def cached(self) -> list[GatheringState]:
        """The states this process holds, as of their last use (for the clock)."""
        return list(self._states.values())

    async def drain(self) -> None:
        """Wait for the batches under way (at the stop, before the database closes)."""
        await self._batches.drain()

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
        """Run one command through the gathering's queue: commands that arrive while a batch
        is being stored wait and go together in the next one (`rooms/batches.py`)."""
        if not may_send(actor.role, command.type):
            raise Forbidden(f"{actor.role} may not send {command.type}")
        return await self._batches.submit(gathering_id, Sent(actor, command, command_id))

    async def _run(self, gathering_id: str, batch: list[Waiting]) -> None:
        """One batch, under the gathering's lock (a failure of the store, an outage, reaches
        every sender through `Batches`)."""
        spent = [0.0]
        _store_seconds.set(spent)
        try:
            async with self._locks[gathering_id]:
                loud = await self._answer_quiet(gathering_id, batch)
                if loud:
                    await self._store(gathering_id, loud)
        finally:
            if self.db_time is not None:
                for waiting in batch:
                    self.db_time(waiting.item.command.type, spent[0] / len(batch))

    async def _answer_quiet(self, gathering_id: str, batch: list[Waiting]) -> list[Waiting]:
        """Answer the joins and clock ticks (no id) that cause no event without taking the
        write lock; the rest, in order."""
        if all(w.item.command_id is not None for w in batch):
            return batch
        state = await self._fresh_state(gathering_id)
        loud = []
        for waiting in batch:
            sent = waiting.item
            if sent.command_id is None:
                context = await self.context(gathering_id, sent.command)
                try:
                    new_state, events = decide(state, sent.actor, sent.command, self.clock(),
                                               context)
                except Rejected as rejected:  # nothing to store without an id
                    waiting.fail(rejected)
                    continue
                if not events:
                    waiting.succeed(Outcome({"ok": True, "version": new_state.version},
                                            new_state, []))
                    continue
            loud.append(waiting)
        return loud

    async def _store(self, gathering_id: str, batch: list[Waiting]) -> None:
        for _ in range(MAX_ATTEMPTS):
            try:
                # the database-wide write lock: workers take turns instead of racing
                async with self.store.writing(gathering_id) as session:
                    await self._attempt(gathering_id, batch, session)
                return
            except VersionClash:
                continue  # another writer committed first: catch up and decide again
        raise Rejected("the gathering is too busy, try again", code="conflict")

    async def _attempt(self, gathering_id: str, batch: list[Waiting],
                       session: AsyncSession) -> None:
        """Decide each command on the state its predecessors in the batch left, store all
        their events and receipts in one commit, broadcast them together, then answer."""
        state = start = await self._fresh_state(gathering_id, session)
        now = self.clock()
        decided: list[Decided] = []
        entries: list[Entry] = []
        for waiting in batch:
            step = await self._decide(gathering_id, waiting, state, now, decided, session)
            decided.append(step)
            state = step.state
            if step.entry is not None:
                entries.append(step.entry)
        stored: list[list[StoredEvent]] = []
        if entries:
            with _in_store():
                stored = await self.store.commit_all(start, entries, now=now,
                                                     session=session)
        self._states[gathering_id] = state
        wires = [s.to_wire(gathering_id) for events in stored for s in events]
        if wires:
            await self.publish(gathering_id, wires)
        by_entry = iter(stored)
        for step in decided:
            step.settle(next(by_entry) if step.entry is not None else [])

    async def _decide(self, gathering_id: str, waiting: Waiting, state: GatheringState,
                      now: float, earlier: list[Decided], session: AsyncSession) -> Decided:
        actor, command, command_id = waiting.item.actor, waiting.item.command, \
            waiting.item.command_id
        if command_id is not None:
            repeat = next((d for d in earlier if d.entry is not None and d.entry.command_id ==
                           command_id and d.entry.person_id == actor.person_id), None)
            if repeat is not None:  # sent twice in one batch: the first one's answer
                return Decided(waiting, state, None, repeat.answer, repeat.error)
            with _in_store():
                first = await self.store.receipt(actor.person_id, command_id, session)
            if first is not None:
                return Decided(waiting, state, None, first)
        context = await self.context(gathering_id, command)
        try:
            new_state, events = decide(state, actor, command, now, context)
        except Rejected as rejected:
            answer = {"ok": False, "error": {"code": rejected.code, "message": rejected.reason}}
            entry = None if command_id is None else Entry(actor.person_id, (), command_id,
                                                          answer)
            return Decided(waiting, state, entry, answer, rejected)
        except Exception as exc:  # a fault in one rule fails its own command only
            return Decided(waiting, state, None, {}, exc)
        answer = {"ok": True, "version": new_state.version}
        entry = None
        if events or command_id is not None:
            entry = Entry(actor.person_id, tuple(events), command_id, answer)
        return Decided(waiting, new_state, entry, answer)

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
