"""The socket.io layer: who is connected, the gate (server/sockets/gate.py) every event
passes, and the `command` event: validate, dispatch to the one command path. Thin."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import socketio
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import Actor
from facilitation.commands import JoinRoom, SyncRoom
from facilitation.notes import note_template
from facilitation.snapshot import live_view
from rooms.accounts import person_id_for_session
from rooms.channels import person_anywhere, person_room, room_of
from rooms.context import ContextSource
from rooms.directory import member_actor, session_member
from rooms.faults import Faults
from rooms.live import Forbidden, GatheringNotFound, LiveRooms, Outcome
from rooms.presence import Change, Presence, PresenceFeed
from rooms.restage import restage
from rooms.store import GatheringStore
from server.settings import SESSION_COOKIE
from server.sockets.bounded_json import too_deep
from server.sockets.broadcast import Broadcast
from server.sockets.errors import ErrorCode, ProtocolError, error_answer
from server.sockets.gate import Budget, Caller, Connection, Gate, SocketEvent
from server.sockets.headers import Headers
from server.sockets.protocol import COMMANDS as COMMAND_SPECS
from server.sockets.protocol import ConnectAuth, Envelope, Payload, payload_of
from server.sockets.roster import Rosters

log = logging.getLogger(__name__)

SYNC_EVENTS_MAX = 500  # further behind than this, a client gets a snapshot instead
COMMANDS = Budget("commands", rate=10, burst=30, what="commands")


@dataclass(frozen=True)
class CommandMessage:
    """A `command` as read: its envelope and its payload, by its command's schema."""

    envelope: Envelope
    payload: Payload

    @property
    def gathering(self) -> str:
        return self.envelope.gathering


def read_command(message: dict[str, Any]) -> CommandMessage:
    envelope = Envelope.model_validate(message)
    spec = COMMAND_SPECS.get(envelope.type)
    if spec is None:
        raise ProtocolError(ErrorCode.UNKNOWN_COMMAND, f"unknown command {envelope.type!r}")
    return CommandMessage(envelope, spec.schema.model_validate(payload_of(message)))


