"""Socket.IO events of the shared notes: `note.subscribe`, `note.unsubscribe` and `note`,
which carries y-protocols messages (sync step 1, step 2, update; awareness) as bytes.

Reading is for everyone in the gathering; every update is checked against the gathering's
current state (`may_write_note`) as the NoteBook stores it (with the others of its batch:
one read of the state for all), and relayed to the note's other readers only after it is
durable; the updates stored together go out merged, in one message. Awareness
(cursors, names) is relayed, never stored; the server puts the person's own name in it and
drops colours that are not `#rrggbb`. docs/protocol.md, "Shared notes", is the public
description."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import socketio
from pycrdt import (
    YMessageType,
    YSyncMessageType,
    merge_updates,
    write_message,
    write_var_uint,
)
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from facilitation import Actor, GatheringState
from facilitation.notes import (
    is_note_id,
    may_read_note,
    may_write_note,
    note_exists,
)
from rooms.notes import MalformedUpdate, NoteBook, Reader, read_sync, sync_message
from rooms.tasks import running
from server.sockets.errors import ErrorCode, ProtocolError
from server.sockets.gate import Budget, Caller, SocketEvent
from server.sockets.layer import SocketLayer

log = logging.getLogger(__name__)

NOTE_MESSAGE_MAX = 32 * 1024  # bytes of one y-protocols message (one frame is at most 64 KiB)
AWARENESS_MAX = 4 * 1024
AWARENESS_CLIENTS_MAX = 4  # Yjs client ids one connection may announce per note
SUBSCRIPTIONS_MAX = 40  # notes one connection reads at once (the harvest shows every group)
NOTE_MESSAGES = Budget("notes", rate=20, burst=40, what="note messages")
IDLE_SECONDS = 600  # a document nobody used for this long is dropped from memory
QUERY_AWARENESS = 3  # y-protocols' "tell me your awareness state"
DEFAULT_COLOR = "#1a5c8a"
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
HEX_COLOR_ALPHA = re.compile(r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")

NoteKey = tuple[str, str]  # (gathering id, note id)


def note_room(gathering_id: str, note_id: str) -> str:
    return f"n:{gathering_id}:{note_id}"


def _note_id(value: str) -> str:
    if not is_note_id(value):
        raise ValueError("a note id is `plenary`, `facilitators` or `r<round>-g<group>`")
    return value


NoteId = Annotated[str, StringConstraints(min_length=1, max_length=16),
                   AfterValidator(_note_id)]


class NoteRef(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    gathering: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    note: NoteId

    @property
    def key(self) -> NoteKey:
        return (self.gathering, self.note)


class NoteMessage(NoteRef):
    message: Annotated[bytes, Field(min_length=1, max_length=NOTE_MESSAGE_MAX)]


class FreshStates:
    """A gathering's state for the rights check of each note update, read from the store
    after the update arrived, but one read for all who ask while the previous read is on
    its way (a batch of updates asks at once): at 100 typists the check cost a read each
    before (two queries through aiosqlite's thread, about a fifth of an update's CPU)."""

    def __init__(self, read: Callable[[str], Awaitable[GatheringState]]) -> None:
        self.read = read
        self._next: dict[str, asyncio.Future[GatheringState]] = {}  # the read not yet begun
        self._readers: dict[str, asyncio.Task[None]] = {}

    async def get(self, gathering_id: str) -> GatheringState:
        waiting = self._next.get(gathering_id)
        if waiting is None:
            waiting = self._next[gathering_id] = asyncio.get_running_loop().create_future()
            if gathering_id not in self._readers:
                self._readers[gathering_id] = asyncio.create_task(
                    self._reading(gathering_id), context=contextvars.Context())
        return await asyncio.shield(waiting)

    async def _reading(self, gathering_id: str) -> None:
        try:
            while (waiting := self._next.pop(gathering_id, None)) is not None:
                try:  # begun after every caller of `waiting` arrived
                    waiting.set_result(await self.read(gathering_id))
                except Exception as exc:
                    waiting.set_exception(exc)
                    waiting.exception()  # retrieved, even if every caller gave up
                except BaseException:
                    waiting.cancel()
                    raise
        finally:
            del self._readers[gathering_id]
            stranded = self._next.pop(gathering_id, None)  # cancelled: the server stops
            if stranded is not None:
                stranded.cancel()


@dataclass(eq=False)
class Outbox:
    updates: list[tuple[str, bytes]] = field(default_factory=list)  # (sender sid, update)
    task: asyncio.Task[None] | None = None  # sending them, while there are any


@dataclass
class NoteConnection:
    # note -> the Yjs client ids this connection announced in its awareness -> their clock
    notes: dict[NoteKey, dict[int, int]] = field(default_factory=dict)


class NoteSockets:
    def __init__(self, sio: socketio.AsyncServer, sockets: SocketLayer, book: NoteBook) -> None:
        self.sio = sio
        self.sockets = sockets
        self.book = book
        self.connections: dict[str, NoteConnection] = {}
        self.states = FreshStates(sockets.live.state)
        self.outboxes: dict[NoteKey, Outbox] = {}  # stored updates on their way to readers
        # told of each update, True if stored and relayed, False if refused (the metrics)
        self.updated: Callable[[bool], None] | None = None
        sockets.register(
            # reading is for everyone in the gathering, before joining its room too
            SocketEvent("note.subscribe", NoteRef.model_validate, self._subscribe,
                        NOTE_MESSAGES, joined=False),
            SocketEvent("note.unsubscribe", NoteRef.model_validate, self._unsubscribe,
                        NOTE_MESSAGES, joined=False),
            SocketEvent("note", NoteMessage.model_validate, self._message, NOTE_MESSAGES,
                        joined=False))
        sockets.on_close.append(self.on_disconnect)

    async def on_disconnect(self, sid: str) -> None:
        mine = self.connections.pop(sid, None)
        try:
            for key, clients in ({} if mine is None else mine.notes).items():
                await self._farewell(sid, key, clients)
        except Exception:
            log.exception("could not announce that %s left its notes", sid)

    async def _subscribe(self, caller: Caller, ref: NoteRef) -> dict[str, Any]:
        sid, actor = caller.sid, caller.actor
        state = await self.sockets.live.state(ref.gathering)
        if not note_exists(state, ref.note):
            raise ProtocolError(ErrorCode.NOT_FOUND, "no such note in this gathering")
        if not may_read_note(state, actor, ref.note):
            raise ProtocolError(ErrorCode.FORBIDDEN, "these notes are the facilitators' own")
        self.sockets.ensure_open(sid)  # else on_disconnect ran: nothing would forget `mine`
        mine = self.connections.setdefault(sid, NoteConnection())
        if ref.key not in mine.notes and len(mine.notes) >= SUBSCRIPTIONS_MAX:
            raise ProtocolError(ErrorCode.REJECTED, "too many notes open at once")
        await self.sio.enter_room(sid, note_room(*ref.key))
        mine.notes.setdefault(ref.key, {})
        # ask the others for their cursors, so the newcomer sees them at once
        await self._relay(sid, ref.key, bytes([QUERY_AWARENESS]))
        return {"ok": True, "may_write": may_write_note(state, actor, ref.note)}

    async def _unsubscribe(self, caller: Caller, ref: NoteRef) -> dict[str, Any]:
        sid = caller.sid
        mine = self.connections.get(sid)
        clients = None if mine is None else mine.notes.pop(ref.key, None)
        await self.sio.leave_room(sid, note_room(*ref.key))
        if clients:
            await self._farewell(sid, ref.key, clients)
        return {"ok": True}

    async def _message(self, caller: Caller, msg: NoteMessage) -> dict[str, Any]:
        sid, actor = caller.sid, caller.actor
        mine = self.connections.get(sid)
        clients = None if mine is None else mine.notes.get(msg.key)
        if clients is None:
            raise ProtocolError(ErrorCode.REJECTED, "subscribe to the note first")
        kind = msg.message[0]
        if kind == YMessageType.AWARENESS:
            relay = awareness_from(actor, msg.message, clients)
            await self._relay(sid, msg.key, relay)
            return {"ok": True}
        if kind != YMessageType.SYNC:
            raise ProtocolError(ErrorCode.INVALID_FORMAT, "unknown y-protocols message type")
        update = _is_update(msg.message)
        try:
            # the rights are checked when the update's batch is stored (`NoteBook.apply`)
            answer = await self.book.handle_sync(
                msg.gathering, msg.note, msg.message,
                writer=actor.person_id if update else None,
                may_write=lambda: self._may_write(actor, msg))
        except Exception:
            if update and self.updated is not None:
                self.updated(False)
            raise
        if answer.relay is not None:
            if self.updated is not None:
                self.updated(True)
            self._pass_on(sid, msg.key, read_sync(answer.relay)[1])
        if answer.reply is not None:
            return {"ok": True, "message": answer.reply}
        return {"ok": True}

    async def _may_write(self, actor: Actor, msg: NoteMessage) -> bool:
        state = await self.states.get(msg.gathering)
        return may_write_note(state, actor, msg.note)

    def _pass_on(self, sid: str, key: NoteKey, update: bytes) -> None:
        """Relay a stored update to the note's other readers, soon: the updates stored
        together (one group commit), or while the previous relay was being sent, go
        together, merged into one message: at 100 typists, relaying each alone was 40,000
        websocket frames a second (two per reader: the event and its binary attachment)."""
        outbox = self.outboxes.setdefault(key, Outbox())
        outbox.updates.append((sid, update))
        if outbox.task is None:
            outbox.task = asyncio.create_task(self._relaying(key, outbox),
                                                context=contextvars.Context())

    async def _relaying(self, key: NoteKey, outbox: Outbox) -> None:
        try:
            while outbox.updates:
                batch, outbox.updates = outbox.updates, []
                try:
                    await self._relay_updates(key, batch)
                except Exception:
                    log.exception("could not relay %d updates of note %s", len(batch), key)
        finally:
            del self.outboxes[key]

    async def _relay_updates(self, key: NoteKey, batch: list[tuple[str, bytes]]) -> None:
        """To the room but the senders: all of them merged, one message; to each sender
        (still reading the note): the others', merged. Nobody gets their own back, and
        each reader gets them in the order they were stored."""
        senders = list(dict.fromkeys(sid for sid, _ in batch))
        await self._relay(senders, key, update_message([update for _, update in batch]))
        for sender in senders if len(senders) > 1 else []:
            mine = self.connections.get(sender)
            if mine is not None and key in mine.notes:
                others = [update for sid, update in batch if sid != sender]
                await self._emit(key, update_message(others), to=sender)

    async def _emit(self, key: NoteKey, message: bytes, **to: Any) -> None:
        await self.sio.emit("note", {"gathering": key[0], "note": key[1], "message": message},
                            **to)

    async def _relay(self, sid: str | list[str], key: NoteKey, message: bytes) -> None:
        """To the note's readers but `sid`: one emit to its room."""
        await self._emit(key, message, room=note_room(*key), skip_sid=sid)

    async def _farewell(self, sid: str, key: NoteKey, clients: dict[int, int]) -> None:
        """Tell the others this connection's cursors are gone (as y-protocols does)."""
        if clients:
            entries = [(client, clock + 1, None) for client, clock in clients.items()]
            await self._relay(sid, key, awareness_message(entries))

    @contextlib.asynccontextmanager
    async def janitor(self) -> AsyncIterator[None]:
        """While serving: drop documents nobody used for IDLE_SECONDS."""
        async def sweep() -> None:
            while True:
                await asyncio.sleep(IDLE_SECONDS / 10)
                self.book.evict_idle(IDLE_SECONDS)

        async with running(sweep()):
            yield


