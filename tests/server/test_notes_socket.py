"""Shared notes over the real server: python-socketio clients, each with a pycrdt document,
speaking y-protocols through `note.subscribe` and `note`; a Node client with the real
`yjs` package; a restart of the server mid-session."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer
from pycrdt import (
    Doc,
    Text,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
)
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import start_session
from rooms.models import AgendaItem, NoteUpdate, Person
from server.app import create_app
from server.keys import NOTES
from server.settings import Settings
from server.sockets.notes import NOTE_MESSAGE_MAX, awareness_message, read_awareness
from tests import test_two_workers
from tests.conftest import WAIT, Connect, connect_client, missing, send
from tests.factories import World
from tests.rooms.test_notes import PARTLY_APPLIED
from tests.server.live_helpers import eventually

ROOT = Path(__file__).resolve().parent.parent.parent
PROTOCOL = ROOT / "docs" / "protocol.md"
NODE_CLIENT = ROOT / "tests" / "notes_node" / "client.mjs"
PLENARY = "plenary"
Message = dict[str, Any]


class NoteClient:
    """A pycrdt document bound to one note through one socket.io connection."""

    def __init__(self, client: socketio.AsyncClient, gathering: str, note: str = PLENARY) -> None:
        self.client, self.gathering, self.note = client, gathering, note
        self.doc: Doc = Doc()
        self.text = self.doc.get("text", type=Text)
        self.awareness: list[bytes] = []
        client.on("note", self._pushed)

    def _pushed(self, data: Message) -> None:
        if (data["gathering"], data["note"]) != (self.gathering, self.note):
            return
        message = data["message"]
        if message[0] == 0:
            handle_sync_message(message[1:], self.doc)
        else:
            self.awareness.append(message)

    async def call(self, event: str, **fields: Any) -> Message:
        payload = {"gathering": self.gathering, "note": self.note, **fields}
        answer: Message = await self.client.call(event, payload, timeout=WAIT)
        return answer

    async def subscribe(self) -> Message:
        answer = await self.call("note.subscribe")
        if answer["ok"]:
            await self.sync()
        return answer

    async def sync(self) -> None:
        answer = await self.send(create_sync_message(self.doc))
        assert answer["ok"], answer
        handle_sync_message(answer["message"][1:], self.doc)

    async def send(self, message: bytes) -> Message:
        return await self.call("note", message=message)

    async def edit(self, change: Callable[[Text], None]) -> Message:
        before = self.doc.get_state()
        change(self.text)
        return await self.send(create_update_message(self.doc.get_update(before)))

    def __str__(self) -> str:
        return str(self.text)


async def subscribed(client: socketio.AsyncClient, gathering: str) -> NoteClient:
    """A NoteClient of the plenary note on `client`, subscribed and synced."""
    note = NoteClient(client, gathering)
    answer = await note.subscribe()
    assert answer["ok"], answer
    return note


def append(words: str) -> Callable[[Text], None]:
    return lambda text: text.insert(len(text), words)


def boundary(text: Text, rng: random.Random) -> int:
    """A random position between words (in UTF-8 bytes, as pycrdt counts)."""
    current = str(text)
    starts = [0] + [i + 1 for i, c in enumerate(current) if c == " "]
    return len(current[:rng.choice(starts)].encode())


async def server_text(server: TestServer, gathering: str, note: str = PLENARY) -> str:
    return await server.app[NOTES].text_of(gathering, note)


async def test_three_clients_edit_at_once_and_converge(world: World, connect: Connect,
                                                       server: TestServer) -> None:
    gid = world.gathering.id
    people = [world.facilitator, world.alice, world.bjorn]
    notes = [NoteClient(await connect(p), gid) for p in people]
    for note in notes:
        answer = await note.subscribe()
        assert answer == {"ok": True, "may_write": True}
    rng = random.Random(11)

    async def typist(index: int, note: NoteClient) -> None:
        for n in range(12):
            word = f"{'FAB'[index]}{n}ø "
            answer = await note.edit(lambda t, w=word: t.insert(boundary(t, rng), w))
            assert answer == {"ok": True}, answer

    await asyncio.gather(*(typist(i, n) for i, n in enumerate(notes)))
    expected = await server_text(server, gid)
    await eventually(lambda: all(str(n) == expected for n in notes), what="convergence")
    assert all(f"{p}{n}ø " in expected for p in "FAB" for n in range(12))


async def test_a_participant_writes_and_an_observer_only_reads(
        world: World, connect: Connect, server: TestServer) -> None:
    gid = world.gathering.id
    alice = NoteClient(await connect(world.alice), gid)
    observer = NoteClient(await connect(world.observer), gid)
    assert await alice.subscribe() == {"ok": True, "may_write": True}
    assert await observer.subscribe() == {"ok": True, "may_write": False}
    assert await alice.edit(append("Askvik: matsvinn i kantina")) == {"ok": True}
    await eventually(lambda: str(observer) == "Askvik: matsvinn i kantina", what="relay")

    refused = await observer.edit(append(" (observatøren skriver)"))
    assert refused["error"]["code"] == "forbidden"
    assert await server_text(server, gid) == "Askvik: matsvinn i kantina"
    # an observer's empty sync step 2 is no write and is fine
    assert await observer.send(b"\x00\x01\x02\x00\x00") == {"ok": True}
    late = await subscribed(await connect(world.expert), gid)
    assert str(late) == "Askvik: matsvinn i kantina"


async def test_who_may_subscribe(world: World, connect: Connect) -> None:
    gid = world.gathering.id
    outsider = NoteClient(await connect(world.outsider), gid)
    assert (await outsider.call("note.subscribe"))["error"]["code"] == "forbidden"
    alice_socket = await connect(world.alice)
    cases: list[tuple[Message, str]] = [
        ({"gathering": "0" * 32, "note": PLENARY}, "not_found"),
        ({"gathering": gid, "note": "r1-g1"}, "not_found"),  # no breakouts yet
        ({"gathering": gid, "note": "../plenary"}, "invalid_format"),
        ({"gathering": gid, "note": PLENARY, "extra": 1}, "invalid_format"),
        ({"gathering": gid}, "invalid_format"),
    ]
    for payload, code in cases:
        answer = await alice_socket.call("note.subscribe", payload, timeout=WAIT)
        assert answer["error"]["code"] == code, (payload, answer)
    assert (await alice_socket.call("note.subscribe", "plenary", timeout=WAIT))["error"][
        "code"] == "invalid_format"
    # a note message before subscribing
    alice = NoteClient(alice_socket, gid)
    answer = await alice.send(create_sync_message(alice.doc))
    assert answer["error"]["code"] == "rejected"


async def test_the_facilitators_private_notes_are_theirs_alone(
        world: World, connect: Connect, server: TestServer) -> None:
    gid = world.gathering.id
    frida = NoteClient(await connect(world.facilitator), gid, "facilitators")
    kari = NoteClient(await connect(world.cofacilitator), gid, "facilitators")
    assert (await frida.subscribe())["may_write"] is True
    assert (await kari.subscribe())["may_write"] is True
    assert (await frida.edit(append("Alice har en god erfaring å dele")))["ok"]
    await eventually(lambda: str(kari) == "Alice har en god erfaring å dele", what="relayed")
    for person in (world.alice, world.expert, world.observer):
        other = NoteClient(await connect(person), gid, "facilitators")
        answer = await other.call("note.subscribe")
        assert answer["error"]["code"] == "forbidden", (person.name, answer)
        assert (await other.send(create_sync_message(other.doc)))["error"]["code"] == "rejected"


async def test_after_the_end_nobody_writes(world: World, connect: Connect,
                                           server: TestServer) -> None:
    gid = world.gathering.id
    facilitator_socket = await connect(world.facilitator)
    alice = NoteClient(await connect(world.alice), gid)
    assert (await alice.subscribe())["may_write"]
    assert await alice.edit(append("før slutt")) == {"ok": True}
    assert (await send(facilitator_socket, gid, "gathering.end"))["ok"]
    refused = await alice.edit(append(" og etter"))
    assert refused["error"]["code"] == "forbidden"
    assert await server_text(server, gid) == "før slutt"
    again = NoteClient(await connect(world.bjorn), gid)
    assert await again.subscribe() == {"ok": True, "may_write": False}
    assert str(again) == "før slutt"


async def test_the_facilitator_reopens_the_notes_after_the_end(
        world: World, connect: Connect, server: TestServer) -> None:
    gid = world.gathering.id
    facilitator_socket = await connect(world.facilitator)
    assert (await send(facilitator_socket, gid, "gathering.end"))["ok"]
    alice = NoteClient(await connect(world.alice), gid)
    assert (await alice.subscribe())["may_write"] is False
    assert (await send(alice.client, gid, "notes.reopen"))["error"]["code"] == "forbidden"
    assert (await send(facilitator_socket, gid, "notes.reopen"))["ok"]
    assert (await alice.subscribe())["may_write"] is True
    assert await alice.edit(append("Oppfølging: vi sender malen")) == {"ok": True}
    assert (await send(facilitator_socket, gid, "notes.close"))["ok"]
    assert (await alice.edit(append(" og mer")))["error"]["code"] == "forbidden"
    assert await server_text(server, gid) == "Oppfølging: vi sender malen"


async def test_bad_messages_are_refused_and_harm_nothing(world: World, connect: Connect,
                                                         server: TestServer) -> None:
    gid = world.gathering.id
    alice = await subscribed(await connect(world.alice), gid)
    assert await alice.edit(append("hel")) == {"ok": True}
    too_big = create_update_message(b"\x00" * (NOTE_MESSAGE_MAX + 1))
    assert (await alice.send(too_big))["error"]["code"] == "too_large"
    for bad in [b"\x00\x02\x05\xff\xff\xff\xff\xff", b"\x07hello", b"\x00\x02\x03abc",
                create_update_message(b"not a yjs update"), create_update_message(PARTLY_APPLIED)]:
        assert (await alice.send(bad))["error"]["code"] == "invalid_format", bad
    wrong_type = await alice.call("note", message="AAE=")  # text, not bytes
    assert wrong_type["error"]["code"] == "invalid_format"
    assert await server_text(server, gid) == "hel"
    assert await alice.edit(append("t")) == {"ok": True}
    assert await server_text(server, gid) == "helt"


async def test_note_messages_are_rate_limited(world: World, connect: Connect) -> None:
    gid = world.gathering.id
    alice = await subscribed(await connect(world.alice), gid)
    step1 = create_sync_message(alice.doc)
    answers = await asyncio.gather(*(alice.send(step1) for _ in range(60)))
    codes = {a["error"]["code"] if not a["ok"] else "ok" for a in answers}
    assert codes == {"ok", "rate_limited"}


async def test_awareness_is_relayed_with_the_senders_own_name(world: World,
                                                              connect: Connect) -> None:
    gid = world.gathering.id
    alice = await subscribed(await connect(world.alice), gid)
    bjorn_socket = await connect(world.bjorn)
    bjorn = await subscribed(bjorn_socket, gid)
    # alice is asked for her cursor when bjorn arrives
    await eventually(lambda: bytes([3]) in alice.awareness, what="awareness query")
    state = {"user": {"name": "<img src=x onerror=alert(1)>", "color": "red;x:url(y)",
                      "colorLight": "#30bced33"}, "cursor": None}
    assert await alice.send(awareness_message([(42, 1, state)])) == {"ok": True}
    await eventually(lambda: len(bjorn.awareness) == 1, what="awareness relay")
    [(client, clock, seen)] = read_awareness(bjorn.awareness[0])
    assert (client, clock) == (42, 1)
    assert seen["user"] == {"name": "Alice Askvik", "color": "#1a5c8a",
                            "colorLight": "#30bced33"}
    assert seen["cursor"] is None
    too_many = b"\x05" + b"".join(bytes([n, 1, 4]) + b"null" for n in range(5))
    assert (await alice.send(create_awareness_message(too_many)))["error"]["code"] == \
        "invalid_format"
    # when alice leaves, bjorn is told her cursor is gone
    await alice.client.disconnect()
    await eventually(lambda: len(bjorn.awareness) == 2, what="awareness removal")
    assert read_awareness(bjorn.awareness[1]) == [(42, 2, None)]


async def test_unsubscribe_stops_the_relay(world: World, connect: Connect) -> None:
    gid = world.gathering.id
    alice = await subscribed(await connect(world.alice), gid)
    bjorn = await subscribed(await connect(world.bjorn), gid)
    assert await bjorn.call("note.unsubscribe") == {"ok": True}
    assert await alice.edit(append("bare for meg")) == {"ok": True}
    # The server relays an edit before it answers its writer, so a relay to bjorn would be on
    # his socket before the answer to his own later request: that answer is the marker.
    assert (await bjorn.send(create_sync_message(bjorn.doc)))["error"]["code"] == "rejected"
    assert str(bjorn) == ""


@pytest.fixture
async def restartable(settings: Settings, world: World,
                      sessions: async_sessionmaker) -> AsyncIterator[Restartable]:
    holder = Restartable(settings, sessions)
    await holder.start()
    yield holder
    await holder.stop()


class Restartable:
    """A server on the test's SQLite database that can be stopped and started again."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker) -> None:
        self.settings, self.sessions = settings, sessions
        self.server: TestServer | None = None
        self.clients: list[socketio.AsyncClient] = []
        self.port: int | None = None

    async def start(self) -> None:
        self.server = TestServer(create_app(self.settings), host="127.0.0.1", port=self.port)
        await self.server.start_server()
        self.port = self.server.port

    async def stop(self) -> None:
        for client in self.clients:
            await client.disconnect()
        self.clients.clear()
        if self.server is not None:
            await self.server.close()
            self.server = None

    async def connect(self, person: Person) -> socketio.AsyncClient:
        assert self.server is not None
        token = await start_session(self.sessions, person.id, days=1)
        client = await connect_client(str(self.server.make_url("/")), token)
        self.clients.append(client)
        return client


