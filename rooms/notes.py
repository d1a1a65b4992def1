"""Shared notes: one authoritative Yjs document (pycrdt) per (gathering, note), kept durable.

Every accepted update is a row in `note_updates`, committed before it is acknowledged or
relayed. The updates to one note that arrive while its transaction is on its way are stored
together in the next one (group commit: at 100 typists, 200 updates a second, one commit
and one rights read each cost most of a process's CPU); each is still checked and refused
alone, and acknowledged only after the commit that holds it. A process keeps the documents
it serves in memory and, before it serves a sync or applies updates, catches up by `seq` on
the rows other processes committed, so any number of worker processes serve the same text.
Writers of one note take turns across processes (a PostgreSQL advisory lock, or SQLite's
write lock); the unique (gathering, note, seq) is the guarantee behind it. When the log
passes `compact_after` rows, the batch being written is the whole document instead (one
snapshot row) and the rows before it go, in the same transaction.

An update is first tried on a probe (a second copy of the document): if it does not decode,
depends on changes the server does not have, adds anything but plain text to the shared
`Text` named "text", or makes the note too large, it is refused and the document is not
touched. A new note is seeded from its template once: the seed is the row with seq 1,
written under the lock; a second process that tries too loses on the unique key and loads
the winner's. The seed is also made with a fixed Yjs client id, so two seeds of the same
template are the same Yjs item, byte for byte."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

import pycrdt
from pycrdt import Doc, Text, YMessageType, YSyncMessageType
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rooms.batches import Batches, Waiting
from rooms.db import session_or_new, write_locked
from rooms.models import NoteUpdate

TEXT = "text"  # the name of the shared Text in every note; the browser binds to the same
SEED_CLIENT_ID = 0x5EED  # the Yjs client id of every template seed
COMPACT_AFTER = 200  # rows in a note's log before the next write is a snapshot
MAX_NOTE_BYTES = 256 * 1024  # the text of one note, in UTF-8
MAX_ATTEMPTS = 5
MAX_BATCH = 100  # updates stored in one transaction at most
EMPTY_UPDATE = b"\x00\x00"  # a Yjs update that changes nothing
NOTE_LOCK_SPACE = 0x4E54  # "NT": first key of PostgreSQL advisory locks taken here

Template = Callable[[str, str], Awaitable[str]]  # (gathering, note) -> the text a note starts with
WriteCheck = Callable[[], Awaitable[bool]]  # may the sender write in the note now?


class NoteRefused(Exception):
    """An update or message the server did not apply; the document is unchanged."""

    code = "invalid_format"


class MalformedUpdate(NoteRefused):
    code = "invalid_format"


class NoteTooLarge(NoteRefused):
    code = "too_large"


class ReadOnly(NoteRefused):
    code = "forbidden"


def stopping() -> NoteRefused:
    return NoteRefused("the server is stopping; send the update again")


class Reader:
    """Strict reader of lib0 encoding (var uints, var byte arrays): short input is an error."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def uint(self) -> int:
        value, shift = 0, 0
        while True:
            if self.pos >= len(self.data) or shift > 56:
                raise MalformedUpdate("truncated or overlong number")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    def chunk(self) -> bytes:
        length = self.uint()
        if self.pos + length > len(self.data):
            raise MalformedUpdate("truncated message")
        chunk = self.data[self.pos:self.pos + length]
        self.pos += length
        return chunk

    def end(self) -> None:
        if self.pos != len(self.data):
            raise MalformedUpdate("trailing bytes after the message")


def read_sync(message: bytes) -> tuple[YSyncMessageType, bytes]:
    """A y-protocols sync message: (step1 | step2 | update, its state vector or update)."""
    reader = Reader(message)
    if reader.uint() != YMessageType.SYNC:
        raise MalformedUpdate("not a sync message")
    kind = reader.uint()
    if kind not in set(YSyncMessageType):
        raise MalformedUpdate("unknown sync message type")
    payload = reader.chunk()
    reader.end()
    return YSyncMessageType(kind), payload


def sync_message(kind: YSyncMessageType, payload: bytes) -> bytes:
    return bytes([YMessageType.SYNC, kind]) + pycrdt.write_message(payload)


