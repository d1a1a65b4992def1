"""Socket.IO events of the breakout mesh: `media.join`, `media.leave`, `media.ice` and
`signal` (the relay). The rules and the peer registry live in signaling/; this is the edge:
the events' shapes and budget, through the gate. docs/protocol.md, "Media signaling", is
the public description."""

from __future__ import annotations

import logging
import time
from typing import Any

import socketio
from redis.asyncio import Redis

from server.sockets.gate import Budget, Caller, SocketEvent
from server.sockets.layer import SocketLayer
from signaling.ice import IceConfig
from signaling.peers import MediaPeers, MemoryPeers, PeerRegistry, RedisPeers, media_room
from signaling.relay import (
    SIGNAL_BURST,
    SIGNALS_PER_SECOND,
    MediaJoin,
    MediaRef,
    Signal,
    check_signal,
)

log = logging.getLogger(__name__)

MEDIA_MESSAGES = Budget("media", rate=SIGNALS_PER_SECOND, burst=SIGNAL_BURST,
                        what="media messages")


class MediaSockets:
    def __init__(self, sio: socketio.AsyncServer, sockets: SocketLayer,
                 peers: MediaPeers) -> None:
        self.sio = sio
        self.sockets = sockets
        self.peers = peers
        sockets.register(
            SocketEvent("media.join", MediaJoin.model_validate, self._join, MEDIA_MESSAGES),
            # leaving needs no room: a tab may leave whatever happened to its join
            SocketEvent("media.leave", MediaRef.model_validate, self._leave, MEDIA_MESSAGES,
                        joined=False),
            SocketEvent("media.ice", MediaRef.model_validate, self._ice, MEDIA_MESSAGES),
            SocketEvent("signal", Signal.model_validate, self._signal, MEDIA_MESSAGES))
        sockets.on_close.append(self.on_disconnect)

    async def on_disconnect(self, sid: str) -> None:
        try:
            for gathering_id in self.peers.joined(sid):
                await self.peers.leave(sid, gathering_id, self._broadcast)
        except Exception:  # the other close hooks (presence) must still run
            log.exception("could not announce that media peer %s left", sid)

    async def _join(self, caller: Caller, ref: MediaJoin) -> dict[str, Any]:
        state = await self.sockets.live.state(ref.gathering)
        self.sockets.ensure_open(caller.sid)  # the tab may have closed meanwhile
        await self.sio.enter_room(caller.sid, media_room(ref.gathering))
        answer = await self.peers.join(caller.sid, caller.actor, ref.gathering, state,
                                       self._emit, time.time(), visiting=ref.group,
                                       broadcast=self._broadcast)
        if not self.sockets.is_open(caller.sid):  # closed while joining: its close hook ran
            await self.peers.leave(caller.sid, ref.gathering, self._broadcast)
        return answer

    async def _leave(self, caller: Caller, ref: MediaRef) -> dict[str, Any]:
        await self.peers.leave(caller.sid, ref.gathering, self._broadcast)
        await self.sio.leave_room(caller.sid, media_room(ref.gathering))
        return {"ok": True}

    async def _ice(self, caller: Caller, ref: MediaRef) -> dict[str, Any]:
        return {"ok": True, **self.peers.ice_answer(caller.actor, time.time())}

    async def _signal(self, caller: Caller, signal: Signal) -> dict[str, Any]:
        state = await self.sockets.live.state(signal.gathering)
        await check_signal(self.peers.registry, state, caller.sid, caller.actor, signal)
        await self.sio.emit("signal", signal.relayed(caller.sid), to=signal.to)
        return {"ok": True}

    async def _emit(self, event: str, data: dict[str, Any], to: str) -> None:
        await self.sio.emit(event, data, to=to)

    async def _broadcast(self, event: str, data: dict[str, Any], room: str, skip: str) -> None:
        await self.sio.emit(event, data, room=room, skip_sid=skip)


def setup_media(sio: socketio.AsyncServer, sockets: SocketLayer, redis: Redis | None,
                prefix: str, ice: IceConfig) -> MediaSockets:
    registry: PeerRegistry = MemoryPeers() if redis is None else RedisPeers(
        redis, prefix=f"{prefix}:media")
    return MediaSockets(sio, sockets, MediaPeers(registry, ice))