async def test_the_text_survives_a_restart_and_offline_edits_merge(
        world: World, restartable: Restartable) -> None:
    gid = world.gathering.id
    alice = await subscribed(await restartable.connect(world.alice), gid)
    bjorn = await subscribed(await restartable.connect(world.bjorn), gid)
    assert await alice.edit(append("Askvik: skolemat. ")) == {"ok": True}
    assert await bjorn.edit(lambda t: t.insert(0, "Brekke: kantine. ")) == {"ok": True}
    await eventually(lambda: str(alice) == str(bjorn), what="convergence before restart")
    before = str(alice)

    await restartable.stop()  # mid-session; both keep their documents
    offline = alice.doc.get_state()
    alice.text.insert(len(alice.text), "Skrevet mens serveren var nede.")
    pending = alice.doc.get_update(offline)
    await restartable.start()

    fresh = await subscribed(await restartable.connect(world.expert), gid)
    assert str(fresh) == before  # everything acknowledged was durable
    # alice reconnects: subscribe, sync, send what she wrote while offline
    alice = _rebind(alice, await restartable.connect(world.alice))
    await alice.subscribe()
    assert await alice.send(create_update_message(pending)) == {"ok": True}
    assert restartable.server is not None
    expected = before + "Skrevet mens serveren var nede."
    assert await server_text(restartable.server, gid) == expected
    await eventually(lambda: str(fresh) == expected, what="the offline edit relayed")


