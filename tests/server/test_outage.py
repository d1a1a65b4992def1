"""The database goes away mid-gathering and comes back: people are told `unavailable` (a code
they can act on), and the server's log tells the outage as one story, without tracebacks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import start_session
from rooms.db import create_engine, sessionmaker
from rooms.migrate import upgrade
from rooms.models import Person
from server.app import create_app
from server.pages.experts import bringing
from server.settings import SESSION_COOKIE, Settings
from tests.conftest import connect_client, send
from tests.factories import World, build_world
from tests.server.live_helpers import event_log, eventually, tracebacks
from tests.server.outage import CuttableProxy, proxied

STARTED = "the database is unavailable: "
ENDED = "the database is back after "


@dataclass
class Forum:
    """A forum server whose database connections all pass a proxy the test can cut."""

    server: TestServer
    proxy: CuttableProxy
    world: World
    sessions: async_sessionmaker  # straight to the database, for the test's own setup

    async def connect(self, person: Person) -> socketio.AsyncClient:
        token = await start_session(self.sessions, person.id, days=1)
        return await connect_client(str(self.server.make_url("/")), token)


@pytest.fixture
async def forum(postgres_url: str) -> AsyncIterator[Forum]:
    engine = create_engine(postgres_url)
    await upgrade(engine)
    sessions = sessionmaker(engine)
    world = await build_world(sessions)
    async with proxied(postgres_url) as proxy:
        app = create_app(Settings(database_url=proxy.url(postgres_url),
                                  secret_key="test-secret", host="127.0.0.1"))
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            yield Forum(server, proxy, world, sessions)
        finally:
            await server.close()
    await engine.dispose()


def outage_lines(caplog: pytest.LogCaptureFixture, start: str) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.getMessage().startswith(start)]



async def connect_refusal(forum: Forum, person: Person) -> list[Any]:
    """Try to connect as `person`; the `connect_error` reasons the client got."""
    token = await start_session(forum.sessions, person.id, days=1)
    client = socketio.AsyncClient(reconnection=False)
    reasons: list[Any] = []
    client.on("connect_error", reasons.append)
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(str(forum.server.make_url("/")),
                                 headers={"Cookie": f"{SESSION_COOKIE}={token}"},
                                 transports=["websocket"], wait_timeout=30)
    finally:
        await client.disconnect()
    return reasons


async def test_connecting_while_the_database_is_down_is_refused_unavailable(
        forum: Forum, caplog: pytest.LogCaptureFixture) -> None:
    await forum.proxy.cut()
    assert await connect_refusal(forum, forum.world.alice) == [{"message": "unavailable"}]
    assert len(outage_lines(caplog, STARTED)) == 1
    assert tracebacks(caplog) == []

    await forum.proxy.restore()
    alice = await forum.connect(forum.world.alice)
    try:
        assert alice.connected
        assert len(outage_lines(caplog, ENDED)) == 1
    finally:
        await alice.disconnect()


async def test_commands_during_a_database_outage_are_answered_unavailable_and_logged_once(
        forum: Forum, caplog: pytest.LogCaptureFixture) -> None:
    world, gid = forum.world, forum.world.gathering.id
    frida = await forum.connect(world.facilitator)
    bjorn = await forum.connect(world.bjorn)  # connected, but has not used the room yet
    try:
        assert (await send(frida, gid, "room.join"))["ok"]
        assert (await send(frida, gid, "room.open"))["ok"]
        # the opening brings the questions asked in advance (none here) in a task of its own
        await eventually(lambda: not bringing(forum.server.app), what="the opening's work")
        await forum.proxy.cut()

        burst = await asyncio.gather(*(send(frida, gid, "chat.send", text=f"hallo {n}")
                                       for n in range(20)))
        reaction = await bjorn.call("reaction", {"gathering": gid, "emoji": "heart"},
                                    timeout=30)
        for answer in [*burst, reaction]:
            assert answer == {"ok": False, "error": {
                "code": "unavailable", "message": "the database is unavailable; try again"}}
        assert len(outage_lines(caplog, STARTED)) == 1
        assert outage_lines(caplog, ENDED) == []
        assert tracebacks(caplog) == []

        await forum.proxy.restore()
        assert (await send(frida, gid, "chat.send", text="Da er vi tilbake"))["ok"]
        [ended] = outage_lines(caplog, ENDED)
        assert ended.endswith("; 21 failures meanwhile")
        chat = [e.data["text"] for e in await event_log(forum.server, gid)
                if e.type == "chat.posted"]
        assert chat == ["Da er vi tilbake"]
        assert tracebacks(caplog) == []
    finally:
        await frida.disconnect()
        await bjorn.disconnect()


async def test_a_join_refused_in_an_outage_leaves_the_connection_outside_the_room(
        forum: Forum) -> None:
    world, gid = forum.world, forum.world.gathering.id
    frida = await forum.connect(world.facilitator)
    alice = await forum.connect(world.alice)
    try:
        assert (await send(frida, gid, "room.join"))["ok"]
        # a refused reaction (not joined) makes the server know her as a member already
        refused = await alice.call("reaction", {"gathering": gid, "emoji": "heart"}, timeout=30)
        assert refused["error"]["code"] == "rejected"
        await forum.proxy.cut()
        answer = await send(alice, gid, "room.join")
        assert answer["error"]["code"] == "unavailable"
        await forum.proxy.restore()

        assert (await send(frida, gid, "chat.send", text="Bare for de som er inne"))["ok"]
        await eventually(lambda: any(e["type"] == "chat.posted" for e in frida.received),
                         what="the chat at frida")
        await send(frida, gid, "room.sync", since=0)  # a round trip after the broadcast
        assert [e for e in alice.received if e["type"] == "chat.posted"] == []
        snapshot = (await send(frida, gid, "room.sync", since=10_000))["snapshot"]
        assert [p["person_id"] for p in snapshot["presence"]] == [world.facilitator.id]
    finally:
        await frida.disconnect()
        await alice.disconnect()


@pytest.fixture(autouse=True)
def _log_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
