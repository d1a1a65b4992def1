"""Socket.IO events about whose microphone and camera are on, in the breakout mesh and on
the plenary stage alike: `media.state` (a tab announces its own), `media.states` (what is
known now, for a tab that starts watching) and `media.mute` (a runner asks a person's tabs
to mute their microphone; only the person can turn it on again). Who may send which is the
rights table's (facilitation/roles.py). The shared store is signaling/media_state.py;
docs/protocol.md, "Microphone and camera states", is the public description."""

from __future__ import annotations

from typing import Any

import socketio
from redis.asyncio import Redis

from rooms.channels import person_room, room_of
from server.sockets.gate import Budget, Caller, SocketEvent
from server.sockets.layer import SocketLayer
from signaling.media_state import (
    STATES_BURST,
    STATES_PER_SECOND,
    MediaState,
    MediaStateIn,
    MediaStates,
    MemoryMediaStates,
    MuteRequest,
    RedisMediaStates,
)
from signaling.relay import MediaRef

# media.state, media.states and media.mute share one budget
STATE_MESSAGES = Budget("media-states", rate=STATES_PER_SECOND, burst=STATES_BURST,
                        what="media state messages")


class MediaStateSockets:
    def __init__(self, sio: socketio.AsyncServer, sockets: SocketLayer,
                 states: MediaStates) -> None:
        self.sio = sio
        self.states = states
        self.written: dict[str, set[tuple[str, int]]] = {}  # sid -> (gathering, person)
        sockets.register(
            SocketEvent("media.state", MediaStateIn.model_validate, self._state,
                        STATE_MESSAGES),
            SocketEvent("media.states", MediaRef.model_validate, self._states, STATE_MESSAGES),
            SocketEvent("media.mute", MuteRequest.model_validate, self._mute, STATE_MESSAGES))
        sockets.on_close.append(self.on_disconnect)

    async def on_disconnect(self, sid: str) -> None:
        for gathering_id, person_id in self.written.pop(sid, set()):
            await self.states.forget(gathering_id, person_id, sid)

    async def _state(self, caller: Caller, announced: MediaStateIn) -> dict[str, Any]:
        state = MediaState(caller.actor.person_id, announced.audio, announced.video, caller.sid)
        await self.states.put(announced.gathering, state)
        self.written.setdefault(caller.sid, set()).add((announced.gathering,
                                                        caller.actor.person_id))
        await self.sio.emit("media.state", state.public(announced.gathering),
                            room=room_of(announced.gathering), skip_sid=caller.sid)
        return {"ok": True}

    async def _states(self, caller: Caller, ref: MediaRef) -> dict[str, Any]:
        known = await self.states.all(ref.gathering)
        return {"ok": True, "states": [s.public(ref.gathering) for s in known]}

    async def _mute(self, caller: Caller, request: MuteRequest) -> dict[str, Any]:
        await self.sio.emit("media.muted", {"gathering": request.gathering,
                                            "by": caller.actor.name},
                            room=person_room(request.gathering, request.person_id))
        return {"ok": True}


def setup_media_states(sio: socketio.AsyncServer, sockets: SocketLayer, redis: Redis | None,
                       prefix: str) -> MediaStateSockets:
    states: MediaStates = MemoryMediaStates() if redis is None else RedisMediaStates(
        redis, prefix=f"{prefix}:media-state")
    return MediaStateSockets(sio, sockets, states)
