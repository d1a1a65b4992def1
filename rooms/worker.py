"""This process among the deployment's worker processes: one identity and one heartbeat.

With Redis, every worker keeps a heartbeat key, `<prefix>:workers:<id>`, alive for `ttl`
seconds and renews it every third of that. Whatever a worker holds on behalf of the others
hangs on that one beat: its presence entries (rooms/presence.py sweeps the entries of a
worker whose key expired) and the plenary stages it owns (signaling/stage_router.py renews
their owner keys in the same beat, and gives up one another worker took). A worker that was
stalled past its key's life learns it at its next beat (`lapsed`), so each part can count
again what it holds.

Without Redis there is one process and nothing to beat for."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from redis.asyncio import Redis

from rooms.faults import Faults
from rooms.tasks import stop

log = logging.getLogger(__name__)

WORKER_TTL = 15  # seconds a worker's heartbeat key lives without a beat

OnBeat = Callable[[bool], Awaitable[None]]  # called with `lapsed` after every beat


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Worker:
    def __init__(self, redis: Redis | None, prefix: str = "forum", ttl: float = WORKER_TTL,
                 worker_id: str | None = None, faults: Faults | None = None) -> None:
        self.redis = redis
        self.faults = faults or Faults()
        self.prefix = prefix
        self.ttl = ttl
        self.id = worker_id or new_worker_id()
        self._on_beat: list[OnBeat] = []
        self._users = 0
        self._loop: asyncio.Task[None] | None = None

    @property
    def interval(self) -> float:
        return self.ttl / 3

    def heartbeat_key(self, worker_id: str | None = None) -> str:
        return f"{self.prefix}:workers:{worker_id or self.id}"

    def on_beat(self, callback: OnBeat) -> None:
        self._on_beat.append(callback)

    def off_beat(self, callback: OnBeat) -> None:
        self._on_beat.remove(callback)

    async def beat(self) -> bool:
        """Renew the heartbeat key. True when it had lapsed (expired, or the first beat):
        what this worker held for the others may have been swept meanwhile."""
        if self.redis is None:
            return False
        was = await self.redis.set(self.heartbeat_key(), "1", px=int(self.ttl * 1000),
                                   get=True)
        return was is None

    async def _tick(self) -> None:
        try:
            lapsed = await self.beat()
        except Exception as exc:  # Redis away: what we hold waits for us; try again next time
            if not self.faults.failed(exc):
                log.exception("worker heartbeat failed")
            return
        self.faults.redis.recovered()
        for callback in self._on_beat:
            try:
                await callback(lapsed)
            except Exception:  # one part's trouble must not stop the others' beat
                log.exception("a heartbeat task of this worker failed")

    async def _run(self) -> None:
        while True:
            await self._tick()
            await asyncio.sleep(self.interval)

    @contextlib.asynccontextmanager
    async def alive(self) -> AsyncIterator[None]:
        """While serving: beat now and every third of the key's life. Whoever needs the
        heartbeat enters this; however many do, there is one beat."""
        if self._users == 0 and self.redis is not None:
            await self._tick()
            self._loop = asyncio.create_task(self._sleep_then_run())
        self._users += 1
        try:
            yield
        finally:
            self._users -= 1
            if self._users == 0 and self._loop is not None:
                await stop(self._loop)
                self._loop = None
                await self._retire()

    async def _retire(self) -> None:
        """Leaving for good: the others need not wait for our key to expire."""
        assert self.redis is not None
        try:
            await self.redis.delete(self.heartbeat_key())
        except Exception:  # it expires by itself
            log.warning("could not remove this worker's heartbeat key; it will expire")

    async def _sleep_then_run(self) -> None:
        await asyncio.sleep(self.interval)
        await self._run()
