"""Socket.IO events about whose microphone and camera are on, in the breakout mesh and on
the plenary stage alike: `media.state` (a tab announces its own), `media.states` (what is
known now, for a tab that starts watching) and `media.mute` (a runner asks a person's tabs
to mute their microphone; only the person can turn it on again). The shared store is
signaling/media_state.py; docs/protocol.md, "Microphone and camera states", is the public
description."""

from __future__ import annotations

from typing import Any

import socketio

from facilitation.roles import SPEAKERS, runs_gathering
from rooms.live import Forbidden
from server.feature_sockets import FeatureGate
from server.sockets import SocketLayer, person_room, room_of
from signaling.media_state import (
    STATES_BURST,
    STATES_PER_SECOND,
    MediaState,
    MediaStateIn,
    MediaStates,
    MuteRequest,
)
from signaling.relay import MediaRef


class MediaStateSockets:
    def __init__(self, sio: socketio.AsyncServer, sockets: SocketLayer,
                 states: MediaStates) -> None:
        self.sio = sio
        self.sockets = sockets
        self.states = states
        self.gate = FeatureGate(sockets, rate=STATES_PER_SECOND, burst=STATES_BURST,
                                what="media state messages")
        self.written: dict[str, set[tuple[str, int]]] = {}  # sid -> (gathering, person)
        sio.on("media.state", self.on_state)
        sio.on("media.states", self.on_states)
        sio.on("media.mute", self.on_mute)
        sockets.on_close.append(self.on_disconnect)

    async def on_state(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        return await self.gate.answer(sid, data, extra, self._state)

    async def on_states(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        return await self.gate.answer(sid, data, extra, self._states)

    async def on_mute(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        return await self.gate.answer(sid, data, extra, self._mute)

    async def on_disconnect(self, sid: str) -> None:
        self.gate.forget(sid)
        for gathering_id, person_id in self.written.pop(sid, set()):
            await self.states.forget(gathering_id, person_id, sid)

    async def _state(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        announced = MediaStateIn.model_validate(data)
        actor = await self.gate.joined_actor(sid, announced.gathering)
        if actor.role not in SPEAKERS:
            raise Forbidden(f"{actor.role} does not send media")
        state = MediaState(actor.person_id, announced.audio, announced.video, sid)
        await self.states.put(announced.gathering, state)
        self.written.setdefault(sid, set()).add((announced.gathering, actor.person_id))
        await self.sio.emit("media.state", state.public(announced.gathering),
                            room=room_of(announced.gathering), skip_sid=sid)
        return {"ok": True}

    async def _states(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        ref = MediaRef.model_validate(data)
        await self.gate.joined_actor(sid, ref.gathering)
        known = await self.states.all(ref.gathering)
        return {"ok": True, "states": [s.public(ref.gathering) for s in known]}

    async def _mute(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        request = MuteRequest.model_validate(data)
        actor = await self.gate.joined_actor(sid, request.gathering)
        if not runs_gathering(actor.role):
            raise Forbidden("only the facilitator and the programme lead may mute others")
        await self.sio.emit("media.muted", {"gathering": request.gathering, "by": actor.name},
                            room=person_room(request.gathering, request.person_id))
        return {"ok": True}
