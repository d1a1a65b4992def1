"""Broadcasts in a large room (server/sockets/broadcast.py), over a real server with
python-socketio clients: an arrival waits for the next broadcast and goes out with it, in
version order, or alone when its moment is up; nothing is lost and nothing overtakes."""

from __future__ import annotations

from typing import Any

import pytest
import socketio

from server.sockets import broadcast
from tests.conftest import Connect, send
from tests.factories import World
from tests.server.live_helpers import eventually, joined


def messages_of(client: socketio.AsyncClient) -> list[list[dict[str, Any]]]:
    """Each `event` or `events` message the client receives, as its list of events."""
    seen: list[list[dict[str, Any]]] = []
    client.on("event", lambda event: seen.append([event]))
    client.on("events", lambda message: seen.append(message["events"]))
    return seen


async def seated(connect: Connect, world: World) -> tuple[socketio.AsyncClient, list[Any]]:
    """Frida and Alice in the room, Frida having heard of Alice's arrival; what Frida
    receives from now on."""
    frida, _alice = await joined(connect, world.gathering.id, world.facilitator, world.alice)
    await eventually(lambda: any(e["type"] == "attendee.arrived" and
                                 e["data"]["person_id"] == world.alice.id
                                 for e in frida.received),
                     what="alice's arrival at frida")
    return frida, messages_of(frida)


async def test_an_arrival_in_a_large_room_goes_out_with_the_next_event(
        world: World, connect: Connect, monkeypatch: pytest.MonkeyPatch) -> None:
    gid = world.gathering.id
    frida, seen = await seated(connect, world)
    monkeypatch.setattr(broadcast, "LARGE_ROOM", 1)  # two connections make a large room
    monkeypatch.setattr(broadcast, "HELD_SECONDS", 30.0)  # only the next event takes it along
    arrived = await send(await connect(world.bjorn), gid, "room.join")
    assert arrived["ok"]
    posted = await send(frida, gid, "chat.send", text="Velkommen")
    await eventually(lambda: len(seen) == 1, what="the chat with the arrival before it")
    [together] = seen
    assert [(e["type"], e["version"]) for e in together] == [
        ("attendee.arrived", arrived["version"]), ("chat.posted", posted["version"])]
    assert together[0]["data"]["person_id"] == world.bjorn.id


async def test_an_arrival_alone_goes_out_when_its_moment_is_up(
        world: World, connect: Connect, monkeypatch: pytest.MonkeyPatch) -> None:
    gid = world.gathering.id
    frida, seen = await seated(connect, world)
    monkeypatch.setattr(broadcast, "LARGE_ROOM", 1)
    arrived = await send(await connect(world.bjorn), gid, "room.join")
    await eventually(lambda: len(seen) == 1, what="the arrival after its moment")
    assert [(e["type"], e["version"]) for e in seen[0]] == [
        ("attendee.arrived", arrived["version"])]


async def test_a_small_room_hears_of_an_arrival_at_once(
        world: World, connect: Connect, monkeypatch: pytest.MonkeyPatch) -> None:
    gid = world.gathering.id
    frida, seen = await seated(connect, world)  # two connections: a small room
    monkeypatch.setattr(broadcast, "HELD_SECONDS", 30.0)  # held, it would come too late
    arrived = await send(await connect(world.bjorn), gid, "room.join")
    await eventually(lambda: len(seen) == 1, what="the arrival, without waiting")
    assert seen[0][0]["version"] == arrived["version"]
