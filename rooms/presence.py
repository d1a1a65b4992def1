"""Who is in a gathering's room right now, across all worker processes.

A person may be connected from several tabs or devices; they arrive with their first
connection and leave with their last. With Redis the counts are shared by all workers
(python-socketio's own participant list only sees local clients).

Every arrival and departure of a person (and every change of a present person's entry: their
project's stage, `update`) is a `Change` carrying the gathering's presence
revision (`rev`): a number that only grows, taken atomically with the change. A snapshot
reads the people and the revision together (`roster`), so a client can tell which changes
its snapshot already holds, and changes broadcast by several workers may reach it in any
order (see docs/protocol.md, "Presence").

With Redis, each worker owns the connections it counted: they are kept per worker, and hang
on the worker's one heartbeat (rooms/worker.py; `RedisPresence.alive`). When a worker dies without
saying goodbye its key expires, and the next sweep by any other worker takes its people
out (a `presence.left` for those who had no other connection). A worker that was only
stalled past its key's life finds its key gone at its next heartbeat and counts its
connections again.

`PresenceFeed` coalesces the changes a worker causes into one broadcast per gathering per
short window: seating a room of N people is then N small entries in a few messages, not
N messages to N people each."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis

from rooms.worker import Worker

log = logging.getLogger(__name__)

# How long a worker's presence changes wait to be broadcast together. Seating a room makes
# one change per person; broadcasting each to everyone present is N² deliveries, which took
# ~5 s for 200 people. 150 ms batches a burst of joins into a few messages, yet is below what
# a person notices in a list of names.
PRESENCE_WINDOW = 0.15


@dataclass(frozen=True)
class Change:
    """A person's first connection arrived or their entry changed (`person` set: the entry
    now), or their last connection left."""

    person_id: int
    rev: int
    person: dict[str, Any] | None = None

    @property
    def joined(self) -> bool:
        return self.person is not None

    def to_wire(self) -> dict[str, Any]:
        if self.person is not None:
            return {"type": "presence.joined", "data": self.person, "rev": self.rev}
        return {"type": "presence.left", "data": {"person_id": self.person_id}, "rev": self.rev}


@dataclass(frozen=True)
class Roster:
    """Who is present, and the presence revision they reflect (0: nobody ever was)."""

    people: list[dict[str, Any]]
    rev: int


Report = Callable[[str, Change], None]


class Presence(Protocol):
    async def arrive(self, gathering_id: str, person: dict[str, Any]) -> Change | None:
        """Count one more connection; a Change when it is the person's first."""

    async def leave(self, gathering_id: str, person_id: int) -> Change | None:
        """Count one connection less; a Change when it was the person's last."""

    async def people(self, gathering_id: str) -> list[dict[str, Any]]: ...

    async def roster(self, gathering_id: str) -> Roster: ...

    async def update(self, gathering_id: str, person_id: int,
                     fields: dict[str, Any]) -> Change | None:
        """Replace these fields of a present person's entry (their project's stage changed);
        a Change carrying the new entry when they are present and it changed."""

    def alive(self, report: Report) -> contextlib.AbstractAsyncContextManager[None]:
        """While serving: keep this worker's entries alive; `report` gets the changes that
        no arrive or leave of ours caused (another worker's people swept away)."""


class MemoryPresence:
    """One process: nothing to share, nothing can die without us."""

    def __init__(self) -> None:
        self._counts: defaultdict[str, dict[int, int]] = defaultdict(dict)
        self._people: defaultdict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
        self._revs = itertools.count(1)
        self._rev: dict[str, int] = {}

    def _change(self, gathering_id: str, person_id: int,
                person: dict[str, Any] | None) -> Change:
        rev = self._rev[gathering_id] = next(self._revs)
        return Change(person_id, rev, person)

    async def arrive(self, gathering_id: str, person: dict[str, Any]) -> Change | None:
        counts = self._counts[gathering_id]
        person_id = person["person_id"]
        counts[person_id] = counts.get(person_id, 0) + 1
        self._people[gathering_id][person_id] = person
        return self._change(gathering_id, person_id, person) if counts[person_id] == 1 else None

    async def leave(self, gathering_id: str, person_id: int) -> Change | None:
        counts = self._counts[gathering_id]
        counts[person_id] = counts.get(person_id, 0) - 1
        if counts[person_id] > 0:
            return None
        counts.pop(person_id, None)
        self._people[gathering_id].pop(person_id, None)
        return self._change(gathering_id, person_id, None)

    async def people(self, gathering_id: str) -> list[dict[str, Any]]:
        return list(self._people[gathering_id].values())

    async def roster(self, gathering_id: str) -> Roster:
        return Roster(await self.people(gathering_id), self._rev.get(gathering_id, 0))

    async def update(self, gathering_id: str, person_id: int,
                     fields: dict[str, Any]) -> Change | None:
        people = self._people.get(gathering_id, {})
        entry = people.get(person_id)
        if entry is None or {**entry, **fields} == entry:
            return None
        people[person_id] = {**entry, **fields}
        return self._change(gathering_id, person_id, people[person_id])

    @contextlib.asynccontextmanager
    async def alive(self, report: Report) -> AsyncIterator[None]:
        yield


