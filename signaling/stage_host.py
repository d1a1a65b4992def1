"""The stages this process owns: the `Stage` (signaling/stage.py) of each gathering whose
stage lives here, who publishes on it, the rule (facilitation.media.may_publish, checked
against the live state on every publish and again after every event that moves the floor),
the recording tap (recordings/stage_tap.py) and the `stage` push to the gathering.

Requests come as dicts (they may have been forwarded from another worker by
signaling/stage_router.py); a refusal is a StageError whose code the edge maps to a
protocol error code (server/sockets/stage.py)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from facilitation.media import may_publish
from facilitation.roles import Role
from facilitation.state import GatheringState
from rooms.channels import room_of
from rooms.live import LiveRooms
from signaling.engines import Engine, StageEngine
from signaling.stage import StageError

log = logging.getLogger(__name__)


class RecordingTap(Protocol):
    """What turns `state.recording` into a file on the stage's owner (recordings/stage_tap.py)."""

    async def reconcile(self, gathering_id: str, stage: StageEngine, state: GatheringState,
                        peers: dict[str, int]) -> None: ...

    async def stop(self, gathering_id: str, stage: StageEngine) -> None: ...

    async def drain(self) -> None:
        """Wait for the files still being made."""

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
    stage: StageEngine
    on_stage: dict[str, OnStage] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


Emit = Callable[[str, dict[str, Any], str], Awaitable[None]]  # (event, data, room)


class StageHost:
    """The stages this process owns. `run` takes a request (a dict, as forwarded) and
    returns the ack; it raises StageError for refusals."""

    def __init__(self, live: LiveRooms, emit: Emit, engine: Engine,
                 recordings: RecordingTap | None = None) -> None:
        self.live = live
        self.emit = emit
        self.engine = engine
        engine.on_gone = self.drop
        self.recordings = recordings
        self.rooms: dict[str, StageRoom] = {}
        self._opening: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def room(self, gathering_id: str) -> StageRoom:
        # one stage per gathering, even when two ask at once (a Janus room takes a round trip)
        async with self._opening[gathering_id]:
            room = self.rooms.get(gathering_id)
            if room is None:
                stage = await self.engine.open(gathering_id)
                room = StageRoom(gathering_id, stage)
                stage.on_unpublished = lambda peer: self._unpublished(room, peer)
                stage.on_published = lambda peer: self._published(room)
                self.rooms[gathering_id] = room
            return room

    async def _published(self, room: StageRoom) -> None:
        """A publisher's media is up (Janus): from its own task, so it takes the lock."""
        async with room.lock:
            await self.announce(room)
            await self._record(room)

    async def _unpublished(self, room: StageRoom, peer: str) -> None:
        if room.on_stage.pop(peer, None) is not None:
            await self.announce(room)
            await self._record(room)

    async def _record(self, room: StageRoom, state: GatheringState | None = None) -> None:
        """Bring the recording in line with the state (recordings/stage_tap.py)."""
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

    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        op, gathering_id = request["op"], request["gathering"]
        if op in ("publish", "listen"):
            room = await self.room(gathering_id)
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
            if op == "answer":
                await room.stage.answer(request["sid"], request["sdp"])
            elif op == "unpublish":
                await room.stage.unpublish(request["sid"])
            elif op == "leave":
                await room.stage.unpublish(request["sid"])
                await room.stage.leave(request["sid"])
            elif op == "review":
                await self._review(room)
            else:
                raise StageError("bad-op", f"unknown stage operation {op!r}")
            return {"ok": True}

    async def _publish(self, room: StageRoom, request: dict[str, Any]) -> dict[str, Any]:
        sid = request["sid"]
        who = (request["person_id"], Role(request["role"]))
        state = await self.live.state(room.gathering)
        if not may_publish(state, who):
            raise StageError("forbidden")
        if sid in room.on_stage:  # a new offer from the same tab replaces its publisher peer
            await room.stage.unpublish(sid)
        answer = await room.stage.publish(sid, request["sdp"])
        kinds = tuple(room.stage.kinds(sid))
        room.on_stage[sid] = OnStage(sid, request["person_id"], request["name"],
                                     request["role"], kinds)
        if sid in room.stage.publishers:  # else once its media is up (`_published`)
            await self.announce(room)
            await self._record(room, state)
        return {"ok": True, "description": {"type": "answer", "sdp": answer}}

    async def _listen(self, room: StageRoom, request: dict[str, Any]) -> dict[str, Any]:
        """The stage's offer to the tab (None: nobody on stage); with an `sdp`, the tab's
        own offer and the stage's answer (deprecated: the aiortc engine only)."""
        sid = request["sid"]
        await room.stage.leave(sid)  # a new listen replaces the tab's listener peer
        description: dict[str, str] | None
        if request.get("sdp"):
            description = {"type": "answer",
                           "sdp": await room.stage.listen_offered(sid, request["sdp"])}
        else:
            offer = await room.stage.listen(sid)
            description = None if offer is None else {"type": "offer", "sdp": offer}
        people = {p: info.person_id for p, info in room.on_stage.items()}
        tracks = [{"mid": mid, "peer": peer, "person_id": people.get(peer), "kind": kind}
                  for mid, peer, kind in room.stage.listener_tracks(sid)]
        return {"ok": True, "description": description,
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
            # before any await: a Janus publisher whose media comes up (or ends) now must
            # not announce or record on the stage being dropped
            room.stage.on_unpublished = room.stage.on_published = None
            self.engine.forget(gathering_id)
            if self.recordings is not None:
                await self.recordings.stop(gathering_id, room.stage)
            room.on_stage.clear()
            try:
                await self.emit("stage", {"gathering": gathering_id, "type": "closed"},
                                room_of(gathering_id))
            except Exception:  # the peers must close all the same
                log.exception("could not tell %s that its stage closed", gathering_id)
            await room.stage.close()

    async def close(self) -> None:
        await asyncio.gather(*(self.drop(g) for g in list(self.rooms)), return_exceptions=True)
        await self.engine.close()
        if self.recordings is not None:
            await self.recordings.drain()
