"""The NoteBook: real pycrdt clients exchange y-protocols sync messages with the server's
documents. Convergence, durability across a restart, compaction, refusal of bad updates,
seeding once with two workers (two NoteBooks over one database)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from pycrdt import Doc, Map, Text, create_sync_message, create_update_message, handle_sync_message
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.db import create_engine, sessionmaker
from rooms.migrate import upgrade
from rooms.models import NoteUpdate
from rooms.notes import (
    MAX_NOTE_BYTES,
    TEXT,
    MalformedUpdate,
    NoteBook,
    NoteTooLarge,
    ReadOnly,
    SyncAnswer,
    seed_update,
)
from tests.factories import World, build_world

NOTE = "plenary"
# Found by fuzzing: pycrdt 0.14 applies part of this update to a document (" world") and
# then raises RuntimeError ("block parent <7#5> must be deleted or shared ref type").
PARTLY_APPLIED = (b"\x01\x06\x07\x00\x04\x01\x04text\x02he\x81\x07\x01\x03\x84\x07\x04\x06 world"
                  b"\xc1\x07\x04\x07\x05\x03\x07\r\x07\x05\x00D\x07\x00\x03abc\x01\x07\x02\x02\x03"
                  b"\x0b\x03")
TEMPLATE = "Vår utfordring:\nDette fungerte:\nHjelp vi trenger:\n"


async def fixed_template(gathering_id: str, note_id: str) -> str:
    return TEMPLATE if note_id != NOTE else ""


class Peer:
    """A Yjs client: a pycrdt Doc that talks to the NoteBook in sync messages."""

    def __init__(self, book: NoteBook, gathering: str, note: str = NOTE,
                 writer: int | None = 1) -> None:
        self.book, self.gathering, self.note, self.writer = book, gathering, note, writer
        self.doc: Doc = Doc()
        self.text = self.doc.get(TEXT, type=Text)

    async def sync(self) -> None:
        answer = await self.book.handle_sync(self.gathering, self.note,
                                             create_sync_message(self.doc), writer=self.writer)
        assert answer.reply is not None
        handle_sync_message(answer.reply[1:], self.doc)

    async def edit(self, change: Callable[[Text], None]) -> SyncAnswer:
        before = self.doc.get_state()
        change(self.text)
        return await self.send(self.doc.get_update(before))

    async def send(self, update: bytes) -> SyncAnswer:
        return await self.book.handle_sync(self.gathering, self.note,
                                           create_update_message(update), writer=self.writer)

    def receive(self, relay: bytes) -> None:
        handle_sync_message(relay[1:], self.doc)

    def __str__(self) -> str:
        return str(self.text)


async def note_rows(sessions: async_sessionmaker, gathering: str,
                    note: str = NOTE) -> list[tuple[int, str]]:
    async with sessions() as session:
        rows = await session.execute(select(NoteUpdate.seq, NoteUpdate.kind).where(
            NoteUpdate.gathering_id == gathering, NoteUpdate.note_id == note)
            .order_by(NoteUpdate.seq))
        return [(r.seq, r.kind) for r in rows]


@pytest.fixture
async def any_db(database_url: str) -> AsyncIterator[tuple[async_sessionmaker, World]]:
    """SQLite and PostgreSQL: a migrated database with the test world."""
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = sessionmaker(engine)
    yield sessions, await build_world(sessions)
    await engine.dispose()


def random_edit(rng: random.Random, word: str) -> Callable[[Text], None]:
    def change(text: Text) -> None:
        length = len(str(text))
        if length > 4 and rng.random() < 0.3:
            start = rng.randrange(length - 2)
            current = str(text)
            # pycrdt indexes text in UTF-8 bytes: delete whole characters only
            prefix = len(current[:start].encode())
            del text[prefix:prefix + len(current[start:start + 2].encode())]
        else:
            position = rng.randint(0, length)
            text.insert(len(str(text)[:position].encode()), word)
    return change


async def test_concurrent_clients_converge(sessions: async_sessionmaker, world: World) -> None:
    book = NoteBook(sessions, fixed_template)
    gid = world.gathering.id
    peers = [Peer(book, gid, writer=n) for n in range(1, 5)]
    for peer in peers:
        await peer.sync()
    rng = random.Random(7)
    inbox: list[list[bytes]] = [[] for _ in peers]

    async def typist(index: int) -> None:
        for round_ in range(15):
            answer = await peers[index].edit(random_edit(rng, f"{'ABCD'[index]}{round_}æ "))
            assert answer.relay is not None
            for other, box in enumerate(inbox):
                if other != index:
                    box.append(answer.relay)
            # deliver some of what the others sent, late, while still typing; in the order
            # the server accepted it, as socket.io does (pycrdt 0.14 does not converge when
            # a client gets updates out of causal order; the server never holds such gaps)
            box = inbox[index]
            while box and rng.random() < 0.5:
                peers[index].receive(box.pop(0))
            await asyncio.sleep(0)

    await asyncio.gather(*(typist(i) for i in range(len(peers))))
    for peer, box in zip(peers, inbox, strict=True):
        for relay in box:
            peer.receive(relay)
    server_text = await book.text_of(gid, NOTE)
    assert len(server_text) > 60
    assert {str(p) for p in peers} == {server_text}
    # a latecomer gets the same text from sync step 2
    late = Peer(book, gid, writer=None)
    await late.sync()
    assert str(late) == server_text


async def test_acknowledged_updates_survive_a_restart(
        any_db: tuple[async_sessionmaker, World], database_url: str) -> None:
    sessions, world = any_db
    gid = world.gathering.id
    book = NoteBook(sessions, fixed_template)
    alice = Peer(book, gid)
    await alice.sync()
    await alice.edit(lambda t: t.insert(0, "Hei fra Askvik 😀 "))
    await alice.edit(lambda t: t.insert(len(t), "og Brekke."))
    expected = str(alice)

    # a restart: a new engine, a new NoteBook, nothing in memory
    engine = create_engine(database_url)
    try:
        again = NoteBook(sessionmaker(engine), fixed_template)
        assert await again.text_of(gid, NOTE) == expected
        bob = Peer(again, gid, writer=2)
        await bob.sync()
        assert str(bob) == expected
    finally:
        await engine.dispose()


async def test_two_workers_serve_the_same_note(
        any_db: tuple[async_sessionmaker, World]) -> None:
    """Each worker catches up on the other's updates (by seq) before it serves a sync."""
    sessions, world = any_db
    gid = world.gathering.id
    one, two = NoteBook(sessions, fixed_template), NoteBook(sessions, fixed_template)
    alice, bob = Peer(one, gid, writer=1), Peer(two, gid, writer=2)
    await alice.sync()
    await bob.sync()
    relays = await asyncio.gather(*(
        peer.edit(lambda t, w=word: t.insert(0, w)) for peer, word in
        [(alice, "a1 "), (bob, "b1 "), (alice, "a2 "), (bob, "b2 ")]))
    for answer, peer in zip(relays, [bob, alice, bob, alice], strict=True):
        assert answer.relay is not None
        peer.receive(answer.relay)
    assert str(alice) == str(bob)
    assert await one.text_of(gid, NOTE) == await two.text_of(gid, NOTE) == str(alice)
    carol = Peer(one, gid, writer=None)
    await carol.sync()
    assert str(carol) == str(alice)
    assert [seq for seq, _ in await note_rows(sessions, gid)] == [1, 2, 3, 4]


