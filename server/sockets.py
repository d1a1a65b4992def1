"""The socket.io layer: authenticate, validate, dispatch to the command path. Thin."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import Actor
from facilitation.commands import JoinRoom
from facilitation.snapshot import live_view
from rooms.accounts import person_for_session
from rooms.context import ContextSource
from rooms.directory import actor_in_gathering
from rooms.live import Forbidden, GatheringNotFound, LiveRooms, Outcome
from rooms.models import Person
from rooms.presence import Change, Presence, PresenceFeed
from rooms.store import GatheringStore
from server.errors import ErrorCode, ProtocolError, error_answer
from server.protocol import COMMANDS, Envelope, SyncRoom, payload_of
from server.ratelimit import TokenBucket

SESSION_COOKIE = "forum_session"
SYNC_EVENTS_MAX = 500  # further behind than this, a client gets a snapshot instead
COMMANDS_PER_SECOND = 10
COMMAND_BURST = 30


def room_of(gathering_id: str) -> str:
    return f"g:{gathering_id}"


def person_room(gathering_id: str, person_id: int) -> str:
    """The socket.io room of one person's tabs in a gathering (entered at `room.join`), so
    a message reaches all of them on whichever worker they are connected."""
    return f"person:{gathering_id}:{person_id}"


@dataclass
class Connection:
    """What one process knows of one socket: identity only, plus its rate bucket."""

    person_id: int
    actors: dict[str, Actor] = field(default_factory=dict)
    joined: set[str] = field(default_factory=set)
    bucket: TokenBucket = field(
        default_factory=lambda: TokenBucket(COMMANDS_PER_SECOND, COMMAND_BURST))


class SocketLayer:
    def __init__(self, sio: socketio.AsyncServer, sessions: async_sessionmaker,
                 store: GatheringStore, presence: Presence) -> None:
        self.sio = sio
        self.sessions = sessions
        self.live = LiveRooms(store, publish=self.publish,
                              context=ContextSource(sessions, store, presence))
        self.presence = presence
        # presence changes our connections cause, broadcast together per short window
        self.presence_feed = PresenceFeed(self._publish_presence)
        self.connections: dict[str, Connection] = {}
        # called with the sid of every closed connection (the shared notes forget it)
        self.on_close: list[Callable[[str], Awaitable[None]]] = []
        # called with (gathering id, wire events) after every commit's broadcast, on the
        # worker that committed (the stage takes off who lost the floor). Under the
        # gathering's command lock: a hook must not wait for the gathering's state.
        self.after_publish: list[Callable[[str, list[dict[str, Any]]], Awaitable[None]]] = []
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)
        sio.on("command", self.on_command)

    async def publish(self, gathering_id: str, events: list[dict[str, Any]]) -> None:
        for event in events:
            await self.sio.emit("event", event, room=room_of(gathering_id))
        for hook in self.after_publish:
            await hook(gathering_id, events)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        request = environ["aiohttp.request"]
        person = await person_for_session(self.sessions, request.cookies.get(SESSION_COOKIE))
        if person is None:
            raise socketio.exceptions.ConnectionRefusedError(ErrorCode.UNAUTHENTICATED.value)
        self.connections[sid] = Connection(person_id=person.id)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        for hook in self.on_close:
            await hook(sid)
        connection = self.connections.pop(sid, None)
        if connection is None:
            return
        for gathering_id in connection.joined:
            change = await self.presence.leave(gathering_id, connection.person_id)
            if change is not None:
                self.presence_feed.add(gathering_id, change)

    async def on_command(self, sid: str, message: Any = None, *extra: Any) -> dict[str, Any]:
        try:
            if extra:
                raise ProtocolError(ErrorCode.INVALID_FORMAT, "a command is one JSON object")
            return await self._handle(sid, message)
        except Exception as exc:  # every failure becomes an error code in the ack
            return error_answer(exc)

    async def _handle(self, sid: str, message: Any) -> dict[str, Any]:
        connection = self.connections.get(sid)
        if connection is None:
            raise ProtocolError(ErrorCode.UNAUTHENTICATED, "sign in first")
        if not connection.bucket.take():
            raise ProtocolError(ErrorCode.RATE_LIMITED, "too many commands; slow down")
        if not isinstance(message, dict):
            raise ProtocolError(ErrorCode.INVALID_FORMAT, "a command is a JSON object")
        envelope = Envelope.model_validate(message)
        spec = COMMANDS.get(envelope.type)
        if spec is None:
            raise ProtocolError(ErrorCode.UNKNOWN_COMMAND, f"unknown command {envelope.type!r}")
        payload = spec.schema.model_validate(payload_of(message))
        actor = await self._actor(connection, envelope.gathering)
        if spec.type == "room.join":
            return await self._join(sid, connection, actor, envelope.gathering)
        if isinstance(payload, SyncRoom):
            return await self._sync(sid, connection, actor, envelope.gathering, payload.since)
        outcome = await self.live.execute(actor, envelope.gathering, payload.to_command(),
                                          envelope.id)
        return outcome.answer

    async def _actor(self, connection: Connection, gathering_id: str) -> Actor:
        actor = connection.actors.get(gathering_id)
        if actor is not None:
            return actor
        gathering = await self.live.store.gathering(gathering_id)
        if gathering is None:
            raise GatheringNotFound(gathering_id)
        async with self.sessions() as session:
            person = await session.get(Person, connection.person_id)
        actor = None if person is None else await actor_in_gathering(self.sessions, person,
                                                                    gathering)
        if actor is None:
            raise Forbidden("you are not a member of this gathering's theme")
        connection.actors[gathering_id] = actor
        return actor

    async def _join(self, sid: str, connection: Connection, actor: Actor,
                    gathering_id: str) -> dict[str, Any]:
        outcome = await self._enter(sid, connection, actor, gathering_id)
        snapshot = await self._snapshot(gathering_id, actor, outcome.state)
        return {"ok": True, "version": outcome.state.version, "snapshot": snapshot}

    async def _enter(self, sid: str, connection: Connection, actor: Actor,
                     gathering_id: str) -> Outcome:
        # Enter the room before reading state, so no event falls between the two.
        await self.sio.enter_room(sid, room_of(gathering_id))
        await self.sio.enter_room(sid, person_room(gathering_id, actor.person_id))
        if gathering_id not in connection.joined:
            connection.joined.add(gathering_id)
            change = await self.presence.arrive(gathering_id, _person(actor))
            if change is not None:
                self.presence_feed.add(gathering_id, change)
        return await self.live.execute(actor, gathering_id, JoinRoom())

    async def _sync(self, sid: str, connection: Connection, actor: Actor, gathering_id: str,
                    since: int) -> dict[str, Any]:
        if gathering_id not in connection.joined:
            # A reconnected client may catch up with room.sync alone: its new connection
            # must enter the room too, or it would never hear what happens next.
            await self._enter(sid, connection, actor, gathering_id)
        state = await self.live.state(gathering_id)
        behind = state.version - since
        if 0 <= behind <= SYNC_EVENTS_MAX:
            events = await self.live.store.events_since(gathering_id, since)
            return {"ok": True, "version": state.version, "server_now": time.time(),
                    "events": [e.to_wire(gathering_id) for e in events
                               if e.version <= state.version]}
        # too far behind, or our version went backwards (a reset): start afresh
        snapshot = await self._snapshot(gathering_id, actor, state)
        return {"ok": True, "version": state.version, "snapshot": snapshot}

    async def _snapshot(self, gathering_id: str, actor: Actor, state: Any) -> dict[str, Any]:
        gathering = await self.live.store.gathering(gathering_id)
        assert gathering is not None
        roster = await self.presence.roster(gathering_id)
        return {
            **live_view(state, viewer=actor.person_id),
            "gathering": {
                "id": gathering.id, "title": gathering.title, "number": gathering.number,
                "year": gathering.year, "theme": gathering.theme.name,
                "starts_at": gathering.starts_at.isoformat(),
                "planned_minutes": gathering.planned_minutes,
            },
            "presence": roster.people,
            "presence_rev": roster.rev,
            "you": _person(actor),
            "server_now": time.time(),
        }

    async def _publish_presence(self, gathering_id: str, changes: list[Change]) -> None:
        await self.sio.emit("presence", {
            "gathering": gathering_id, "type": "presence.changed",
            "data": {"changes": [change.to_wire() for change in changes]},
        }, room=room_of(gathering_id))


def _person(actor: Actor) -> dict[str, Any]:
    return {"person_id": actor.person_id, "name": actor.name, "municipality": actor.municipality,
            "role": actor.role.value, "stage": actor.stage, "tags": list(actor.tags)}