def seed_update(template: str) -> bytes:
    doc: Doc = Doc(client_id=SEED_CLIENT_ID)
    doc.get(TEXT, type=Text).insert(0, template)
    return doc.get_update()


def _new_doc(update: bytes | None = None) -> Doc:
    doc: Doc = Doc()
    doc.get(TEXT, type=Text)
    if update is not None:
        doc.apply_update(update)
    return doc


@dataclass(frozen=True)
class Pending:
    """An update waiting for the transaction that stores it."""

    update: bytes
    person_id: int | None
    may_write: WriteCheck | None


_Waiting = Waiting[Pending, None]


async def _allowed(batch: list[_Waiting]) -> list[_Waiting]:
    """The updates whose senders may still write; the others are refused."""
    checked = [waiting for waiting in batch if waiting.item.may_write is not None]
    answers = await asyncio.gather(*(w.item.may_write() for w in checked if w.item.may_write),
                                   return_exceptions=True)
    for waiting, answer in zip(checked, answers, strict=True):
        if isinstance(answer, Exception):
            waiting.fail(answer)
        elif answer is not True:
            waiting.fail(ReadOnly("you may read this note, not write in it"))
    return [waiting for waiting in batch if not waiting.done.done()]


@dataclass(eq=False)
class _Note:
    doc: Doc = field(default_factory=_new_doc)
    probe: Doc = field(default_factory=_new_doc)  # the copy an update is tried on first
    seq: int = 0  # the last row applied
    rows: int = 0  # rows in the log now: since (and including) the last snapshot
    seeded: bool = False  # a seed was written, or found unnecessary
    used: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def apply_row(self, row: NoteUpdate) -> None:
        self.doc.apply_update(row.data)
        self.probe.apply_update(row.data)
        self.seq = row.seq
        self.rows = 1 if row.kind == "snapshot" else self.rows + 1
        self.seeded = True

    def reset_probe(self) -> None:
        self.probe = _new_doc(self.doc.get_update())

    def text(self) -> str:
        return str(self.doc.get(TEXT, type=Text))

    def try_batch(self, batch: list[_Waiting]) -> list[_Waiting]:
        """Try each update on the probe in turn; those refused are told so at once (the
        probe is then rebuilt with the ones accepted before). Returns the accepted."""
        accepted: list[_Waiting] = []
        for waiting in batch:
            try:
                self.try_update(waiting.item.update)
            except NoteRefused as exc:
                waiting.fail(exc)
                for earlier in accepted:
                    self.probe.apply_update(earlier.item.update)
            else:
                accepted.append(waiting)
        return accepted

    def try_update(self, update: bytes) -> None:
        """Apply `update` to the probe and check the result; refuse (probe reset) if bad.

        pycrdt raises ValueError for an update that does not decode (nothing applied), but
        RuntimeError for one that fails while integrating, after applying part of it; and
        a Rust panic is a BaseException. Hence the probe: the document is never touched."""
        before = len(str(self.probe.get(TEXT, type=Text)).encode())
        try:
            self.probe.apply_update(update)
            _check(self.probe, update, before)
        except NoteRefused:
            self.reset_probe()
            raise
        except BaseException as exc:
            self.reset_probe()
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise MalformedUpdate(f"not a Yjs update: {exc}") from exc


def _check(probe: Doc, update: bytes, before: int) -> None:
    if pycrdt.get_update(update, probe.get_state())[:1] != b"\x00":
        raise MalformedUpdate("the update depends on changes the server does not have")
    if set(probe.keys()) != {TEXT}:
        raise MalformedUpdate(f"a note holds one shared text, {TEXT!r}")
    shared = probe.get(TEXT, type=Text)
    size = len(str(shared).encode())
    if len(shared) != size:
        raise MalformedUpdate("a note holds plain text only")
    if size > MAX_NOTE_BYTES and size > before:
        raise NoteTooLarge(f"a note holds at most {MAX_NOTE_BYTES} bytes of text")


@dataclass(frozen=True)
class SyncAnswer:
    reply: bytes | None = None  # to the sender: sync step 2, for its step 1
    relay: bytes | None = None  # to everyone else reading the note: the accepted update


