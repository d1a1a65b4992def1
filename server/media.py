"""Socket.IO events of the breakout mesh: `media.join`, `media.leave`, `media.ice` and
`signal` (the relay). The rules and the peer registry live in signaling/; this is the edge:
identity, a rate bucket per connection, validation and error codes. docs/protocol.md,
"Media signaling", is the public description."""

from __future__ import annotations

import logging
import time
from typing import Any

import socketio

from server.errors import ErrorCode, ProtocolError, error_answer
from server.feature_sockets import FeatureGate
from server.sockets import SocketLayer
from signaling.peers import MediaPeers, media_room
from signaling.relay import (
    SIGNAL_BURST,
    SIGNALS_PER_SECOND,
    MediaJoin,
    MediaRef,
    Signal,
    SignalRefused,
    check_signal,
)

log = logging.getLogger(__name__)

def _refusal(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, SignalRefused):
        return error_answer(ProtocolError(ErrorCode(exc.code), exc.message))
    return error_answer(exc)


class MediaSockets:
    def __init__(self, sio: socketio.AsyncServer, sockets: SocketLayer,
                 peers: MediaPeers) -> None:
        self.sio = sio
        self.sockets = sockets
        self.peers = peers
        self.gate = FeatureGate(sockets, rate=SIGNALS_PER_SECOND, burst=SIGNAL_BURST,
                                what="media messages", refusal=_refusal)
        sio.on("media.join", self.on_join)
        sio.on("media.leave", self.on_leave)
        sio.on("media.ice", self.on_ice)
        sio.on("signal", self.on_signal)
        sockets.on_close.append(self.on_disconnect)

    async def on_join(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        return await self.gate.answer(sid, data, extra, self._join)

    async def on_leave(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        return await self.gate.answer(sid, data, extra, self._leave)

    async def on_ice(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        return await self.gate.answer(sid, data, extra, self._ice)

    async def on_signal(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        return await self.gate.answer(sid, data, extra, self._signal)

    async def on_disconnect(self, sid: str) -> None:
        self.gate.forget(sid)
        try:
            for gathering_id in self.peers.joined(sid):
                await self.peers.leave(sid, gathering_id, self._broadcast)
        except Exception:  # the other close hooks (presence) must still run
            log.exception("could not announce that media peer %s left", sid)

    async def _join(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        ref = MediaJoin.model_validate(data)
        actor = await self.gate.joined_actor(sid, ref.gathering)
        state = await self.sockets.live.state(ref.gathering)
        await self.sio.enter_room(sid, media_room(ref.gathering))
        return await self.peers.join(sid, actor, ref.gathering, state, self._emit, time.time(),
                                     visiting=ref.group, broadcast=self._broadcast)

    async def _leave(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        ref = MediaRef.model_validate(data)
        await self.peers.leave(sid, ref.gathering, self._broadcast)
        await self.sio.leave_room(sid, media_room(ref.gathering))
        return {"ok": True}

    async def _ice(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        ref = MediaRef.model_validate(data)
        actor = await self.gate.joined_actor(sid, ref.gathering)
        return {"ok": True, **self.peers.ice_answer(actor, time.time())}

    async def _signal(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        signal = Signal.model_validate(data)
        actor = await self.gate.joined_actor(sid, signal.gathering)
        state = await self.sockets.live.state(signal.gathering)
        await check_signal(self.peers.registry, state, sid, actor, signal)
        await self.sio.emit("signal", signal.relayed(sid), to=signal.to)
        return {"ok": True}

    async def _emit(self, event: str, data: dict[str, Any], to: str) -> None:
        await self.sio.emit(event, data, to=to)

    async def _broadcast(self, event: str, data: dict[str, Any], room: str, skip: str) -> None:
        await self.sio.emit(event, data, room=room, skip_sid=skip)