def update_message(updates: list[bytes]) -> bytes:
    """One y-protocols sync update holding `updates` (merged when several)."""
    update = updates[0] if len(updates) == 1 else merge_updates(*updates)
    return sync_message(YSyncMessageType.SYNC_UPDATE, update)


def _is_update(message: bytes) -> bool:
    return len(message) > 1 and message[1] in (YSyncMessageType.SYNC_STEP2,
                                               YSyncMessageType.SYNC_UPDATE)


def awareness_from(actor: Actor, message: bytes, clients: dict[int, int]) -> bytes:
    """Check an awareness message and return the one to relay: names are the sender's own,
    colours are `#rrggbb`. Records the client ids (and clocks) the connection announced."""
    if len(message) > AWARENESS_MAX:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"awareness is at most {AWARENESS_MAX} bytes")
    entries = read_awareness(message)
    new = {client for client, _, _ in entries} - set(clients)
    if len(clients) + len(new) > AWARENESS_CLIENTS_MAX:
        raise ProtocolError(ErrorCode.REJECTED, "too many awareness client ids")
    clean = [(client, clock, _clean_state(state, actor.name)) for client, clock, state in entries]
    for client, clock, _ in clean:
        clients[client] = max(clock, clients.get(client, 0))
    return awareness_message(clean)


