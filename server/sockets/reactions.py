"""Emoji reactions: the Socket.IO event `reaction`, relayed to everyone in the gathering's
room as the ephemeral `reaction` message (type `reaction.sent`). Not part of the versioned
log and never stored: a reaction floats for a moment and is gone.

A fixed set of reactions, by name (the browser draws the emoji); speakers who have joined
the room may send them (the rights table), each connection at most one a second (bursts of
three), without the sender's name. docs/protocol.md, "Reactions", is the public
description."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

import socketio
from pydantic import BaseModel, ConfigDict, StringConstraints

from rooms.channels import room_of
from server.sockets.gate import Budget, Caller, SocketEvent
from server.sockets.layer import SocketLayer

Emoji = Literal["applause", "heart", "thumbs_up", "laugh", "idea", "surprised"]
REACTIONS: tuple[str, ...] = get_args(Emoji)
REACTION_BUDGET = Budget("reactions", rate=1, burst=3, what="reactions (one a second)")


class Reaction(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    gathering: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    emoji: Emoji


def setup_reactions(sio: socketio.AsyncServer, sockets: SocketLayer) -> None:
    async def react(caller: Caller, reaction: Reaction) -> dict[str, Any]:
        await sio.emit("reaction", {"gathering": reaction.gathering, "type": "reaction.sent",
                                    "data": {"emoji": reaction.emoji}},
                       room=room_of(reaction.gathering))
        return {"ok": True}

    sockets.register(SocketEvent("reaction", Reaction.model_validate, react, REACTION_BUDGET))