class SocketLayer:
    def __init__(self, sio: socketio.AsyncServer, sessions: async_sessionmaker,
                 store: GatheringStore, presence: Presence, faults: Faults | None = None) -> None:
        self.sio = sio
        self.sessions = sessions
        self.faults = faults or Faults()
        self.live = LiveRooms(store, publish=self.publish,
                              context=ContextSource(sessions, store, presence))
        self.presence = presence
        self.headers = Headers(sessions)
        # presence changes our connections cause, broadcast together per short window
        self.presence_feed = PresenceFeed(self._publish_presence)
        self.broadcast = Broadcast(sio)
        self.rosters = Rosters(presence)  # the snapshots' presence, encoded once per revision
        self.connections: dict[str, Connection] = {}
        self.gate = Gate(self.connections, self.actor, self.error_answer)
        # called with the sid of every closed connection (the shared notes forget it)
        self.on_close: list[Callable[[str], Awaitable[None]]] = []
        # called with (gathering id, wire events) after every commit's broadcast, on the
        # worker that committed (the stage takes off who lost the floor). Under the
        # gathering's command lock: a hook must not wait for the gathering's state.
        self.after_publish: list[Callable[[str, list[dict[str, Any]]], Awaitable[None]]] = []
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)
        self.register(SocketEvent("command", read_command, self.on_command, COMMANDS,
                                  joined=False, rights=False))

    def register(self, *events: SocketEvent) -> None:
        """Let these events in, through the gate."""
        for event in events:
            self.sio.on(event.name, self.gate.handler(event))

    @contextlib.asynccontextmanager
    async def presence_alive(self) -> AsyncIterator[None]:
        """While serving: this worker's presence heartbeat; at the stop, its people leave
        and the last coalesced presence changes go out (before Redis closes)."""
        async with self.presence.alive(self.presence_feed.add):
            yield
        await self.presence_feed.close()

    async def restage(self, theme_id: int) -> None:
        """A project of the theme changed (committed): the people of its gatherings who are
        in the room show their stage now, pushed as any presence change (a new entry)."""
        try:
            for gathering_id, change in await restage(self.sessions, self.presence, theme_id):
                self.presence_feed.add(gathering_id, change)
        except Exception:  # the change is saved; grouping reads it, a new join shows it
            log.exception("presence: showing the new stages of theme %s failed", theme_id)

    async def note_template(self, gathering_id: str, note_id: str) -> str:
        """A new note's first text: its breakout item's note template."""
        return note_template(await self.live.state(gathering_id), note_id)

    async def publish(self, gathering_id: str, events: list[dict[str, Any]]) -> None:
        await self.broadcast.send(gathering_id, events)
        for hook in self.after_publish:
            await hook(gathering_id, events)

    def error_answer(self, exc: BaseException) -> dict[str, Any]:
        """The ack for a failure, outages counted in this process's faults."""
        return error_answer(exc, self.faults)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if too_deep(auth):
            raise socketio.exceptions.ConnectionRefusedError(ErrorCode.INVALID_FORMAT.value)
        request = environ["aiohttp.request"]
        try:
            person_id, actors = await self._signed_in(request.cookies.get(SESSION_COOKIE),
                                                      _named_gathering(auth))
        except Exception as exc:  # refused with its code (`unavailable`), not the library's
            code = self.error_answer(exc)["error"]["code"]
            raise socketio.exceptions.ConnectionRefusedError(code) from exc
        if person_id is None:
            raise socketio.exceptions.ConnectionRefusedError(ErrorCode.UNAUTHENTICATED.value)
        self.connections[sid] = Connection(person_id=person_id, actors=actors)
        await self.sio.enter_room(sid, person_anywhere(person_id))

    async def _signed_in(self, token: str | None,
                         gathering_id: str | None) -> tuple[int | None, dict[str, Actor]]:
        """Whose connection this is; and when it names its gathering as it opens (the
        browser does, in `auth`), that person as an actor of it, found by the same query,
        so that the join needs no lookup of its own."""
        header = await self.headers.get(gathering_id) if token and gathering_id else None
        if token is None or gathering_id is None or header is None or header.cancelled:
            return await person_id_for_session(self.sessions, token), {}
        found = await session_member(self.sessions, token, header.theme_id)
        if found is None:
            return None, {}
        person_id, actor = found
        return person_id, {} if actor is None else {gathering_id: actor}

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        for hook in self.on_close:
            await hook(sid)
        connection = self.connections.pop(sid, None)
        if connection is None:
            return
        async with connection.presence_turn:  # after an arrival under way (_arrive)
            for gathering_id in connection.joined:
                change = await self.presence.leave(gathering_id, connection.person_id)
                if change is not None:
                    self.presence_feed.add(gathering_id, change)

    def is_open(self, sid: str) -> bool:
        """Whether `sid`'s connection is open: false as soon as its close begins, when the
        close hooks (`on_close`, presence) may already have run."""
        return bool(self.sio.manager.is_connected(sid, "/"))

    def ensure_open(self, sid: str) -> None:
        """For a handler about to enter rooms or keep something for `sid` after an await: a
        tab may have closed meanwhile (during its own subscribe or join). Refused quietly,
        as nobody waits for the answer; socket.io would raise for a sid it forgot."""
        if not self.is_open(sid):
            raise ProtocolError(ErrorCode.REJECTED, "the connection has closed")

    async def on_command(self, caller: Caller, message: CommandMessage) -> dict[str, Any]:
        sid, connection, actor = caller.sid, caller.connection, caller.actor
        gathering_id = message.gathering
        command = message.payload.to_command()
        if isinstance(command, JoinRoom):
            return await self._join(sid, connection, actor, gathering_id)
        if isinstance(command, SyncRoom):
            return await self._sync(sid, connection, actor, gathering_id, command.since)
        outcome = await self.live.execute(actor, gathering_id, command, message.envelope.id)
        return outcome.answer

    async def actor(self, connection: Connection, gathering_id: str) -> Actor:
        """The connection's person as an actor of the gathering (cached per connection)."""
        actor = connection.actors.get(gathering_id)
        if actor is not None:
            return actor
        header = await self.headers.get(gathering_id)
        if header is None:
            raise GatheringNotFound(gathering_id)
        if header.cancelled:  # its room is never opened
            raise Forbidden("the gathering was cancelled")
        actor = await member_actor(self.sessions, connection.person_id, header.theme_id)
        if actor is None:
            raise Forbidden("you are not a member of this gathering's theme")
        connection.actors[gathering_id] = actor
        return actor

    async def _join(self, sid: str, connection: Connection, actor: Actor,
                    gathering_id: str) -> dict[str, Any]:
        entered = time.monotonic()
        outcome = await self._enter(sid, connection, actor, gathering_id)
        snapshot = await self._snapshot(gathering_id, actor, outcome.state, entered)
        return {"ok": True, "version": outcome.state.version, "snapshot": snapshot}

    async def _enter(self, sid: str, connection: Connection, actor: Actor,
                     gathering_id: str) -> Outcome:
        self.ensure_open(sid)
        # Enter the room before reading state, so no event falls between the two.
        await self.sio.enter_room(sid, room_of(gathering_id))
        await self.sio.enter_room(sid, person_room(gathering_id, actor.person_id))
        was_here = gathering_id in connection.joined
        try:
            await self._arrive(sid, connection, actor, gathering_id)
            return await self.live.execute(actor, gathering_id, JoinRoom())
        except Exception:  # refused (an outage): not in the room, hearing nothing of it
            if not was_here:
                await self._depart(sid, connection, gathering_id)
            raise

    async def _depart(self, sid: str, connection: Connection, gathering_id: str) -> None:
        """Undo a join that failed halfway: out of the rooms, and no longer counted."""
        await self.sio.leave_room(sid, room_of(gathering_id))
        await self.sio.leave_room(sid, person_room(gathering_id, connection.person_id))
        async with connection.presence_turn:
            if gathering_id not in connection.joined:
                return
            connection.joined.discard(gathering_id)
            try:
                change = await self.presence.leave(gathering_id, connection.person_id)
            except Exception:  # the outage goes on: its worker's key expires and sweeps it
                log.warning("presence: could not take back a failed join to %s", gathering_id)
                return
            if change is not None:
                self.presence_feed.add(gathering_id, change)

    async def _arrive(self, sid: str, connection: Connection, actor: Actor,
                      gathering_id: str) -> None:
        """Count the connection present in the gathering, once. A close waits for an
        arrival under way and takes it out again; once the close has begun, none counts."""
        async with connection.presence_turn:
            if gathering_id in connection.joined or not self.is_open(sid):
                return
            change = await self.presence.arrive(gathering_id, _person(actor))
            connection.joined.add(gathering_id)
            if change is not None:
                self.presence_feed.add(gathering_id, change)

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
        snapshot = await self._snapshot(gathering_id, actor, state, time.monotonic())
        return {"ok": True, "version": state.version, "snapshot": snapshot}

    async def _snapshot(self, gathering_id: str, actor: Actor, state: Any,
                        entered: float) -> dict[str, Any]:
        """`entered`: when the connection entered the room (monotonic), or later."""
        header = await self.headers.get(gathering_id)
        assert header is not None
        presence = await self.rosters.for_snapshot(gathering_id, actor, entered)
        return {
            **live_view(state, viewer=actor.person_id),
            "gathering": header.view(),
            **presence,
            "you": _person(actor),
            "server_now": time.time(),
        }

    async def _publish_presence(self, gathering_id: str, changes: list[Change]) -> None:
        await self.sio.emit("presence", {
            "gathering": gathering_id, "type": "presence.changed",
            "data": {"changes": [change.to_wire() for change in changes]},
        }, room=room_of(gathering_id))


def _named_gathering(auth: Any) -> str | None:
    """The gathering a connection names as it opens, if it names one well."""
    try:
        return ConnectAuth.model_validate(auth).gathering if isinstance(auth, dict) else None
    except ValidationError:
        return None


def _person(actor: Actor) -> dict[str, Any]:
    return {"person_id": actor.person_id, "name": actor.name, "municipality": actor.municipality,
            "role": actor.role.value, "stage": actor.stage, "tags": list(actor.tags)}