async def test_compaction_keeps_the_text(any_db: tuple[async_sessionmaker, World]) -> None:
    sessions, world = any_db
    gid = world.gathering.id
    book = NoteBook(sessions, fixed_template, compact_after=5)
    stale = NoteBook(sessions, fixed_template)  # another worker that loaded early
    alice = Peer(book, gid)
    await alice.sync()
    assert await stale.text_of(gid, NOTE) == ""
    rng = random.Random(3)
    for n in range(23):
        await alice.edit(random_edit(rng, f"ord{n} "))
    rows = await note_rows(sessions, gid)
    assert len(rows) <= 5
    assert rows[0][1] == "snapshot"
    assert rows[-1][0] == 23  # seq goes on counting across snapshots
    assert await book.text_of(gid, NOTE) == str(alice)
    assert await stale.text_of(gid, NOTE) == str(alice)
    fresh = NoteBook(sessions, fixed_template)
    assert await fresh.text_of(gid, NOTE) == str(alice)


def test_pycrdt_applies_part_of_a_bad_update_before_it_fails() -> None:
    """Why updates are tried on a probe first: catching the exception is not enough."""
    doc: Doc = Doc()
    doc.get(TEXT, type=Text).insert(0, "Notatene")
    with pytest.raises(RuntimeError):
        doc.apply_update(PARTLY_APPLIED)
    assert str(doc.get(TEXT, type=Text)) != "Notatene"