def lone_insert(word: str) -> bytes:
    """An update that depends on nothing: a Yjs client of its own inserts `word` into an
    empty note, so many can be in flight at once, from one connection too, in any order."""
    doc: Doc = Doc()
    doc.get("text", type=Text).insert(0, word)
    return doc.get_update()


async def test_every_update_is_stored_when_it_is_acknowledged(
        world: World, restartable: Restartable, sessions: async_sessionmaker) -> None:
    """Group commit: updates that arrive together are stored in one transaction, and none
    is acknowledged before that transaction's commit. 90 updates in flight at once on three
    connections; as each answer arrives, its row is read on a database connection of the
    test's own; then the server stops at once and a newcomer finds every word."""
    gid = world.gathering.id
    writers = [await subscribed(await restartable.connect(person), gid)
               for person in (world.facilitator, world.alice, world.bjorn)]

    async def stored(update: bytes) -> bool:
        async with sessions() as session:
            rows = await session.scalar(select(func.count()).select_from(NoteUpdate).where(
                NoteUpdate.gathering_id == gid, NoteUpdate.note_id == PLENARY,
                NoteUpdate.data == update))
        return rows == 1

    async def write(note: NoteClient, word: str) -> tuple[str, bool]:
        update = lone_insert(word)
        answer = await note.send(create_update_message(update))
        assert answer == {"ok": True}, answer
        return word, await stored(update)

    written = await asyncio.gather(*(write(note, f"w{i}-{n} ") for i, note in
                                     enumerate(writers) for n in range(30)))
    assert [word for word, found in written if not found] == []
    await restartable.stop()
    await restartable.start()
    fresh = await subscribed(await restartable.connect(world.expert), gid)
    assert sorted(str(fresh).split()) == sorted(word.strip() for word, _ in written)


