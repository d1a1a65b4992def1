"""Helpers for the socket protocol tests: waiting for deliveries, reading the server's state."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import socketio
from aiohttp.test_utils import TestServer

from rooms.store import StoredEvent
from server.keys import LIVE, SOCKETS, STORE
from tests.conftest import WAIT, Connect, send

Message = dict[str, Any]
T = TypeVar("T")


async def eventually(check: Callable[[], bool], within: float = WAIT, what: str = "") -> None:
    """Wait for something delivered over the network (never for a fixed time); `within` is
    only how long a loaded machine may take."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.005)


def code(answer: Message) -> str:
    """The error code of an answer that must be a refusal."""
    assert answer["ok"] is False, answer
    return str(answer["error"]["code"])


async def joined(connect: Connect, gid: str, *people: Any) -> list[socketio.AsyncClient]:
    """A client for each of `people`, in this order, each joined to the gathering's room."""
    clients = []
    for person in people:
        client = await connect(person)
        assert (await send(client, gid, "room.join"))["ok"]
        clients.append(client)
    return clients


async def fetched_until(fetch: Callable[[], Awaitable[T]], ready: Callable[[T], bool],
                        within: float = WAIT, what: str = "") -> T:
    """`eventually` for what has to be asked for (over the network, from a store): fetch
    until `ready` holds for what came back, and return that."""
    deadline = time.monotonic() + within
    while not ready(fetched := await fetch()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or ready}: {fetched!r}")
        await asyncio.sleep(0.05)
    return fetched


async def round_trip(client: socketio.AsyncClient, gathering_id: str) -> None:
    """A marker: one request answered on the client's own socket. What the server sent the
    client before it handled the request (say, while handling an earlier request that was
    answered already) has arrived once the answer has: one socket delivers in order."""
    assert (await send(client, gathering_id, "room.sync", since=0))["ok"]


def received(client: socketio.AsyncClient) -> list[Message]:
    """The `event` messages the client got (collected by the `connect` fixture)."""
    received: list[Message] = client.received
    return received


def watch_presence(client: socketio.AsyncClient) -> list[Message]:
    """Start collecting the client's `presence` messages; returns the list they go to."""
    seen: list[Message] = []
    client.on("presence", seen.append)
    return seen


def presence_entries(seen: list[Message]) -> list[Message]:
    """The entries of the `presence.changed` messages in `seen`, in the order they came."""
    return [entry for message in seen for entry in message["data"]["changes"]]


def follow_presence(snapshot: Message, seen: list[Message]) -> list[int]:
    """Who a client holds present after applying `seen` to its snapshot as the browser does
    (static/src/reducer.js applyPresence): an entry counts only when its `rev` is above both
    the snapshot's `presence_rev` and the last one applied for that person."""
    return sorted(followed_entries(snapshot, seen))


def followed_entries(snapshot: Message, seen: list[Message]) -> dict[int, Message]:
    """`follow_presence` with each present person's entry (a later entry replaces theirs)."""
    people = {p["person_id"]: p for p in snapshot["presence"]}
    last: dict[int, int] = {}
    for entry in presence_entries(seen):
        person_id = entry["data"]["person_id"]
        if entry["rev"] <= max(snapshot["presence_rev"], last.get(person_id, 0)):
            continue
        last[person_id] = entry["rev"]
        people.pop(person_id, None)
        if entry["type"] == "presence.joined":
            people[person_id] = entry["data"]
    return people


async def version(server: TestServer, gathering_id: str) -> int:
    return (await server.app[LIVE].state(gathering_id)).version


async def event_log(server: TestServer, gathering_id: str) -> list[StoredEvent]:
    return await server.app[STORE].events_since(gathering_id, 0)


def connected_sids(server: TestServer) -> set[str]:
    return set(server.app[SOCKETS].connections)


async def events_after(client: socketio.AsyncClient, after: int, until: int) -> list[Message]:
    """Wait until the client has every event version after..until; return those, in order."""
    def have() -> list[Message]:
        return [m for m in received(client) if after < m["version"] <= until]

    await eventually(lambda: len(have()) >= until - after, what=f"events {after + 1}..{until}")
    return have()


def loud(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The log records of an ERROR or with a traceback: what an operator would be woken for."""
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records
            if r.levelno >= logging.ERROR or r.exc_info]


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The log records that carry a traceback: a failure the server did not expect."""
    return [record.getMessage() for record in caplog.records
            if record.exc_info or "Traceback" in record.getMessage()]
