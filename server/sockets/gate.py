"""The one gate every socket.io event passes, commands and the features' own events alike.

In order: the sender must be signed in (`unauthenticated`); each connection has a rate
budget per kind of message (`rate_limited`); a message is one JSON object of the event's
shape (`invalid_format`, `too_large`); the sender must be a member of the gathering the
message names (`not_found`, `forbidden`), with a role the rights table allows for the event
(facilitation/roles.py `RIGHTS`, the same table as the commands'), and, for most events,
must have joined the gathering's room (`rejected`). Every failure, here or in the handler,
becomes an error ack through one mapping (server/sockets/errors.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from facilitation import Actor
from facilitation.roles import may_send
from rooms.live import Forbidden
from server.sockets.bounded_json import too_deep
from server.sockets.errors import ErrorCode, ProtocolError
from server.sockets.ratelimit import TokenBucket


@dataclass(frozen=True)
class Budget:
    """How many messages of a kind one connection may send: `rate` a second, in bursts of
    `burst`, and never more than `burst` of them unanswered at once. `what` names them in
    the refusal.

    The second bound is what keeps a worker's memory in step with its work: each message
    waiting for its turn (a command waits for its gathering's lock) holds about 5.5 KiB
    (its JSON, schemas, task and frames). Under a load a worker cannot keep up with, the
    rate alone let the waiting grow without end (+241 MiB an hour in a soak); now one
    connection holds at most `burst` of them."""

    name: str
    rate: float
    burst: float
    what: str


@dataclass
class Connection:
    """What one process knows of one socket: identity only, plus its rate buckets."""

    person_id: int
    actors: dict[str, Actor] = field(default_factory=dict)
    joined: set[str] = field(default_factory=set)
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)  # budget -> unanswered messages
    # its arrivals in presence and its leaving at the close take turns (SocketLayer)
    presence_turn: asyncio.Lock = field(default_factory=asyncio.Lock)

    def take(self, budget: Budget) -> bool:
        bucket = self.buckets.get(budget.name)
        if bucket is None:
            bucket = self.buckets[budget.name] = TokenBucket(budget.rate, budget.burst)
        return bucket.take()


@dataclass(frozen=True)
class Caller:
    """Who sent a message that passed the gate: their socket, and who they are in the
    gathering the message names."""

    sid: str
    connection: Connection
    actor: Actor


class Addressed(Protocol):
    """A message that names its gathering."""

    @property
    def gathering(self) -> str: ...


Handler = Callable[[Caller, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class SocketEvent:
    """A socket.io event: its name (also its row in the rights table), how its message is
    read (a schema's `model_validate`: the result names its `gathering`), its rate budget
    and its handler."""

    name: str
    parse: Callable[[dict[str, Any]], Addressed]
    handler: Handler
    budget: Budget
    joined: bool = True  # the sender must have joined the gathering's room first
    # False for `command`: the command path checks each command type's own right
    rights: bool = True


ActorOf = Callable[[Connection, str], Awaitable[Actor]]
ErrorAnswer = Callable[[BaseException], dict[str, Any]]
# told of every answer: (socket event's name, the message as sent, the answer, seconds from
# receiving it to answering); the server's metrics (server/metrics.py)
Answered = Callable[[str, Any, dict[str, Any], float], None]


class Gate:
    def __init__(self, connections: dict[str, Connection], actor_of: ActorOf,
                 error_answer: ErrorAnswer) -> None:
        self.connections = connections
        self.actor_of = actor_of
        self.error_answer = error_answer  # server/sockets/errors.py, with the faults
        self.answered: Answered | None = None

    def connection(self, sid: str, budget: Budget) -> Connection:
        """The sender's connection, once they are known and within their budget."""
        connection = self.connections.get(sid)
        if connection is None:
            raise ProtocolError(ErrorCode.UNAUTHENTICATED, "sign in first")
        if connection.waiting.get(budget.name, 0) >= budget.burst:
            raise ProtocolError(ErrorCode.RATE_LIMITED, f"too many {budget.what} are waiting "
                                "for their answers; wait for them")
        if not connection.take(budget):
            raise ProtocolError(ErrorCode.RATE_LIMITED, f"too many {budget.what}; slow down")
        return connection

    async def answer(self, event: SocketEvent, sid: str, data: Any,
                     extra: tuple[Any, ...]) -> dict[str, Any]:
        if self.answered is None:
            return await self._gated(event, sid, data, extra)
        start = time.perf_counter()
        answer = await self._gated(event, sid, data, extra)
        self.answered(event.name, data, answer, time.perf_counter() - start)
        return answer

    async def _gated(self, event: SocketEvent, sid: str, data: Any,
                     extra: tuple[Any, ...]) -> dict[str, Any]:
        try:
            connection = self.connection(sid, event.budget)
        except Exception as exc:
            return self.error_answer(exc)
        waiting, name = connection.waiting, event.budget.name
        waiting[name] = waiting.get(name, 0) + 1
        try:
            return await self._answer(event, sid, connection, data, extra)
        finally:
            waiting[name] -= 1

    async def _answer(self, event: SocketEvent, sid: str, connection: Connection, data: Any,
                      extra: tuple[Any, ...]) -> dict[str, Any]:
        try:
            if too_deep(data):
                raise ProtocolError(ErrorCode.INVALID_FORMAT, "nested too deeply")
            if extra or not isinstance(data, dict):
                raise ProtocolError(ErrorCode.INVALID_FORMAT, "send one object")
            message = event.parse(data)
            gathering_id = message.gathering
            actor = await self.actor_of(connection, gathering_id)
            if event.rights and not may_send(actor.role, event.name):
                raise Forbidden(f"{actor.role} may not send {event.name}")
            if event.joined and gathering_id not in connection.joined:
                raise ProtocolError(ErrorCode.REJECTED, "join the gathering's room first")
            return await event.handler(Caller(sid, connection, actor), message)
        except Exception as exc:  # every failure becomes an error code in the ack
            return self.error_answer(exc)

    def handler(self, event: SocketEvent) -> Callable[..., Awaitable[dict[str, Any]]]:
        """The socket.io handler of `event`."""
        async def on_event(sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
            return await self.answer(event, sid, data, extra)
        return on_event
