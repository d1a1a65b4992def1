"""Run a stage request where the gathering's stage lives.

The server-side peers of a gathering live in ONE process, its owner (signaling/stage_host.py).
With Redis the owner is whoever holds `<REDIS_PREFIX>:stage-owner:<gathering>` (SET NX EX,
renewed at each beat of the owner's heartbeat, rooms/worker.py); a worker that is not the
owner forwards the request over Redis pub/sub to the owner's request channel and waits for
the answer on its own reply channel. Without Redis this process owns every stage."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from rooms.tasks import stop
from rooms.worker import Worker
from signaling.stage import StageError
from signaling.stage_host import StageHost

log = logging.getLogger(__name__)

FORWARD_TIMEOUT = 15.0  # seconds a worker waits for the owner's answer
LISTEN_RETRY = 1.0  # seconds between the listener's attempts to subscribe again
Answer = Callable[[BaseException], dict[str, Any]]  # a refusal as the ack the client gets

_HEARTBEAT = """
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('EXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class StageRouter:
    """Run a stage request where the gathering's stage lives."""

    def __init__(self, host: StageHost, worker: Worker, answer: Answer) -> None:
        self.host = host
        self.worker = worker
        self.redis: Redis | None = worker.redis
        self.prefix = worker.prefix
        self.answer = answer
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.ready = asyncio.Event()

    def owner_key(self, gathering_id: str) -> str:
        return f"{self.prefix}:stage-owner:{gathering_id}"

    def request_channel(self, worker: str) -> str:
        return f"{self.prefix}:stage-req:{worker}"

    @property
    def reply_channel(self) -> str:
        return f"{self.prefix}:stage-reply:{self.worker.id}"

    async def run_safe(self, request: dict[str, Any]) -> dict[str, Any]:
        """The host's ack, a refusal included."""
        try:
            return await self.host.run(request)
        except Exception as exc:
            return self.answer(exc)

    async def call(self, request: dict[str, Any], claim: bool = True) -> dict[str, Any]:
        """The owner's ack for `request`. `claim`: become the owner when there is none (a
        publish or listen); otherwise a gathering without a stage owner has nothing to do."""
        gathering_id = request["gathering"]
        if self.redis is None or self.host.owns(gathering_id):
            return await self.run_safe(request)
        for _ in range(2):
            owner = await self._owner(gathering_id, claim)
            if owner is None:
                return {"ok": True}
            if owner == self.worker.id:
                return await self.run_safe(request)
            answer = await self._forward(owner, request)
            if answer is not None:
                return answer
            # nobody listens on the owner's channel: that worker is gone; forget it, retry
            await self.redis.eval(_RELEASE, 1, self.owner_key(gathering_id), owner)
        raise StageError("owner-gone")

    async def _owner(self, gathering_id: str, claim: bool) -> str | None:
        assert self.redis is not None
        key = self.owner_key(gathering_id)
        owner = await self.redis.get(key)
        if owner is None and claim:
            if await self.redis.set(key, self.worker.id, nx=True, ex=int(self.worker.ttl)):
                return self.worker.id
            owner = await self.redis.get(key)
        return owner if owner is None or isinstance(owner, str) else owner.decode()

    async def _forward(self, owner: str, request: dict[str, Any]) -> dict[str, Any] | None:
        assert self.redis is not None
        rid = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[rid] = future
        try:
            message = json.dumps({"id": rid, "reply": self.reply_channel, "request": request})
            if not await self.redis.publish(self.request_channel(owner), message):
                return None
            return await asyncio.wait_for(future, FORWARD_TIMEOUT)
        except TimeoutError:
            raise StageError("owner-silent") from None
        finally:
            self.pending.pop(rid, None)

    async def _serve(self, message: dict[str, Any]) -> None:
        assert self.redis is not None
        answer = await self.run_safe(message["request"])
        await self.redis.publish(message["reply"], json.dumps({"id": message["id"],
                                                               "answer": answer}))

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def listen(self) -> None:
        """Serve requests forwarded to this worker and deliver answers to its requests; after
        a lost connection to Redis, subscribe again (the outage is the worker's one story)."""
        assert self.redis is not None
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.request_channel(self.worker.id), self.reply_channel)
                self.ready.set()
                async for message in pubsub.listen():
                    self._deliver(message)
            except Exception as exc:
                if not self.worker.faults.failed(exc):
                    log.exception("the stage listener failed")
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(LISTEN_RETRY)

    def _deliver(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        try:
            body = json.loads(message["data"])
            if message["channel"] == self.request_channel(self.worker.id):
                self.spawn(self._serve(body))
            else:
                future = self.pending.get(body["id"])
                if future is not None and not future.done():
                    future.set_result(body["answer"])
        except Exception:
            log.exception("bad stage message on %s", message.get("channel"))

    async def on_beat(self, lapsed: bool) -> None:
        """At each beat of this worker: keep the owner keys of our stages alive; give up a
        stage another worker took (while we were stalled)."""
        assert self.redis is not None
        for gathering_id in list(self.host.rooms):
            kept = await self.redis.eval(_HEARTBEAT, 1, self.owner_key(gathering_id),
                                         self.worker.id, int(self.worker.ttl))
            if not kept:
                log.warning("another worker owns the stage of %s now", gathering_id)
                await self.host.drop(gathering_id)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """While serving: the pub/sub listener, and the owner keys in the worker's beat.
        At the end, this worker's stages close and their owner keys go."""
        listener: asyncio.Task[None] | None = None
        if self.redis is not None:
            listener = asyncio.create_task(self.listen())
            await asyncio.wait_for(self.ready.wait(), 10)
            self.worker.on_beat(self.on_beat)
        try:
            async with self.worker.alive():
                yield
        finally:
            if listener is not None:
                self.worker.off_beat(self.on_beat)
                await stop(listener)
            owned = list(self.host.rooms)
            # within systemd's 90 s: closing the stages, and the recordings' files still
            # being made (a Janus recording is converted when it stops)
            await asyncio.wait_for(self.host.close(), 80)
            if self.redis is not None:
                for gathering_id in owned:
                    with contextlib.suppress(Exception):
                        await self.redis.eval(_RELEASE, 1, self.owner_key(gathering_id),
                                              self.worker.id)
