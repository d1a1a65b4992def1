"""Socket.IO events of the plenary stage: `stage.publish`, `stage.listen`, `stage.unpublish`
and `stage.leave`, and the pushed `stage` event. docs/protocol.md, "The stage", is the
public description.

Three parts, one per concern:

- `StageSockets`, the edge on every worker: identity, a rate bucket per connection,
  validation, error codes; it hands each request to the router and forgets the connection's
  stage peers when it closes.
- `StageRouter`: the server-side peers of a gathering live in ONE process, its owner. With
  Redis the owner is whoever holds `<REDIS_PREFIX>:stage-owner:<gathering>` (SET NX EX, kept
  alive by a heartbeat); a worker that is not the owner forwards the request over Redis
  pub/sub to the owner's request channel and waits for the answer on its own reply channel.
  Without Redis this process owns every stage.
- `StageHost`, on the owner: the `Stage` of each gathering it owns, who publishes on it, the
  rule (facilitation.media.may_publish, checked against the live state on every publish and
  again after every event that moves the floor), and the `stage` push to the gathering.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import socketio
from aiohttp import web
from aiortc import RTCIceServer, RTCPeerConnection
from pydantic import StringConstraints
from redis.asyncio import Redis

from facilitation.media import may_publish
from facilitation.roles import Role
from facilitation.state import GatheringState
from rooms.live import LiveRooms
from server.errors import ErrorCode, ProtocolError, error_answer
from server.feature_sockets import FeatureGate
from server.sockets import SocketLayer, room_of
from server.stage_recordings import StageRecordings
from signaling.ice import IceConfig
from signaling.relay import SDP_MAX, GatheringId, MediaRef, Strict
from signaling.stage import Stage, StageConfig, StageError, server_configuration

log = logging.getLogger(__name__)

STAGE_REQUESTS_PER_SECOND = 2  # each one builds a server-side peer connection
STAGE_BURST = 10
OWNER_TTL = 15  # seconds an owner key lives without a heartbeat
HEARTBEAT_SECONDS = 5
FORWARD_TIMEOUT = 15.0  # seconds a worker waits for the owner's answer
#: events after which someone on stage may have lost the right to publish
FLOOR_EVENTS = frozenset({"hand.called", "agenda.item_started", "stage.spotlight",
                          "stage.cleared", "stage.floor_ended", "gathering.ended",
                          "recording.started", "recording.stopped"})

STAGE_CODES = {
    "bad-sdp": (ErrorCode.INVALID_FORMAT, "the session description is not usable"),
    "bad-id": (ErrorCode.INVALID_FORMAT, "bad peer id"),
    "codec-unsupported": (ErrorCode.INVALID_FORMAT, "offer VP8 video and Opus audio"),
    "too-many-tracks": (ErrorCode.INVALID_FORMAT,
                        "publish at most one audio and two video tracks"),
    "stage-full": (ErrorCode.REJECTED, "the stage is full: someone must leave it first"),
    "stage-closed": (ErrorCode.REJECTED, "the stage is closing; try again"),
    "already-publishing": (ErrorCode.CONFLICT, "already publishing"),
    "already-listening": (ErrorCode.CONFLICT, "already listening"),
}


class Offer(Strict):
    type: Literal["offer"]
    sdp: Annotated[str, StringConstraints(min_length=1, max_length=SDP_MAX)]


class StageOffer(Strict):
    gathering: GatheringId
    description: Offer


def stage_answer(exc: BaseException) -> dict[str, Any]:
    """Any failure of a stage operation as the ack the client gets."""
    if isinstance(exc, StageError):
        code, message = STAGE_CODES.get(exc.code, (ErrorCode.REJECTED, exc.code))
        return error_answer(ProtocolError(code, message))
    return error_answer(exc)


def server_ice_servers(ice: IceConfig, now: float) -> list[RTCIceServer]:
    """The server peers' ICE servers: the same settings as the browsers' (none: [])."""
    return [RTCIceServer(urls=s["urls"], username=s.get("username"),
                         credential=s.get("credential")) for s in ice.servers(0, now)]


class _Stage(Stage):
    """A Stage whose peers get fresh ICE servers (TURN credentials expire) from settings."""

    def __init__(self, config: StageConfig, ice: IceConfig) -> None:
        super().__init__(config)
        self.ice = ice

    def _new_pc(self) -> RTCPeerConnection:
        return RTCPeerConnection(server_configuration(server_ice_servers(self.ice, time.time())))


# -- the owner ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnStage:
    peer: str  # socket.io sid of the publishing tab
    person_id: int
    name: str
    role: str
    kinds: tuple[str, ...]

    def public(self) -> dict[str, Any]:
        return {"peer": self.peer, "person_id": self.person_id, "name": self.name,
                "kinds": list(self.kinds)}


@dataclass
class StageRoom:
    gathering: str
    stage: Stage
    on_stage: dict[str, OnStage] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


Emit = Callable[[str, dict[str, Any], str], Awaitable[None]]  # (event, data, room)


class StageHost:
    """The stages this process owns. `run` takes a request (a dict, as forwarded) and
    returns the ack; it raises ProtocolError/StageError for refusals."""

    def __init__(self, live: LiveRooms, emit: Emit, config: StageConfig,
                 ice: IceConfig, recordings: StageRecordings | None = None) -> None:
        self.live = live
        self.emit = emit
        self.config = config
        self.ice = ice
        self.recordings = recordings
        self.rooms: dict[str, StageRoom] = {}

    def room(self, gathering_id: str) -> StageRoom:
        room = self.rooms.get(gathering_id)
        if room is None:
            stage = _Stage(self.config, self.ice)
            room = StageRoom(gathering_id, stage)
            stage.on_unpublished = lambda peer: self._unpublished(room, peer)
            self.rooms[gathering_id] = room
        return room

    async def _unpublished(self, room: StageRoom, peer: str) -> None:
        if room.on_stage.pop(peer, None) is not None:
            await self.announce(room)
            await self._record(room)

    async def _record(self, room: StageRoom, state: GatheringState | None = None) -> None:
        """Bring the recording in line with the state (server/stage_recordings.py)."""
        if self.recordings is None:
            return
        try:
            state = state or await self.live.state(room.gathering)
            peers = {peer: info.person_id for peer, info in room.on_stage.items()}
            await self.recordings.reconcile(room.gathering, room.stage, state, peers)
        except Exception:  # a recording problem must not break the stage
            log.exception("recording on the stage of %s failed", room.gathering)

    def publishers(self, room: StageRoom) -> list[dict[str, Any]]:
        # in publication order: the order the stage assigns a listener's m-lines in
        return [room.on_stage[p].public() for p in room.stage.publishers if p in room.on_stage]

    async def announce(self, room: StageRoom) -> None:
        await self.emit("stage", {"gathering": room.gathering, "type": "publishers",
                                  "publishers": self.publishers(room)},
                        room_of(room.gathering))

    async def run_safe(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self.run(request)
        except Exception as exc:
            return stage_answer(exc)

    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        op, gathering_id = request["op"], request["gathering"]
        if op in ("publish", "listen"):
            room = self.room(gathering_id)
        else:
            existing = self.rooms.get(gathering_id)
            if existing is None:
                return {"ok": True}
            room = existing
        async with room.lock:
            if op == "publish":
                return await self._publish(room, request)
            if op == "listen":
                return await self._listen(room, request)
            if op == "unpublish":
                await room.stage.unpublish(request["sid"])
            elif op == "leave":
                await room.stage.unpublish(request["sid"])
                await room.stage.leave(request["sid"])
            elif op == "review":
                await self._review(room)
            else:
                raise ProtocolError(ErrorCode.INVALID_FORMAT, f"unknown stage operation {op!r}")
            return {"ok": True}

    async def _publish(self, room: StageRoom, request: dict[str, Any]) -> dict[str, Any]:
        sid = request["sid"]
        who = (request["person_id"], Role(request["role"]))
        state = await self.live.state(room.gathering)
        if not may_publish(state, who):
            raise ProtocolError(
                ErrorCode.FORBIDDEN, "only the facilitator, the expert in the spotlight and "
                "whoever has the floor may publish to the stage")
        if sid in room.on_stage:  # a new offer from the same tab replaces its publisher peer
            await room.stage.unpublish(sid)
        answer = await room.stage.publish(sid, request["sdp"])
        kinds = tuple(room.stage.kinds(sid))
        room.on_stage[sid] = OnStage(sid, request["person_id"], request["name"],
                                     request["role"], kinds)
        await self.announce(room)
        await self._record(room, state)
        return {"ok": True, "description": {"type": "answer", "sdp": answer}}

    async def _listen(self, room: StageRoom, request: dict[str, Any]) -> dict[str, Any]:
        sid = request["sid"]
        await room.stage.leave(sid)  # a new offer replaces the tab's listener peer
        answer = await room.stage.listen(sid, request["sdp"])
        people = {p: info.person_id for p, info in room.on_stage.items()}
        tracks = [{"mid": mid, "peer": peer, "person_id": people.get(peer), "kind": kind}
                  for mid, peer, kind in room.stage.listener_tracks(sid)]
        return {"ok": True, "description": {"type": "answer", "sdp": answer},
                "publishers": self.publishers(room), "tracks": tracks}

    async def _review(self, room: StageRoom) -> None:
        """Take off stage everyone who may no longer publish (the floor moved on)."""
        state = await self.live.state(room.gathering)
        for peer, info in list(room.on_stage.items()):
            if not may_publish(state, (info.person_id, Role(info.role))):
                await room.stage.unpublish(peer)  # announces through _unpublished
        await self._record(room, state)

    def owns(self, gathering_id: str) -> bool:
        return gathering_id in self.rooms

    async def drop(self, gathering_id: str) -> None:
        """Close this process's stage of the gathering (it lost the owner key, or stops).
        The gathering hears `closed` first, so its browsers let their connections go and
        listen (and publish) again at once, wherever the stage lives next; then every peer
        closes (its close_notify reaches connections already let go)."""
        room = self.rooms.pop(gathering_id, None)
        if room is not None:
            if self.recordings is not None:
                await self.recordings.stop(gathering_id, room.stage)
            room.stage.on_unpublished = None
            room.on_stage.clear()
            try:
                await self.emit("stage", {"gathering": gathering_id, "type": "closed"},
                                room_of(gathering_id))
            except Exception:  # the peers must close all the same
                log.exception("could not tell %s that its stage closed", gathering_id)
            await room.stage.close()

    async def close(self) -> None:
        await asyncio.gather(*(self.drop(g) for g in list(self.rooms)), return_exceptions=True)


# -- routing to the owner -------------------------------------------------------------------

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


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class StageRouter:
    """Run a stage request where the gathering's stage lives."""

    def __init__(self, host: StageHost, redis: Redis | None, prefix: str) -> None:
        self.host = host
        self.redis = redis
        self.prefix = prefix
        self.worker = worker_id()
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.ready = asyncio.Event()

    def owner_key(self, gathering_id: str) -> str:
        return f"{self.prefix}:stage-owner:{gathering_id}"

    def request_channel(self, worker: str) -> str:
        return f"{self.prefix}:stage-req:{worker}"

    @property
    def reply_channel(self) -> str:
        return f"{self.prefix}:stage-reply:{self.worker}"

    async def call(self, request: dict[str, Any], claim: bool = True) -> dict[str, Any]:
        """The owner's ack for `request`. `claim`: become the owner when there is none (a
        publish or listen); otherwise a gathering without a stage owner has nothing to do."""
        gathering_id = request["gathering"]
        if self.redis is None or self.host.owns(gathering_id):
            return await self.host.run_safe(request)
        for _ in range(2):
            owner = await self._owner(gathering_id, claim)
            if owner is None:
                return {"ok": True}
            if owner == self.worker:
                return await self.host.run_safe(request)
            answer = await self._forward(owner, request)
            if answer is not None:
                return answer
            # nobody listens on the owner's channel: that worker is gone; forget it, retry
            await self.redis.eval(_RELEASE, 1, self.owner_key(gathering_id), owner)
        raise ProtocolError(ErrorCode.INTERNAL, "the stage's worker is gone; try again")

    async def _owner(self, gathering_id: str, claim: bool) -> str | None:
        assert self.redis is not None
        key = self.owner_key(gathering_id)
        owner = await self.redis.get(key)
        if owner is None and claim:
            if await self.redis.set(key, self.worker, nx=True, ex=OWNER_TTL):
                return self.worker
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
            raise ProtocolError(ErrorCode.INTERNAL, "the worker that runs this gathering's "
                                "stage did not answer in time; try again") from None
        finally:
            self.pending.pop(rid, None)

    async def _serve(self, message: dict[str, Any]) -> None:
        assert self.redis is not None
        answer = await self.host.run_safe(message["request"])
        await self.redis.publish(message["reply"], json.dumps({"id": message["id"],
                                                               "answer": answer}))

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def listen(self) -> None:
        """Serve requests forwarded to this worker and deliver answers to its requests."""
        assert self.redis is not None
        pubsub = self.redis.pubsub()
        mine = self.request_channel(self.worker)
        await pubsub.subscribe(mine, self.reply_channel)
        self.ready.set()
        try:
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                try:
                    body = json.loads(message["data"])
                    if message["channel"] == mine:
                        self.spawn(self._serve(body))
                    else:
                        future = self.pending.get(body["id"])
                        if future is not None and not future.done():
                            future.set_result(body["answer"])
                except Exception:
                    log.exception("bad stage message on %s", message.get("channel"))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def heartbeat(self) -> None:
        """Keep the owner keys of our stages alive; give up a stage another worker took."""
        assert self.redis is not None
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            for gathering_id in list(self.host.rooms):
                try:
                    kept = await self.redis.eval(_HEARTBEAT, 1, self.owner_key(gathering_id),
                                                 self.worker, OWNER_TTL)
                except Exception:
                    log.exception("stage owner heartbeat failed")
                    continue
                if not kept:
                    log.warning("another worker owns the stage of %s now", gathering_id)
                    await self.host.drop(gathering_id)

    async def run(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: the pub/sub listener and heartbeat while serving."""
        workers: list[asyncio.Task[None]] = []
        if self.redis is not None:
            workers = [asyncio.create_task(self.listen()), asyncio.create_task(self.heartbeat())]
            await asyncio.wait_for(self.ready.wait(), 10)
        yield
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        owned = list(self.host.rooms)
        await asyncio.wait_for(self.host.close(), 30)
        if self.redis is not None:
            for gathering_id in owned:
                with contextlib.suppress(Exception):
                    await self.redis.eval(_RELEASE, 1, self.owner_key(gathering_id),
                                          self.worker)


# -- the edge -------------------------------------------------------------------------------


class StageSockets:
    def __init__(self, sio: socketio.AsyncServer, sockets: SocketLayer, router: StageRouter,
                 ) -> None:
        self.sio = sio
        self.sockets = sockets
        self.router = router
        self.gate = FeatureGate(sockets, rate=STAGE_REQUESTS_PER_SECOND, burst=STAGE_BURST,
                                what="stage requests", refusal=stage_answer)
        self.local: dict[str, set[str]] = {}  # sid on this worker -> gatherings on stage
        sio.on("stage.publish", self.on_publish)
        sio.on("stage.listen", self.on_listen)
        sio.on("stage.unpublish", self.on_unpublish)
        sio.on("stage.leave", self.on_leave)
        sockets.on_close.append(self.on_disconnect)
        sockets.after_publish.append(self.on_events)

    async def on_publish(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        return await self.gate.answer(sid, data, extra, self._publish)

    async def on_listen(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        return await self.gate.answer(sid, data, extra, self._listen)

    async def on_unpublish(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        return await self.gate.answer(sid, data, extra, self._unpublish)

    async def on_leave(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        return await self.gate.answer(sid, data, extra, self._leave)

    async def on_disconnect(self, sid: str) -> None:
        self.gate.forget(sid)
        for gathering_id in self.local.pop(sid, set()):
            try:
                await self.router.call({"op": "leave", "gathering": gathering_id, "sid": sid},
                                       claim=False)
            except Exception:  # the other close hooks must still run
                log.exception("could not take %s off the stage of %s", sid, gathering_id)

    async def on_events(self, gathering_id: str, events: list[dict[str, Any]]) -> None:
        """After a commit: if the floor moved, the owner takes off stage who lost it. In the
        background: this runs under the gathering's command lock, which the review needs."""
        if any(event.get("type") in FLOOR_EVENTS for event in events):
            self.router.spawn(self._review(gathering_id))

    async def _review(self, gathering_id: str) -> None:
        try:
            await self.router.call({"op": "review", "gathering": gathering_id}, claim=False)
        except Exception:
            log.exception("stage review of %s failed", gathering_id)

    async def _offer(self, op: str, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        offer = StageOffer.model_validate(data)
        actor = await self.gate.joined_actor(sid, offer.gathering)
        request = {"op": op, "gathering": offer.gathering, "sid": sid,
                   "person_id": actor.person_id, "name": actor.name,
                   "role": actor.role.value, "sdp": offer.description.sdp}
        self.local.setdefault(sid, set()).add(offer.gathering)
        return await self.router.call(request)

    async def _publish(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self._offer("publish", sid, data)

    async def _listen(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self._offer("listen", sid, data)

    async def _unpublish(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        ref = MediaRef.model_validate(data)
        return await self.router.call({"op": "unpublish", "gathering": ref.gathering,
                                       "sid": sid}, claim=False)

    async def _leave(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        ref = MediaRef.model_validate(data)
        joined = self.local.get(sid)
        if joined is not None:
            joined.discard(ref.gathering)
        return await self.router.call({"op": "leave", "gathering": ref.gathering, "sid": sid},
                                      claim=False)


def setup_stage(sio: socketio.AsyncServer, sockets: SocketLayer, redis: Redis | None,
                prefix: str, max_publishers: int, ice: IceConfig,
                recordings: StageRecordings | None = None) -> StageRouter:
    """Wire the stage into an app; returns the router (add `router.run` to cleanup_ctx)."""

    async def emit(event: str, data: dict[str, Any], room: str) -> None:
        await sio.emit(event, data, room=room)

    host = StageHost(sockets.live, emit, StageConfig(max_publishers=max_publishers), ice,
                     recordings)
    router = StageRouter(host, redis, prefix)
    StageSockets(sio, sockets, router)
    return router
