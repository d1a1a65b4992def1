"""Emoji reactions: the Socket.IO event `reaction`, relayed to everyone in the gathering's
room as the ephemeral `reaction` message (type `reaction.sent`). Not part of the versioned
log and never stored: a reaction floats for a moment and is gone.

A fixed set of reactions, by name (the browser draws the emoji); speakers who have joined
the room may send them, each connection at most one a second (bursts of three), without
the sender's name. docs/protocol.md, "Reactions", is the public description."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

import socketio
from pydantic import BaseModel, ConfigDict, StringConstraints

from facilitation.roles import SPEAKERS
from rooms.live import Forbidden
from server.errors import ErrorCode, ProtocolError, error_answer
from server.ratelimit import TokenBucket
from server.sockets import SocketLayer, room_of

Emoji = Literal["applause", "heart", "thumbs_up", "laugh", "idea", "surprised"]
REACTIONS: tuple[str, ...] = get_args(Emoji)
REACTIONS_PER_SECOND = 1
REACTION_BURST = 3


class Reaction(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    gathering: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    emoji: Emoji


@dataclass
class ReactionConnection:
    bucket: TokenBucket = field(
        default_factory=lambda: TokenBucket(REACTIONS_PER_SECOND, REACTION_BURST))


class Reactions:
    def __init__(self, sio: socketio.AsyncServer, sockets: SocketLayer) -> None:
        self.sio = sio
        self.sockets = sockets
        self.connections: dict[str, ReactionConnection] = {}
        sio.on("reaction", self.on_reaction)
        sockets.on_close.append(self.on_disconnect)

    async def on_disconnect(self, sid: str) -> None:
        self.connections.pop(sid, None)

    async def on_reaction(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        try:
            return await self._react(sid, data, extra)
        except Exception as exc:  # every failure becomes an error code in the ack
            return error_answer(exc)

    async def _react(self, sid: str, data: Any, extra: tuple[Any, ...]) -> dict[str, Any]:
        connection = self.sockets.connections.get(sid)
        if connection is None:
            raise ProtocolError(ErrorCode.UNAUTHENTICATED, "sign in first")
        mine = self.connections.setdefault(sid, ReactionConnection())
        if not mine.bucket.take():
            raise ProtocolError(ErrorCode.RATE_LIMITED, "one reaction a second; slow down")
        if extra or not isinstance(data, dict):
            raise ProtocolError(ErrorCode.INVALID_FORMAT, "send one object")
        reaction = Reaction.model_validate(data)
        actor = await self.sockets._actor(connection, reaction.gathering)
        if actor.role not in SPEAKERS:
            raise Forbidden(f"{actor.role} may not send reactions")
        if reaction.gathering not in connection.joined:
            raise ProtocolError(ErrorCode.REJECTED, "join the gathering's room first")
        await self.sio.emit("reaction", {"gathering": reaction.gathering,
                                         "type": "reaction.sent",
                                         "data": {"emoji": reaction.emoji}},
                            room=room_of(reaction.gathering))
        return {"ok": True}