def read_awareness(message: bytes) -> list[tuple[int, int, Any]]:
    reader = Reader(message)
    if reader.uint() != YMessageType.AWARENESS:
        raise MalformedUpdate("not an awareness message")
    body = Reader(reader.chunk())
    reader.end()
    entries = []
    for _ in range(body.uint()):
        client, clock, raw = body.uint(), body.uint(), body.chunk()
        try:
            state = json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            raise MalformedUpdate("an awareness state is JSON") from exc
        entries.append((client, clock, state))
    body.end()
    if not 0 < len(entries) <= AWARENESS_CLIENTS_MAX:
        raise MalformedUpdate("an awareness update names 1 to 4 clients")
    return entries


def awareness_message(entries: list[tuple[int, int, Any]]) -> bytes:
    body = [write_var_uint(len(entries))]
    for client, clock, state in entries:
        raw = json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode()
        body += [write_var_uint(client), write_var_uint(clock), write_message(raw)]
    return bytes([YMessageType.AWARENESS]) + write_message(b"".join(body))


def _clean_state(state: Any, name: str) -> dict[str, Any] | None:
    if state is None:
        return None
    if not isinstance(state, dict):
        raise MalformedUpdate("an awareness state is an object or null")
    user = state.get("user")
    if not isinstance(user, dict):
        user = {}
    color, light = user.get("color"), user.get("colorLight")
    clean = {"name": name,
             "color": color if isinstance(color, str) and HEX_COLOR.match(color) else
             DEFAULT_COLOR}
    if isinstance(light, str) and HEX_COLOR_ALPHA.match(light):
        clean["colorLight"] = light
    return {**state, "user": clean}


def setup_notes(sio: socketio.AsyncServer, sockets: SocketLayer, book: NoteBook) -> NoteSockets:
    return NoteSockets(sio, sockets, book)
