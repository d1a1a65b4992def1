"""The edge that a feature's own socket.io events share (media signaling, the stage): the
sender must be signed in, each connection has its own rate budget, a message is one JSON
object, the sender must have joined the gathering's room, and every failure becomes an
error ack through one mapping."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from facilitation import Actor
from server.errors import ErrorCode, ProtocolError, error_answer
from server.ratelimit import TokenBucket
from server.sockets import SocketLayer

Handler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
Refusal = Callable[[BaseException], dict[str, Any]]


class FeatureGate:
    def __init__(self, sockets: SocketLayer, *, rate: float, burst: float, what: str,
                 refusal: Refusal = error_answer) -> None:
        self.sockets = sockets
        self.rate, self.burst, self.what = rate, burst, what
        self.refusal = refusal
        self.buckets: dict[str, TokenBucket] = {}

    async def answer(self, sid: str, data: Any, extra: tuple[Any, ...],
                     handler: Handler) -> dict[str, Any]:
        try:
            if sid not in self.sockets.connections:
                raise ProtocolError(ErrorCode.UNAUTHENTICATED, "sign in first")
            bucket = self.buckets.setdefault(sid, TokenBucket(self.rate, self.burst))
            if not bucket.take():
                raise ProtocolError(ErrorCode.RATE_LIMITED, f"too many {self.what}; slow down")
            if extra or not isinstance(data, dict):
                raise ProtocolError(ErrorCode.INVALID_FORMAT, "send one object")
            return await handler(sid, data)
        except Exception as exc:  # every failure becomes an error code in the ack
            return self.refusal(exc)

    async def joined_actor(self, sid: str, gathering_id: str) -> Actor:
        """The sender as an actor of the gathering; they must have joined its room."""
        connection = self.sockets.connections[sid]
        actor = await self.sockets._actor(connection, gathering_id)
        if gathering_id not in connection.joined:
            raise ProtocolError(ErrorCode.REJECTED, "join the gathering's room first")
        return actor

    def forget(self, sid: str) -> None:
        self.buckets.pop(sid, None)