# Redis keys, under the prefix P:
#   P:<gathering>:count            hash person -> connections, all workers together
#   P:<gathering>:people           hash person -> presence entry (JSON)
#   P:<gathering>:rev              the gathering's presence revision
#   P:<gathering>:w:<worker>       hash person -> connections counted by that worker
#   P:workers                      set of workers that may hold entries
#   P:workers:<worker>:gatherings  set of gatherings where the worker holds entries
# and, outside this prefix, each worker's heartbeat key (rooms/worker.py).
# The sweep builds keys from the prefix inside its script: fine on one Redis server (not a
# Redis Cluster, which this project does not use).
#
# The revision is deleted with the gathering's last entry (nothing is left behind) and
# started again from the Redis server's clock in microseconds, so it still only grows: it
# would take more than one change per microsecond to catch up with the clock.
_NEXT_REV = """
local function next_rev(rev_key, count_key)
  if redis.call('EXISTS', rev_key) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', rev_key, string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2])))
  end
  local rev = redis.call('INCR', rev_key)
  if redis.call('EXISTS', count_key) == 0 then redis.call('DEL', rev_key) end
  return rev
end
"""

# KEYS: count, people, rev, own, worker's gatherings, workers; ARGV: person, entry,
# gathering, worker. Answers the new revision when this is the person's first connection.
_ARRIVE = _NEXT_REV + """
redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
redis.call('SADD', KEYS[5], ARGV[3])
redis.call('SADD', KEYS[6], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if redis.call('HINCRBY', KEYS[1], ARGV[1], 1) == 1 then return next_rev(KEYS[3], KEYS[1]) end
return 0
"""

# Same keys; ARGV: person, gathering, worker. Decrement and, at zero, forget the person, in
# one step: as separate commands, an arrival on another worker in between (a page reload)
# was wiped out. A connection the worker no longer holds (swept while it was stalled) is not
# taken off the total twice. Answers the new revision when it was the person's last.
_LEAVE = _NEXT_REV + """
local mine = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0')
if mine <= 0 then return 0 end
if mine == 1 then
  redis.call('HDEL', KEYS[4], ARGV[1])
  if redis.call('EXISTS', KEYS[4]) == 0 then
    redis.call('SREM', KEYS[5], ARGV[2])
    if redis.call('EXISTS', KEYS[5]) == 0 then redis.call('SREM', KEYS[6], ARGV[3]) end
  end
else
  redis.call('HINCRBY', KEYS[4], ARGV[1], -1)
end
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) > 0 then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return next_rev(KEYS[3], KEYS[1])
"""

# Same keys; ARGV: person, connections the worker holds, entry, gathering, worker. After the
# worker's entries were swept: count again what it holds (only ever adds). Answers the new
# revision when the person was absent.
_RESTORE = _NEXT_REV + """
local have = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0')
local add = tonumber(ARGV[2]) - have
if add <= 0 then return 0 end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[5], ARGV[4])
redis.call('SADD', KEYS[6], ARGV[5])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if redis.call('HINCRBY', KEYS[1], ARGV[1], add) == add then return next_rev(KEYS[3], KEYS[1]) end
return 0
"""

# KEYS: count, people, rev; ARGV: person, the entry as read, the entry to write. Replaces a
# present person's entry if nobody changed it since it was read; answers the new revision.
_UPDATE = _NEXT_REV + """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return next_rev(KEYS[3], KEYS[1])
"""

# KEYS: workers; ARGV: prefix, worker, '1' to retire oneself (else only a worker whose
# heartbeat expired), the worker's heartbeat key (rooms/worker.py). Takes all the worker's
# entries out, atomically, so exactly one sweeper reports each person who left: answers
# gathering, person, revision, ...
_SWEEP = _NEXT_REV + """
local p, w = ARGV[1], ARGV[2]
if ARGV[3] ~= '1' and redis.call('EXISTS', ARGV[4]) == 1 then return {} end
local out = {}
local mine = p .. ':workers:' .. w .. ':gatherings'
for _, g in ipairs(redis.call('SMEMBERS', mine)) do
  local at = p .. ':' .. g
  local own, count, people = at .. ':w:' .. w, at .. ':count', at .. ':people'
  local held = redis.call('HGETALL', own)
  for i = 1, #held, 2 do
    if redis.call('HINCRBY', count, held[i], -tonumber(held[i + 1])) <= 0 then
      redis.call('HDEL', count, held[i])
      redis.call('HDEL', people, held[i])
      table.insert(out, g)
      table.insert(out, held[i])
      table.insert(out, next_rev(at .. ':rev', count))
    end
  end
  redis.call('DEL', own)
end
redis.call('DEL', mine)
redis.call('SREM', KEYS[1], w)
return out
"""


