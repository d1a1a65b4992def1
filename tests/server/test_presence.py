"""Presence over a real server with python-socketio clients: joins and leaves are coalesced
into few `presence.changed` broadcasts, and a client that applies them to its snapshot by
revision ends with the server's list."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import Role
from rooms.models import Membership, Person
from rooms.presence import PRESENCE_WINDOW, Change
from server.keys import SOCKETS
from server.sockets import roster
from tests.conftest import Connect, send
from tests.factories import World
from tests.server.live_helpers import (
    Message,
    eventually,
    follow_presence,
    presence_entries,
    watch_presence,
)

SEATED = 16


async def participants(sessions: async_sessionmaker, world: World, count: int) -> list[Person]:
    async with sessions() as session:
        people = [Person(email=f"deltaker{i}@example.org", name=f"Deltaker {i}",
                         municipality_id=world.alice.municipality_id) for i in range(count)]
        session.add_all(people)
        await session.flush()
        session.add_all(Membership(person_id=p.id, theme_id=world.theme.id,
                                   role=Role.PARTICIPANT.value) for p in people)
        await session.commit()
    return people


async def fresh_ids(client: socketio.AsyncClient, gid: str) -> list[int]:
    snapshot = (await send(client, gid, "room.sync", since=10_000))["snapshot"]
    return sorted(p["person_id"] for p in snapshot["presence"])


async def test_seating_a_room_sends_a_few_batches_not_one_message_per_person(
        world: World, connect: Connect, sessions: async_sessionmaker) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    seen = watch_presence(frida)
    snapshot = (await send(frida, gid, "room.join"))["snapshot"]
    people = await participants(sessions, world, SEATED)
    clients = await asyncio.gather(*(connect(p) for p in people))
    answers = await asyncio.gather(*(send(c, gid, "room.join") for c in clients))
    assert all(a["ok"] for a in answers), answers
    everyone = sorted([world.facilitator.id, *(p.id for p in people)])

    await eventually(lambda: follow_presence(snapshot, seen) == everyone,
                     what="every arrival at the facilitator")
    assert await fresh_ids(frida, gid) == everyone
    arrivals = [e for e in presence_entries(seen) if e["data"]["person_id"] != world.facilitator.id]
    # each person once, in revision order within each message
    assert sorted(e["data"]["person_id"] for e in arrivals) == sorted(p.id for p in people)
    assert {e["type"] for e in arrivals} == {"presence.joined"}
    for message in seen:
        revs = [e["rev"] for e in message["data"]["changes"]]
        assert revs == sorted(revs) and len(set(revs)) == len(revs)
    # the point: one message per window, not one per person (which made seating N²)
    assert len(seen) < SEATED, [len(m["data"]["changes"]) for m in seen]
    assert max(len(m["data"]["changes"]) for m in seen) > 1

    # every late joiner's own snapshot plus what it got afterwards says the same
    await asyncio.gather(*(c.disconnect() for c in clients[: SEATED // 2]))
    remaining = sorted([world.facilitator.id, *(p.id for p in people[SEATED // 2:])])
    await eventually(lambda: follow_presence(snapshot, seen) == remaining,
                     what="the leaves at the facilitator")
    assert await fresh_ids(frida, gid) == remaining


async def test_a_join_then_a_leave_in_one_window_arrives_as_the_leave(
        world: World, connect: Connect, server: TestServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    seen = watch_presence(frida)
    snapshot = (await send(frida, gid, "room.join"))["snapshot"]
    await eventually(lambda: bool(seen), what="frida's own arrival")
    assert follow_presence(snapshot, seen) == [world.facilitator.id]
    seen.clear()
    # The window stays open until the leave is in, however slow the machine: an hour long,
    # ended by the feed's close() (which sends what is pending at once, as at shutdown).
    feed = server.app[SOCKETS].presence_feed
    feed.window = 3600
    added: list[Change] = []
    add = feed.add

    def noted(gathering_id: str, change: Change) -> None:
        added.append(change)
        add(gathering_id, change)

    monkeypatch.setattr(feed, "add", noted)

    alice = await connect(world.alice)
    assert (await send(alice, gid, "room.join"))["ok"]
    await alice.disconnect()
    await eventually(lambda: any(c.person_id == world.alice.id and not c.joined for c in added),
                     what="alice's leave in the feed")
    await feed.close()
    await eventually(lambda: bool(seen), what="the batch with alice")
    # a marker: bjorn's arrival opens a later window, so anything more about alice comes
    # before his batch (the feed sends its batches in turn, on frida's one socket)
    feed.window = PRESENCE_WINDOW
    assert (await send(await connect(world.bjorn), gid, "room.join"))["ok"]
    await eventually(lambda: len(seen) > 1, what="the batch with bjorn")
    assert [[e["data"]["person_id"] for e in m["data"]["changes"]] for m in seen[1:]] == [
        [world.bjorn.id]], seen
    [entry] = seen[0]["data"]["changes"]
    assert entry["type"] == "presence.left" and entry["data"] == {"person_id": world.alice.id}
    assert entry["rev"] > snapshot["presence_rev"]
    assert follow_presence(snapshot, seen[:1]) == [world.facilitator.id]
    assert follow_presence(snapshot, seen) == sorted([world.facilitator.id, world.bjorn.id])
    assert await fresh_ids(frida, gid) == sorted([world.facilitator.id, world.bjorn.id])


async def test_the_snapshot_holds_the_revision_of_what_it_lists(
        world: World, connect: Connect) -> None:
    gid = world.gathering.id
    alice, bjorn = await connect(world.alice), await connect(world.bjorn)
    seen: list[Message] = watch_presence(alice)
    first: dict[str, Any] = (await send(alice, gid, "room.join"))["snapshot"]
    assert first["presence_rev"] > 0
    second = (await send(bjorn, gid, "room.join"))["snapshot"]
    assert second["presence_rev"] > first["presence_rev"]
    await eventually(lambda: any(e["data"]["person_id"] == world.bjorn.id
                                 for e in presence_entries(seen)), what="bjorn at alice")
    [bjorn_joined] = [e for e in presence_entries(seen)
                      if e["data"]["person_id"] == world.bjorn.id]
    assert bjorn_joined["rev"] == second["presence_rev"]
    # alice's own arrival may come after her snapshot: it is already in it, and skipped
    assert follow_presence(first, seen) == sorted([world.alice.id, world.bjorn.id])


async def test_a_large_room_names_a_participants_own_municipality_and_counts_the_rest(
        world: World, connect: Connect, sessions: async_sessionmaker,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond `PRESENCE_NAMED` people (two here), a participant's snapshot names their own
    municipality and those who run the gathering, and gives the others as ids by
    municipality; the facilitator still gets everyone by name."""
    monkeypatch.setattr(roster, "PRESENCE_NAMED", 2)
    gid = world.gathering.id
    neighbours = await participants(sessions, world, 2)  # alice's municipality, Askvik
    frida, bjorn = await connect(world.facilitator), await connect(world.bjorn)
    for client in (frida, bjorn, *[await connect(p) for p in neighbours]):
        assert (await send(client, gid, "room.join"))["ok"]
    alice = await connect(world.alice)
    mine = (await send(alice, gid, "room.join"))["snapshot"]
    named = {p["person_id"] for p in mine["presence"]}
    assert named == {world.alice.id, world.facilitator.id, *(p.id for p in neighbours)}
    assert mine["presence_others"] == {"Brekke kommune": [world.bjorn.id]}
    everyone = (await send(frida, gid, "room.sync", since=10_000))["snapshot"]
    assert "presence_others" not in everyone
    assert {p["person_id"] for p in everyone["presence"]} == named | {world.bjorn.id}
    assert everyone["presence_rev"] == mine["presence_rev"]