def lone_insert(word: str) -> bytes:
    """An update that depends on nothing (a Yjs client of its own, an empty note)."""
    doc: Doc = Doc()
    doc.get(TEXT, type=Text).insert(0, word)
    return doc.get_update()


async def test_updates_stored_together_are_refused_alone(sessions: async_sessionmaker,
                                                         world: World) -> None:
    """Group commit: updates that arrive together go in one transaction, but each is
    checked alone. A malformed one (which pycrdt half applies) and one whose sender may no
    longer write fail; the rest are stored, one row each, and nothing of the two is in."""
    ticks = iter(range(1000))
    book = NoteBook(sessions, fixed_template, clock=lambda: float(next(ticks)))
    gid = world.gathering.id
    assert await book.text_of(gid, NOTE) == ""
    words = [f"ord{n}" for n in range(6)]
    asked: list[int] = []

    def rights(person: int, allowed: bool) -> Callable[[], Awaitable[bool]]:
        async def may_write() -> bool:
            asked.append(person)
            return allowed
        return may_write

    def store(n: int) -> Awaitable[None]:
        return book.apply(gid, NOTE, lone_insert(words[n] + " "), person_id=n,
                          may_write=rights(n, n != 3))

    outcomes = await asyncio.gather(
        store(0), store(1), store(2), book.apply(gid, NOTE, PARTLY_APPLIED, person_id=9),
        store(3), store(4), store(5), return_exceptions=True)
    assert [type(o).__name__ for o in outcomes] == [
        "NoneType", "NoneType", "NoneType", "MalformedUpdate", "ReadOnly", "NoneType",
        "NoneType"]
    assert sorted(asked) == [0, 1, 2, 3, 4, 5]  # every update's sender, each asked once
    assert sorted((await book.text_of(gid, NOTE)).split()) == [
        w for n, w in enumerate(words) if n != 3]
    async with sessions() as session:
        rows = (await session.execute(select(NoteUpdate.seq, NoteUpdate.at).where(
            NoteUpdate.gathering_id == gid, NoteUpdate.note_id == NOTE))).all()
    assert sorted(seq for seq, _ in rows) == [1, 2, 3, 4, 5]
    assert len({at for _, at in rows}) == 1  # one transaction: the clock was read once
    fresh = NoteBook(sessions, fixed_template)
    assert await fresh.text_of(gid, NOTE) == await book.text_of(gid, NOTE)


async def test_a_malformed_update_is_refused_and_changes_nothing(
        sessions: async_sessionmaker, world: World) -> None:
    gid = world.gathering.id
    book = NoteBook(sessions, fixed_template)
    alice = Peer(book, gid)
    await alice.sync()
    await alice.edit(lambda t: t.insert(0, "Notatene våre"))
    before_update = await book.update_since(gid, NOTE, b"\x00")
    before_rows = await note_rows(sessions, gid)

    good = alice.doc.get_update()
    other = Doc()
    other.get(TEXT, type=Text).insert(0, "abc")
    state = other.get_state()
    other.get(TEXT, type=Text).insert(3, "def")
    depends_on_missing = other.get_update(state)  # needs "abc", which the server lacks
    evil_root = Doc()
    evil_root.get("evil", type=Map)["x"] = "y"
    embed = Doc(client_id=99)
    embed.apply_update(good)
    embed.get(TEXT, type=Text).insert_embed(0, {"img": "x"})
    for bad in [b"\xff\xff\xff", b"garbage here", good[:-3], depends_on_missing,
                evil_root.get_update(), embed.get_update(alice.doc.get_state()),
                PARTLY_APPLIED]:
        with pytest.raises(MalformedUpdate):
            await alice.send(bad)
    for message in [b"\x00\x09\x01\x00", b"\x00\x02\x05ab", b"\x00\x02\x02\x00\x00junk", b"\x01"]:
        with pytest.raises(MalformedUpdate):
            await book.handle_sync(gid, NOTE, message, writer=1)
    with pytest.raises(MalformedUpdate):
        await book.update_since(gid, NOTE, b"\xff")

    assert await book.update_since(gid, NOTE, b"\x00") == before_update
    assert await book.text_of(gid, NOTE) == "Notatene våre"
    assert await note_rows(sessions, gid) == before_rows
    # and the document still takes good updates
    await alice.edit(lambda t: t.insert(len(t), "!"))
    assert await book.text_of(gid, NOTE) == "Notatene våre!"