class _Gate:
    """Many arrivals and leaves at once, or one recount alone: the worker's own ledger and
    its entries in Redis must not move while it counts them again."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._inside = 0
        self._alone = False

    @contextlib.asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._alone)
            self._inside += 1
        try:
            yield
        finally:
            async with self._changed:
                self._inside -= 1
                self._changed.notify_all()

    @contextlib.asynccontextmanager
    async def alone(self) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._alone and self._inside == 0)
            self._alone = True
        try:
            yield
        finally:
            async with self._changed:
                self._alone = False
                self._changed.notify_all()


class RedisPresence:
    """Presence shared by the workers through Redis. Each worker's entries hang on its
    heartbeat (rooms/worker.py): `alive` adds this presence's part to every beat."""

    def __init__(self, redis: Redis, worker: Worker, prefix: str = "forum:presence") -> None:
        self.redis = redis
        self.prefix = prefix
        self.worker = worker
        self._arrive = redis.register_script(_ARRIVE)
        self._leave = redis.register_script(_LEAVE)
        self._restore = redis.register_script(_RESTORE)
        self._sweep = redis.register_script(_SWEEP)
        self._update = redis.register_script(_UPDATE)
        # what this worker counted: gathering -> person -> (connections, entry)
        self._held: defaultdict[str, dict[int, tuple[int, dict[str, Any]]]] = defaultdict(dict)
        self._gate = _Gate()

    @property
    def workers_key(self) -> str:
        return f"{self.prefix}:workers"

    def gatherings_key(self, worker: str) -> str:
        """The gatherings where a worker holds entries."""
        return f"{self.prefix}:workers:{worker}:gatherings"

    def _keys(self, gathering_id: str) -> list[str]:
        p = f"{self.prefix}:{gathering_id}"
        return [f"{p}:count", f"{p}:people", f"{p}:rev", f"{p}:w:{self.worker.id}",
                self.gatherings_key(self.worker.id), self.workers_key]

    async def arrive(self, gathering_id: str, person: dict[str, Any]) -> Change | None:
        person_id = person["person_id"]
        async with self._gate.shared():
            rev = await self._arrive(keys=self._keys(gathering_id), args=[
                str(person_id), json.dumps(person), gathering_id, self.worker.id])
            held = self._held[gathering_id]
            held[person_id] = (held.get(person_id, (0, person))[0] + 1, person)
        return Change(person_id, int(rev), person) if int(rev) else None

    async def leave(self, gathering_id: str, person_id: int) -> Change | None:
        async with self._gate.shared():
            rev = await self._leave(keys=self._keys(gathering_id), args=[
                str(person_id), gathering_id, self.worker.id])
            held = self._held[gathering_id]
            count, person = held.get(person_id, (1, {}))
            if count > 1:
                held[person_id] = (count - 1, person)
            else:
                held.pop(person_id, None)
                if not held:
                    del self._held[gathering_id]
        return Change(person_id, int(rev)) if int(rev) else None

    async def people(self, gathering_id: str) -> list[dict[str, Any]]:
        return (await self.roster(gathering_id)).people

    async def roster(self, gathering_id: str) -> Roster:
        _, people_key, rev_key = self._keys(gathering_id)[:3]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hvals(people_key)
            pipe.get(rev_key)
            raw, rev = await pipe.execute()
        return Roster([json.loads(value) for value in raw], int(rev or 0))

    async def update(self, gathering_id: str, person_id: int,
                     fields: dict[str, Any]) -> Change | None:
        keys = self._keys(gathering_id)[:3]
        for _ in range(5):  # the entry changed between reading and writing it: read again
            raw = await self.redis.hget(keys[1], str(person_id))
            if raw is None:
                return None
            entry = json.loads(raw)
            if {**entry, **fields} == entry:
                return None
            entry.update(fields)
            rev = int(await self._update(keys=keys, args=[str(person_id), raw,
                                                          json.dumps(entry)]))
            if rev:
                held = self._held.get(gathering_id, {})
                if person_id in held:  # a recount after a lapse writes what we hold
                    held[person_id] = (held[person_id][0], entry)
                return Change(person_id, rev, entry)
        return None

    # -- the heartbeat -------------------------------------------------------------------------

    async def beat(self) -> list[tuple[str, Change]]:
        """Beat this worker's heartbeat and do presence's part of it (`on_beat`)."""
        return await self.recount(await self.worker.beat())

    async def recount(self, lapsed: bool) -> list[tuple[str, Change]]:
        """After a beat: if our heartbeat key had lapsed (we were stalled, or Redis was
        away), our entries may have been swept: count what we hold again, and answer the
        people that brought back."""
        if not lapsed:
            return []
        changes: list[tuple[str, Change]] = []
        async with self._gate.alone():
            for gathering_id, held in list(self._held.items()):
                for person_id, (count, person) in list(held.items()):
                    rev = await self._restore(keys=self._keys(gathering_id), args=[
                        str(person_id), count, json.dumps(person), gathering_id,
                        self.worker.id])
                    if int(rev):
                        changes.append((gathering_id, Change(person_id, int(rev), person)))
        return changes

    async def sweep(self) -> list[tuple[str, Change]]:
        """Take out the entries of every worker whose heartbeat key expired; answer the
        people who left with them (they had no connection on a living worker)."""
        workers = await self.redis.smembers(self.workers_key)
        changes: list[tuple[str, Change]] = []
        for worker in workers:
            worker = worker if isinstance(worker, str) else worker.decode()
            if worker != self.worker.id:
                changes += await self._take_out(worker, retire=False)
        return changes

    async def retire(self) -> list[tuple[str, Change]]:
        """Leaving for good (a graceful stop): take our entries out at once."""
        async with self._gate.alone():
            self._held.clear()
            return await self._take_out(self.worker.id, retire=True)

    async def _take_out(self, worker: str, retire: bool) -> list[tuple[str, Change]]:
        out = await self._sweep(keys=[self.workers_key], args=[
            self.prefix, worker, "1" if retire else "0", self.worker.heartbeat_key(worker)])
        return [(_text(out[i]), Change(int(out[i + 1]), int(out[i + 2])))
                for i in range(0, len(out), 3)]

    @contextlib.asynccontextmanager
    async def alive(self, report: Report) -> AsyncIterator[None]:
        """While serving: at every beat of this worker, count again what we hold if the beat
        had lapsed, and sweep the entries of workers whose beat stopped; retire at the end."""

        async def on_beat(lapsed: bool) -> None:
            for gathering_id, change in await self.recount(lapsed) + await self.sweep():
                report(gathering_id, change)

        self.worker.on_beat(on_beat)
        try:
            async with self.worker.alive():
                yield
        finally:
            self.worker.off_beat(on_beat)
            try:
                for gathering_id, change in await self.retire():
                    report(gathering_id, change)
            except Exception:  # others sweep us once our key expires
                log.exception("presence: retiring this worker's entries failed")


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode()


