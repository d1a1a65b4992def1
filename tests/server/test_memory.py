"""Memory over a long gathering: nothing is kept per command, and what waits for its turn is
bounded per connection.

A soak (sixty people chatting once a second across two workers) showed each worker's memory
growing for as long as it lived. Nothing was kept per command: what grew was the number of
commands waiting for their gathering's lock while a loaded worker fell behind, about 5.5 KiB
each, without a limit. Now a connection has at most its budget's burst of messages waiting
(server/sockets/gate.py `Budget`).

Memory is the Python heap that tracemalloc traces, after a full collection (the process's
resident size only ever rises: freed memory stays in the allocator's pools). No timing is
measured or asserted."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import start_session
from rooms.models import Membership, Person
from server.keys import LIVE, SOCKETS
from server.settings import SESSION_COOKIE
from server.sockets.layer import COMMANDS
from tests.factories import World
from tests.server.live_helpers import eventually

PEOPLE = 15
COMMANDS_SENT = 2000  # in all; the bound applies to the second half
BYTES_PER_COMMAND = 256  # measured: 13-18; the soak's growth was 800-2,400


async def command(client: socketio.AsyncClient, gid: str, type_: str,
                  **fields: Any) -> dict[str, Any]:
    return await client.call("command", {"id": uuid.uuid4().hex, "type": type_,
                                         "gathering": gid, **fields}, timeout=120)


async def quiet_client(url: str, token: str) -> socketio.AsyncClient:
    """A client that keeps nothing it receives (the test measures this process's heap)."""
    client = socketio.AsyncClient(reconnection=False)
    client.on("event", lambda data: None)
    await client.connect(url, headers={"Cookie": f"{SESSION_COOKIE}={token}"},
                         transports=["websocket"], wait_timeout=60)
    return client


@pytest.fixture
async def room(server: TestServer, sessions: async_sessionmaker,
               world: World) -> AsyncIterator[tuple[str, list[socketio.AsyncClient]]]:
    """The facilitator opens the room; PEOPLE participants join it."""
    async with sessions() as s:
        people = [Person(email=f"p{i}@example.org", name=f"Deltaker {i}") for i in range(PEOPLE)]
        s.add_all(people)
        await s.flush()
        s.add_all(Membership(person_id=p.id, theme_id=world.theme.id, role="participant")
                  for p in people)
        await s.commit()
    clients: list[socketio.AsyncClient] = []
    try:
        for person in [world.facilitator, *people]:
            token = await start_session(sessions, person.id, days=1)
            clients.append(await quiet_client(str(server.make_url("/")), token))
        gid = world.gathering.id
        for client in clients:
            assert (await command(client, gid, "room.join"))["ok"]
        assert (await command(clients[0], gid, "room.open"))["ok"]
        yield gid, clients[1:]
    finally:
        for client in clients:
            await client.disconnect()


async def chat(gid: str, clients: list[socketio.AsyncClient], n: int) -> None:
    """`n` chat messages, each person sending the next when the last is answered (a closed
    loop: nothing piles up however slow the machine is)."""
    async def talk(client: socketio.AsyncClient) -> None:
        sent = 0
        while sent < n // len(clients):
            answer = await command(client, gid, "chat.send", text=f"hei {sent}")
            if answer["ok"]:
                sent += 1
            else:  # over the rate budget: pace down (a load generator's pause, not a wait)
                assert answer["error"]["code"] == "rate_limited", answer
                await asyncio.sleep(0.1)

    await asyncio.gather(*(talk(c) for c in clients))


def heap() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def test_thousands_of_chat_messages_keep_nothing_per_command(
        room: tuple[str, list[socketio.AsyncClient]]) -> None:
    gid, clients = room
    tracemalloc.start(1)
    try:
        await chat(gid, clients, COMMANDS_SENT // 2)  # caches fill, the chat reaches its 200
        before = heap()
        await chat(gid, clients, COMMANDS_SENT // 2)
        grown = heap() - before
    finally:
        tracemalloc.stop()
    assert grown / (COMMANDS_SENT // 2) < BYTES_PER_COMMAND, f"{grown} B kept"


async def test_a_connection_has_at_most_its_burst_of_commands_waiting(
        server: TestServer, room: tuple[str, list[socketio.AsyncClient]]) -> None:
    """While the gathering is busy (its lock held here), one connection's commands wait; once
    a burst of them waits, the next are refused at once instead of piling up."""
    gid, clients = room
    client = clients[0]
    connection = server.app[SOCKETS].connections[client.get_sid()]
    lock = server.app[LIVE]._locks[gid]
    burst = int(COMMANDS.burst)
    async with lock:
        waiting = [asyncio.create_task(command(client, gid, "chat.send", text=f"vent {i}"))
                   for i in range(burst)]
        await eventually(lambda: connection.waiting.get("commands") == burst, within=60,
                         what="a burst of commands waiting for the lock")
        connection.buckets["commands"].tokens = burst  # as if time had refilled the bucket
        refused = await command(client, gid, "chat.send", text="en for mye")
        assert refused["ok"] is False
        assert refused["error"]["code"] == "rate_limited"
        assert "waiting for their answers" in refused["error"]["message"]
    answers = await asyncio.gather(*waiting)
    assert all(answer["ok"] for answer in answers)
    assert connection.waiting["commands"] == 0