def _rebind(note: NoteClient, client: socketio.AsyncClient) -> NoteClient:
    """The same document, on a new connection (what a browser does on reconnect)."""
    again = NoteClient(client, note.gathering, note.note)
    again.doc, again.text = note.doc, note.text
    return again


async def test_two_servers_on_one_database_serve_the_same_note(
        world: World, restartable: Restartable, settings: Settings,
        sessions: async_sessionmaker) -> None:
    """Two workers without a shared socket.io channel: a sync still catches up from the
    database, so a client on either sees what was written on the other."""
    other = Restartable(settings, sessions)
    await other.start()
    try:
        gid = world.gathering.id
        alice = await subscribed(await restartable.connect(world.alice), gid)
        bjorn = await subscribed(await other.connect(world.bjorn), gid)
        assert await alice.edit(append("fra A. ")) == {"ok": True}
        await bjorn.sync()
        assert str(bjorn) == "fra A. "
        assert await bjorn.edit(append("fra B.")) == {"ok": True}
        await alice.sync()
        assert str(alice) == str(bjorn) == "fra A. fra B."
    finally:
        await other.stop()


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        missing("node")
    if not (ROOT / "static" / "node_modules" / "yjs").exists():
        pytest.fail("static/node_modules lacks yjs: run `make bundle` (npm ci in static/)")
    return node