class PresenceFeed:
    """This worker's presence changes, broadcast per gathering at most once per `window`.

    The first change of a quiet gathering starts its window; every change until it ends
    goes into the same broadcast. A person changed twice in one window is sent once, as
    their latest change (a join then a leave is a leave). Entries go out in revision order.
    Each worker feeds only what its own connections (or its sweep) caused; the revisions
    let clients put several workers' broadcasts in order."""

    def __init__(self, publish: Callable[[str, list[Change]], Awaitable[None]],
                 window: float = PRESENCE_WINDOW) -> None:
        self.publish = publish
        self.window = window
        self._pending: dict[str, dict[int, Change]] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}  # gathering -> its open window
        self._tasks: set[asyncio.Task[None]] = set()  # held until done (the loop holds weakly)

    def add(self, gathering_id: str, change: Change) -> None:
        pending = self._pending.setdefault(gathering_id, {})
        known = pending.get(change.person_id)
        if known is None or known.rev < change.rev:
            pending[change.person_id] = change
        if gathering_id not in self._timers:
            task = asyncio.create_task(self._flush_later(gathering_id))
            self._timers[gathering_id] = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush_later(self, gathering_id: str) -> None:
        await asyncio.sleep(self.window)
        await self.flush(gathering_id)

    async def flush(self, gathering_id: str) -> None:
        """Broadcast what is pending for the gathering now."""
        self._timers.pop(gathering_id, None)
        pending = self._pending.pop(gathering_id, None)
        if not pending:
            return
        try:
            await self.publish(gathering_id, sorted(pending.values(), key=lambda c: c.rev))
        except Exception:  # clients still converge: their next snapshot is the truth
            log.exception("presence: broadcasting changes of %s failed", gathering_id)

    async def close(self) -> None:
        """Broadcast everything pending now (at shutdown)."""
        for timer in self._timers.values():  # windows still open; the rest are publishing
            timer.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for gathering_id in list(self._pending):
            await self.flush(gathering_id)