async def test_read_only_and_too_large_are_refused(sessions: async_sessionmaker,
                                                   world: World) -> None:
    gid = world.gathering.id
    book = NoteBook(sessions, fixed_template)
    reader = Peer(book, gid, writer=None)
    await reader.sync()  # reading is fine
    with pytest.raises(ReadOnly):
        await reader.edit(lambda t: t.insert(0, "nope"))
    assert await reader.send(b"\x00\x00") == SyncAnswer()  # an empty step 2 is no write
    writer = Peer(book, gid)
    await writer.sync()
    with pytest.raises(NoteTooLarge):
        await writer.edit(lambda t: t.insert(0, "x" * (MAX_NOTE_BYTES + 1)))
    assert await book.text_of(gid, NOTE) == ""
    assert await note_rows(sessions, gid) == []


async def test_a_new_note_is_seeded_once_by_two_workers(
        any_db: tuple[async_sessionmaker, World]) -> None:
    sessions, world = any_db
    gid = world.gathering.id
    assert seed_update(TEMPLATE) == seed_update(TEMPLATE)  # the same Yjs item everywhere
    one, two = NoteBook(sessions, fixed_template), NoteBook(sessions, fixed_template)
    texts = await asyncio.gather(one.text_of(gid, "r1-g1"), two.text_of(gid, "r1-g1"),
                                 one.text_of(gid, "r1-g1"), two.text_of(gid, "r1-g2"))
    assert texts == [TEMPLATE] * 4
    assert await note_rows(sessions, gid, "r1-g1") == [(1, "seed")]
    alice, bob = Peer(one, gid, "r1-g1", 1), Peer(two, gid, "r1-g1", 2)
    await alice.sync()
    await bob.sync()
    answer = await alice.edit(lambda t: t.insert(len("Vår utfordring:".encode()), " matsvinn"))
    assert answer.relay is not None
    bob.receive(answer.relay)
    assert str(bob) == str(alice) == TEMPLATE.replace(":\n", ": matsvinn\n", 1)
    # a third worker, later, does not seed again
    three = NoteBook(sessions, fixed_template)
    assert await three.text_of(gid, "r1-g1") == str(alice)
    async with sessions() as session:
        seeds = await session.scalar(select(func.count()).select_from(NoteUpdate).where(
            NoteUpdate.kind == "seed"))
    assert seeds == 2  # r1-g1 and r1-g2, once each
    assert await one.texts_of(gid) == {"r1-g1": str(alice), "r1-g2": TEMPLATE}


async def test_idle_documents_are_forgotten_and_reload(sessions: async_sessionmaker,
                                                       world: World) -> None:
    gid = world.gathering.id
    book = NoteBook(sessions, fixed_template)
    alice = Peer(book, gid)
    await alice.sync()
    await alice.edit(lambda t: t.insert(0, "husk meg"))
    assert book.evict_idle(0) == 1
    assert await book.text_of(gid, NOTE) == "husk meg"


async def test_mutated_updates_never_corrupt_the_note(sessions: async_sessionmaker,
                                                      world: World) -> None:
    """Fuzz: byte-level mutations of real updates. Each is refused without a trace, or
    accepted; either way the document in memory stays equal to what a restart loads."""
    gid = world.gathering.id
    book = NoteBook(sessions, fixed_template)
    source: Doc = Doc(client_id=7)
    text = source.get(TEXT, type=Text)
    text.insert(0, "hello world")
    del text[2:4]
    text.insert(3, "æøå")
    state = source.get_state()
    text.insert(0, "abc")
    updates = [source.get_update(), source.get_update(state)]
    rng = random.Random(1)
    refused = 0
    for _ in range(300):
        mutated = bytearray(rng.choice(updates))
        for _ in range(rng.randint(1, 3)):
            where = rng.randrange(len(mutated))
            mutated[where] = rng.randrange(256)
        before = await book.update_since(gid, NOTE, b"\x00")
        try:
            await book.apply(gid, NOTE, bytes(mutated), person_id=1)
        except MalformedUpdate:
            refused += 1
            assert await book.update_since(gid, NOTE, b"\x00") == before
    assert refused > 200
    assert await NoteBook(sessions, fixed_template).text_of(gid, NOTE) == \
        await book.text_of(gid, NOTE)
