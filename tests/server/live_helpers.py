"""Helpers for the socket protocol tests: waiting for deliveries, reading the server's state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer

from rooms.store import StoredEvent
from server.keys import LIVE, SOCKETS, STORE

Message = dict[str, Any]


async def eventually(check: Callable[[], bool], within: float = 5.0, what: str = "") -> None:
    """Wait for something delivered over the network (never for a fixed time)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.005)


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
    people = {p["person_id"] for p in snapshot["presence"]}
    last: dict[int, int] = {}
    for entry in presence_entries(seen):
        person_id = entry["data"]["person_id"]
        if entry["rev"] <= max(snapshot["presence_rev"], last.get(person_id, 0)):
            continue
        last[person_id] = entry["rev"]
        if entry["type"] == "presence.joined":
            people.add(person_id)
        else:
            people.discard(person_id)
    return sorted(people)


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


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The log records that carry a traceback: a failure the server did not expect."""
    return [record.getMessage() for record in caplog.records
            if record.exc_info or "Traceback" in record.getMessage()]