class NoteBook:
    """The shared notes this process serves. Every method takes (gathering id, note id)."""

    def __init__(self, sessions: async_sessionmaker, template: Template, *,
                 compact_after: int = COMPACT_AFTER,
                 clock: Callable[[], float] = time.time) -> None:
        self.sessions = sessions
        self.template = template
        self.compact_after = compact_after
        self.clock = clock
        self._notes: dict[tuple[str, str], _Note] = {}
        self._batches: Batches[tuple[str, str], Pending, None] = Batches(
            self._flush, MAX_BATCH, stopping)

    async def handle_sync(self, gathering_id: str, note_id: str, message: bytes, *,
                          writer: int | None, may_write: WriteCheck | None = None
                          ) -> SyncAnswer:
        """One y-protocols sync message. `writer` is the sender's person id if they may
        write this note, else None: their updates are refused (`ReadOnly`). `may_write`,
        if given, is asked again just before the update is stored (see `apply`)."""
        kind, payload = read_sync(message)
        if kind == YSyncMessageType.SYNC_STEP1:
            update = await self.update_since(gathering_id, note_id, payload)
            return SyncAnswer(reply=sync_message(YSyncMessageType.SYNC_STEP2, update))
        if payload == EMPTY_UPDATE:
            return SyncAnswer()
        if writer is None:
            raise ReadOnly("you may read this note, not write in it")
        await self.apply(gathering_id, note_id, payload, person_id=writer, may_write=may_write)
        return SyncAnswer(relay=sync_message(YSyncMessageType.SYNC_UPDATE, payload))

    async def update_since(self, gathering_id: str, note_id: str, state_vector: bytes) -> bytes:
        """What a client with `state_vector` lacks (all of it for b"\\x00")."""
        async with self._ready(gathering_id, note_id) as note:
            try:
                return note.doc.get_update(state_vector)
            except ValueError as exc:
                raise MalformedUpdate("not a Yjs state vector") from exc

    async def text_of(self, gathering_id: str, note_id: str) -> str:
        """The note as plain text (for the harvest and the summary)."""
        async with self._ready(gathering_id, note_id) as note:
            return note.text()

    async def texts_of(self, gathering_id: str) -> dict[str, str]:
        """Every note of the gathering that has been written in, by note id."""
        async with self.sessions() as session:
            ids = await session.scalars(select(NoteUpdate.note_id).distinct().where(
                NoteUpdate.gathering_id == gathering_id))
            note_ids = sorted(ids)
        return {note_id: await self.text_of(gathering_id, note_id) for note_id in note_ids}

    async def apply(self, gathering_id: str, note_id: str, update: bytes, *,
                    person_id: int | None, may_write: WriteCheck | None = None) -> None:
        """Store `update` durably and apply it; returns once it is committed.

        Group commit: updates to one note that arrive while a transaction is on its way
        wait and go together in the next one (`_flush`). Each is checked alone: `may_write`
        asked (all of a batch's at once, so they can share one read of the rights) and
        tried on the probe, so a refused one fails alone; every one returns only after the
        commit that holds it."""
        await self._batches.submit((gathering_id, note_id),
                                   Pending(update, person_id, may_write))

    async def _flush(self, key: tuple[str, str], batch: list[_Waiting]) -> None:
        """Store one batch of a note's waiting updates (a failure, say loading the note,
        reaches every sender of the batch through `Batches`)."""
        note = self._notes.setdefault(key, _Note())
        async with self._held(note, *key, catch_up=False):
            await self._store(note, *key, await _allowed(batch))

    async def _store(self, note: _Note, gathering_id: str, note_id: str,
                     batch: list[_Waiting]) -> None:
        if not batch:
            return
        for _ in range(MAX_ATTEMPTS):
            async with self._writing(gathering_id, note_id) as session:
                await self._catch_up(note, gathering_id, note_id, session)
                # on a retry, those refused before stay refused: their senders were told
                accepted = note.try_batch([w for w in batch if not w.done.done()])
                if not accepted:
                    return
                try:
                    compacted = await self._append(note, gathering_id, note_id, accepted,
                                                   session)
                except IntegrityError:
                    await session.rollback()
                    note.reset_probe()
                    continue  # another process took these seqs: catch up, try again
                except BaseException:
                    note.reset_probe()
                    raise
            for waiting in accepted:
                note.doc.apply_update(waiting.item.update)
            note.seq += len(accepted)
            note.rows = 1 if compacted else note.rows + len(accepted)
            for waiting in accepted:
                waiting.succeed(None)
            return
        raise NoteRefused("the note is too busy; send the update again")

    async def _append(self, note: _Note, gathering_id: str, note_id: str,
                      accepted: list[_Waiting], session: AsyncSession) -> bool:
        """Insert the batch's rows at the next seqs, or, when the log is long, one snapshot
        at the batch's last seq in place of every row before it; and commit."""
        first, last = note.seq + 1, note.seq + len(accepted)
        now = self.clock()
        compact = note.rows + len(accepted) > self.compact_after
        if compact:
            await session.execute(delete(NoteUpdate).where(
                NoteUpdate.gathering_id == gathering_id, NoteUpdate.note_id == note_id,
                NoteUpdate.seq < last))
            rows = [dict(seq=last, kind="snapshot", data=note.probe.get_update(),
                         person_id=accepted[-1].item.person_id)]
        else:
            rows = [dict(seq=seq, kind="update", data=w.item.update, person_id=w.item.person_id)
                    for seq, w in enumerate(accepted, start=first)]
        await session.execute(insert(NoteUpdate), [
            dict(row, gathering_id=gathering_id, note_id=note_id, at=now) for row in rows])
        await session.commit()
        return compact

    async def drain(self) -> None:
        """Wait for the batches of updates under way (at the stop, before the database
        closes)."""
        await self._batches.drain()

    def evict_idle(self, idle_seconds: float) -> int:
        """Forget documents nobody used for a while (they load again on demand)."""
        cutoff = time.monotonic() - idle_seconds
        idle = [k for k, n in self._notes.items()
                if n.used < cutoff and not n.lock.locked() and not self._batches.busy(k)]
        for key in idle:
            del self._notes[key]
        return len(idle)

    @asynccontextmanager
    async def _ready(self, gathering_id: str, note_id: str,
                     catch_up: bool = True) -> AsyncIterator[_Note]:
        """The note, caught up with the log (and seeded if new), held for one operation."""
        note = self._notes.setdefault((gathering_id, note_id), _Note())
        async with self._held(note, gathering_id, note_id, catch_up):
            yield note

    @asynccontextmanager
    async def _held(self, note: _Note, gathering_id: str, note_id: str,
                    catch_up: bool) -> AsyncIterator[None]:
        """`note` locked, seeded, and caught up with the log unless `catch_up` is False
        (the caller catches up itself, in its write transaction)."""
        async with note.lock:
            note.used = time.monotonic()
            if catch_up or not note.seeded:
                await self._catch_up(note, gathering_id, note_id)
            if not note.seeded:
                await self._seed(note, gathering_id, note_id)
            yield

    async def _seed(self, note: _Note, gathering_id: str, note_id: str) -> None:
        template = await self.template(gathering_id, note_id)
        if not template:
            note.seeded = True
            return
        async with self._writing(gathering_id, note_id) as session:
            await self._catch_up(note, gathering_id, note_id, session)
            if note.seeded:
                return  # another process seeded it first
            row = NoteUpdate(gathering_id=gathering_id, note_id=note_id, seq=1, kind="seed",
                             data=seed_update(template), at=self.clock(), person_id=None)
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                await self._catch_up(note, gathering_id, note_id)
                return
            note.apply_row(row)

    async def _catch_up(self, note: _Note, gathering_id: str, note_id: str,
                        session: AsyncSession | None = None) -> None:
        async with self._session(session) as s:
            rows = await s.scalars(select(NoteUpdate).where(
                NoteUpdate.gathering_id == gathering_id, NoteUpdate.note_id == note_id,
                NoteUpdate.seq > note.seq).order_by(NoteUpdate.seq))
            for row in rows:
                note.apply_row(row)

    def _session(self, session: AsyncSession | None) -> AbstractAsyncContextManager[AsyncSession]:
        return session_or_new(self.sessions, session)

    @asynccontextmanager
    async def _writing(self, gathering_id: str, note_id: str) -> AsyncIterator[AsyncSession]:
        """A session holding the note's write lock across processes until it ends."""
        async with write_locked(self.sessions, NOTE_LOCK_SPACE,
                                f"{gathering_id}:{note_id}") as session:
            yield session