async def test_a_node_yjs_client_interoperates(world: World, connect: Connect,
                                               server: TestServer,
                                               sessions: async_sessionmaker) -> None:
    node = node_or_skip()
    gid = world.gathering.id
    alice = await subscribed(await connect(world.alice), gid)
    assert await alice.edit(append("Python først: æøå 😀. ")) == {"ok": True}
    token = await start_session(sessions, world.bjorn.id, days=1)
    config = {"url": str(server.make_url("/")), "cookie": f"forum_session={token}",
              "gathering": gid, "note": PLENARY, "insert": "Node skriver: blåbær 🫐. ",
              "expect": "Python etterpå."}
    process = await asyncio.create_subprocess_exec(
        node, str(NODE_CLIENT), json.dumps(config), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    try:
        await eventually(lambda: "Node skriver: blåbær 🫐. " in str(alice),
                         what="the node client's text at the python client")
        assert await alice.edit(append("Python etterpå.")) == {"ok": True}
        out, err = await asyncio.wait_for(process.communicate(), timeout=WAIT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    result = json.loads(out.decode().strip().splitlines()[-1])
    expected = await server_text(server, gid)
    assert result["text"] == str(alice) == expected
    assert "Python først: æøå 😀. " in expected and "Node skriver: blåbær 🫐. " in expected
    assert result["may_write"] is True


def test_the_note_events_are_documented() -> None:
    text = PROTOCOL.read_text(encoding="utf-8")
    for heading in ["## Shared notes", "### `note.subscribe`", "### `note.unsubscribe`",
                    "### `note`"]:
        assert heading in text, f"{heading} is missing from {PROTOCOL}"
    assert '`"text"`' in text  # the name of the shared text the browser binds to



cluster = test_two_workers.cluster  # the fixture: two `forum serve` processes, PostgreSQL, Redis


@pytest.mark.postgres
@pytest.mark.redis
async def test_two_worker_processes_serve_one_note(cluster: test_two_workers.Cluster) -> None:
    """Real processes: each stores what it accepts and relays it through Redis; each one's
    copy catches up from the database before it serves a sync."""
    world, gid = cluster.world, cluster.world.gathering.id
    alice = NoteClient(await cluster.connect(cluster.a, world.alice), gid)
    bjorn = NoteClient(await cluster.connect(cluster.b, world.bjorn), gid)
    frida = NoteClient(await cluster.connect(cluster.a, world.facilitator), gid)
    for note in (alice, bjorn, frida):
        assert (await note.subscribe())["may_write"]
    rng = random.Random(5)

    async def typist(note: NoteClient, letter: str) -> None:
        for n in range(10):
            answer = await note.edit(lambda t, w=f"{letter}{n} ": t.insert(boundary(t, rng), w))
            assert answer == {"ok": True}, answer

    await asyncio.gather(typist(alice, "a"), typist(bjorn, "b"), typist(frida, "f"))
    await eventually(lambda: str(alice) == str(bjorn) == str(frida),
                     what="convergence across workers")
    assert sorted(str(alice).split()) == sorted(f"{c}{n}" for c in "abf" for n in range(10))
    for worker in (cluster.a, cluster.b):  # a newcomer on either worker gets the same text
        late = NoteClient(await cluster.connect(worker, world.observer), gid)
        assert (await late.subscribe())["may_write"] is False
        assert str(late) == str(alice)


async def test_a_groups_note_is_seeded_and_written_by_its_members(
        world: World, connect: Connect, server: TestServer,
        sessions: async_sessionmaker) -> None:
    gid = world.gathering.id
    template = "Vår utfordring:\nDette fungerte:\n"
    async with sessions() as session:
        item = await session.get(AgendaItem, world.gathering.items[2].id)
        assert item is not None and item.kind == "breakout"
        item.settings = {"note_template": template}
        await session.commit()
    frida = await connect(world.facilitator)
    for person in (world.alice, world.bjorn):  # present, so they are put in a group
        assert (await send(await connect(person), gid, "room.join"))["ok"]
    items = [i["id"] for i in (await send(frida, gid, "room.join"))["snapshot"]["agenda"]]
    assert (await send(frida, gid, "room.open"))["ok"]
    for from_item in [None, items[0], items[1]]:  # into the breakout item: groups open
        assert (await send(frida, gid, "agenda.next", from_item=from_item))["ok"]

    alice = NoteClient(await connect(world.alice), gid, "r1-g1")
    expert = NoteClient(await connect(world.expert), gid, "r1-g1")
    facilitator = NoteClient(await connect(world.facilitator), gid, "r1-g1")
    assert await alice.subscribe() == {"ok": True, "may_write": True}
    assert await expert.subscribe() == {"ok": True, "may_write": False}  # not in the group
    assert await facilitator.subscribe() == {"ok": True, "may_write": True}
    assert str(alice) == str(expert) == template  # seeded once, from the item's template
    position = len("Vår utfordring:".encode())
    assert await alice.edit(lambda t: t.insert(position, " matsvinn")) == {"ok": True}
    assert (await expert.edit(append("eksperten")))["error"]["code"] == "forbidden"
    assert (await send(frida, gid, "breakouts.recall"))["ok"]
    # called back: the group's note is read-only for its members, still open to runners
    assert (await alice.edit(append("etterpå")))["error"]["code"] == "forbidden"
    assert await facilitator.edit(append("Oppsummert.")) == {"ok": True}
    expected = "Vår utfordring: matsvinn\nDette fungerte:\nOppsummert."
    assert await server_text(server, gid, "r1-g1") == expected
    bjorn = NoteClient(await connect(world.bjorn), gid, "r1-g1")
    assert await bjorn.subscribe() == {"ok": True, "may_write": False}
    assert str(bjorn) == expected
    later_round = await bjorn.client.call("note.subscribe", {"gathering": gid, "note": "r2-g1"})
    assert later_round["error"]["code"] == "not_found"
