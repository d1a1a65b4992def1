"""`/metrics` over a real server, fed by a real python-socketio client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from server.settings import Settings
from tests.conftest import WAIT, Connect, send
from tests.factories import World
from tests.server.test_notes_socket import NoteClient, append

TOKEN = "scrape-me-0123456789"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return Settings(database_url=sqlite_url, secret_key="test-secret", host="127.0.0.1",
                    metrics_token=TOKEN)


async def scrape(server: TestServer, authorization: str | None) -> aiohttp.ClientResponse:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with aiohttp.ClientSession() as http:
        response = await http.get(server.make_url("/metrics"), headers=headers)
        await response.read()
        return response


async def samples(server: TestServer) -> Samples:
    response = await scrape(server, f"Bearer {TOKEN}")
    assert response.status == 200, response.status
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = (await response.read()).decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(got: Samples, name: str, **labels: str) -> float:
    return got.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
async def untokened(settings: Settings, world: World) -> AsyncIterator[TestServer]:
    server = TestServer(create_app(replace(settings, metrics_token="")), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def test_metrics_are_off_without_a_token(untokened: TestServer) -> None:
    assert (await scrape(untokened, None)).status == 404
    assert (await scrape(untokened, "Bearer ")).status == 404


async def test_a_scrape_needs_the_token(server: TestServer) -> None:
    assert (await scrape(server, None)).status == 401
    assert (await scrape(server, "Bearer wrong")).status == 401
    assert (await scrape(server, TOKEN)).status == 401  # the scheme too
    assert (await scrape(server, f"Bearer {TOKEN}")).status == 200


async def test_a_join_and_a_chat_show_in_the_figures(world: World, connect: Connect,
                                                     server: TestServer) -> None:
    gid = world.gathering.id
    alice = await connect(world.alice)
    assert (await send(alice, gid, "room.join"))["ok"] is True
    assert (await send(alice, gid, "chat.send", text="Hei alle"))["ok"] is True
    # a participant may not open the room: refused, and counted as such
    refused = await send(alice, gid, "room.open")
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden", refused

    got = await samples(server)
    deadline = time.monotonic() + WAIT  # the loop-lag task samples every 50 ms
    while value(got, "forum_event_loop_lag_seconds_count") < 1 and time.monotonic() < deadline:
        got = await samples(server)

    assert value(got, "forum_connected_sockets") == 1
    assert value(got, "forum_commands_total", type="room.join", outcome="ok") == 1
    assert value(got, "forum_commands_total", type="chat.send", outcome="ok") == 1
    assert value(got, "forum_commands_total", type="room.open", outcome="rejected") == 1
    assert value(got, "forum_command_seconds_count", type="chat.send") == 1
    assert value(got, "forum_command_seconds_bucket", type="chat.send", le="+Inf") == 1
    assert value(got, "forum_command_seconds_sum", type="chat.send") > 0
    assert value(got, "forum_events_broadcast_total", type="chat.posted") == 1
    assert value(got, "forum_command_db_seconds_count", type="chat.send") == 1
    assert value(got, "forum_command_db_seconds_sum", type="chat.send") > 0
    assert value(got, "forum_event_loop_lag_seconds_count") >= 1
    assert ("forum_event_loop_lag_latest_seconds", frozenset()) in got
    assert value(got, "forum_event_loop_lag_max_seconds") >= value(
        got, "forum_event_loop_lag_latest_seconds")

    await alice.disconnect()
    after = await samples(server)
    deadline = time.monotonic() + WAIT
    while value(after, "forum_connected_sockets") != 0 and time.monotonic() < deadline:
        after = await samples(server)
    assert value(after, "forum_connected_sockets") == 0


async def test_note_updates_are_counted_accepted_or_refused(world: World, connect: Connect,
                                                             server: TestServer) -> None:
    gid = world.gathering.id
    alice = NoteClient(await connect(world.alice), gid)
    observer = NoteClient(await connect(world.observer), gid)
    assert (await alice.subscribe())["ok"] and (await observer.subscribe())["ok"]
    assert await alice.edit(append("Askvik: matsvinn")) == {"ok": True}
    refused = await observer.edit(append(" (observatøren)"))
    assert refused["error"]["code"] == "forbidden"

    got = await samples(server)
    assert value(got, "forum_note_updates_total", outcome="accepted") == 1
    assert value(got, "forum_note_updates_total", outcome="refused") == 1
    assert value(got, "forum_commands_total", type="note", outcome="rejected") == 1
