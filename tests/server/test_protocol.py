"""The public protocol over a real server, with python-socketio's real AsyncClient."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

import server.sockets.layer
from rooms.accounts import start_session
from server.keys import SOCKETS
from server.settings import SESSION_COOKIE
from tests.conftest import WAIT, Connect, send
from tests.factories import AGENDA, World
from tests.server.live_helpers import (
    connected_sids,
    event_log,
    events_after,
    eventually,
    joined,
    presence_entries,
    received,
    version,
    watch_presence,
)

SNAPSHOT_KEYS = {
    "version", "phase", "agenda", "current", "hands", "speaker", "chat", "opened_at",
    "ended_at", "gathering", "presence", "presence_rev", "you", "server_now", "breakouts",
    "notes_reopened",
    "questions", "anonymous_questions", "qa_item", "polls", "spotlight", "consent", "recording",
}


def item_ids(answer: dict[str, Any]) -> list[int]:
    return [item["id"] for item in answer["snapshot"]["agenda"]]


async def test_join_gives_a_full_snapshot(world: World, connect: Connect,
                                          server: TestServer) -> None:
    gid = world.gathering.id
    alice = await connect(world.alice)
    before = time.time()
    answer = await send(alice, gid, "room.join")
    assert answer["ok"] is True, answer
    snapshot = answer["snapshot"]
    assert set(snapshot) == SNAPSHOT_KEYS
    assert answer["version"] == snapshot["version"] == await version(server, gid) == 1
    assert snapshot["phase"] == "lobby"
    assert [(i["kind"], i["title"], i["planned_minutes"]) for i in snapshot["agenda"]] == AGENDA
    assert all(isinstance(i["id"], int) for i in snapshot["agenda"])
    assert snapshot["current"] is None
    assert snapshot["hands"] == [] and snapshot["speaker"] is None and snapshot["chat"] == []
    you = {"person_id": world.alice.id, "name": "Alice Askvik",
           "municipality": "Askvik kommune", "role": "participant",
           "stage": None, "tags": []}
    assert snapshot["you"] == you
    assert snapshot["presence"] == [you]
    assert before - 1 <= snapshot["server_now"] <= time.time() + 1
    assert snapshot["gathering"]["id"] == gid
    assert snapshot["gathering"]["title"] == "Samling 1"
    assert snapshot["gathering"]["theme"] == "Mat og matsvinn"

    # the second joiner sees both in the presence list, and the first one's attendance
    bjorn = await connect(world.bjorn)
    second = await send(bjorn, gid, "room.join")
    assert second["version"] == 2
    assert {p["person_id"] for p in second["snapshot"]["presence"]} == {
        world.alice.id, world.bjorn.id}
    # the joiner's own arrival was broadcast to the room, the joiner included
    arrived = await events_after(alice, 0, 2)
    assert [(m["type"], m["data"]["person_id"]) for m in arrived] == [
        ("attendee.arrived", world.alice.id), ("attendee.arrived", world.bjorn.id)]


async def test_joining_again_records_attendance_once(world: World, connect: Connect,
                                                     server: TestServer) -> None:
    gid = world.gathering.id
    alice = await connect(world.alice)
    first = await send(alice, gid, "room.join")
    again = await send(alice, gid, "room.join")
    other_tab = await connect(world.alice)
    third = await send(other_tab, gid, "room.join")
    assert first["version"] == again["version"] == third["version"] == 1
    assert [e.type for e in await event_log(server, gid)] == ["attendee.arrived"]
    assert third["snapshot"]["presence"] == first["snapshot"]["presence"]


async def test_facilitator_opens_and_advances_and_everyone_follows(
    world: World, connect: Connect, server: TestServer
) -> None:
    gid = world.gathering.id
    clients = {"frida": await connect(world.facilitator), "alice": await connect(world.alice),
               "bjorn": await connect(world.bjorn)}
    joins = {name: await send(client, gid, "room.join") for name, client in clients.items()}
    frida = clients["frida"]
    ids = item_ids(joins["frida"])

    opened = await send(frida, gid, "room.open")
    before = time.time()
    first = await send(frida, gid, "agenda.next", from_item=None)
    after = time.time()
    second = await send(frida, gid, "agenda.next", from_item=ids[0])
    extended = await send(frida, gid, "agenda.extend", minutes=5)
    assert [a["ok"] for a in (opened, first, second, extended)] == [True] * 4
    assert [a["version"] for a in (opened, first, second, extended)] == [4, 5, 6, 7]
    assert await version(server, gid) == 7

    for name, client in clients.items():
        since = joins[name]["version"]
        got = await events_after(client, since, 7)
        assert [m["version"] for m in got] == list(range(since + 1, 8)), name
        assert all(m["gathering"] == gid for m in got)
        assert set(got[-1]) == {"gathering", "version", "type", "data"}
        assert [m["type"] for m in got[-4:]] == [
            "room.opened", "agenda.item_started", "agenda.item_started", "agenda.item_extended"]
        # each version is delivered once
        versions = [m["version"] for m in received(client)]
        assert len(versions) == len(set(versions)), name

    started = [m["data"] for m in received(clients["alice"])
               if m["type"] == "agenda.item_started"]
    assert started[0]["item_id"] == ids[0] and started[1]["item_id"] == ids[1]
    assert before - 1 <= started[0]["started_at"] <= after + 1
    assert started[1]["planned_seconds"] == AGENDA[1][2] * 60


async def test_the_countdown_is_the_same_for_everyone(world: World, connect: Connect) -> None:
    gid = world.gathering.id
    people = (world.facilitator, world.alice, world.bjorn, world.observer)
    clients = [await connect(p) for p in people]
    for client in clients:
        await send(client, gid, "room.join")
    frida = clients[0]
    await send(frida, gid, "room.open")
    await send(frida, gid, "agenda.next", from_item=None)
    done = await send(frida, gid, "agenda.extend", minutes=3)
    assert done["ok"], done

    starts = []
    for client in clients:
        got = await events_after(client, done["version"] - 2, done["version"])
        starts.append((got[0]["data"], got[1]["data"]))
    assert all(s == starts[0] for s in starts)
    started, extension = starts[0]
    assert started["planned_seconds"] == 600 and extension["extended_seconds"] == 180

    views = []
    for client in clients:
        answer = await send(client, gid, "room.sync", since=10_000)  # ahead: a snapshot
        views.append(answer["snapshot"]["current"])
    assert all(v == views[0] for v in views)
    current = views[0]
    assert current["started_at"] == started["started_at"]
    assert current["deadline"] == started["started_at"] + 600 + 180
    assert (current["planned_seconds"], current["extended_seconds"]) == (600, 180)


async def test_reconnect_and_catch_up_by_version(world: World, connect: Connect,
                                                 server: TestServer) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    alice = await connect(world.alice)
    await send(frida, gid, "room.join")
    last_seen = (await send(alice, gid, "room.join"))["version"]
    await alice.disconnect()

    steps: list[tuple[str, dict[str, Any]]] = [
        ("room.open", {}), ("agenda.next", {"from_item": None}),
        ("chat.send", {"text": "Mens du var borte"}), ("hand.raise", {})]
    for type_, fields in steps:
        answer = await send(frida, gid, type_, **fields)
        assert answer["ok"], answer
    now = await version(server, gid)
    assert now == last_seen + 4
    missed = await events_after(frida, last_seen, now)

    again = await connect(world.alice)
    synced = await send(again, gid, "room.sync", since=last_seen)
    assert synced["ok"] is True
    assert synced["version"] == now
    assert "snapshot" not in synced
    assert synced["events"] == missed  # exactly the missed ones, in order, as broadcast
    assert [m["type"] for m in synced["events"]] == [
        "room.opened", "agenda.item_started", "chat.posted", "hand.raised"]
    assert isinstance(synced["server_now"], float)

    # nothing missed: no events
    up_to_date = await send(again, gid, "room.sync", since=now)
    assert (up_to_date["version"], up_to_date["events"]) == (now, [])

    # the reconnected client hears what happens next, without a room.join
    more = await send(frida, gid, "chat.send", text="Velkommen tilbake")
    got = await events_after(again, now, more["version"])
    assert got[0]["data"]["text"] == "Velkommen tilbake"
    assert await version(server, gid) == more["version"] == now + 1


async def test_sync_from_ahead_of_the_server_gives_a_snapshot(world: World, connect: Connect,
                                                              server: TestServer) -> None:
    """A client whose version is ahead of the server's (the server was reset) starts afresh."""
    gid = world.gathering.id
    alice = await connect(world.alice)
    join = await send(alice, gid, "room.join")
    answer = await send(alice, gid, "room.sync", since=join["version"] + 1)
    assert answer["ok"] is True
    assert "events" not in answer
    assert answer["version"] == answer["snapshot"]["version"] == await version(server, gid)
    assert answer["snapshot"]["you"]["person_id"] == world.alice.id


async def test_sync_from_far_behind_gives_a_snapshot(world: World, connect: Connect,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server.sockets.layer, "SYNC_EVENTS_MAX", 2)
    gid = world.gathering.id
    alice = await connect(world.alice)
    await send(alice, gid, "room.join")
    for n in range(3):
        await send(alice, gid, "chat.send", text=f"melding {n}")
    close = await send(alice, gid, "room.sync", since=2)
    assert [m["version"] for m in close["events"]] == [3, 4]
    far = await send(alice, gid, "room.sync", since=1)
    assert "events" not in far
    assert far["version"] == 4
    assert [m["text"] for m in far["snapshot"]["chat"]] == ["melding 0", "melding 1", "melding 2"]


async def test_a_repeated_command_id_returns_the_first_answer(world: World, connect: Connect,
                                                              server: TestServer) -> None:
    gid = world.gathering.id
    alice, frida = await joined(connect, gid, world.alice, world.facilitator)
    message = {"id": "chat-1", "type": "chat.send", "gathering": gid, "text": "Bare én gang"}

    first = await alice.call("command", message)
    again = await alice.call("command", message)
    assert first == again == {"ok": True, "version": 3}
    # a resend after a reconnect, from another connection of the same person
    other_tab = await connect(world.alice)
    assert await other_tab.call("command", message) == first
    # the id is the person's: someone else may use the same id
    bjorn = await connect(world.bjorn)
    own = await bjorn.call("command", {**message, "text": "Min egen"})
    assert own == {"ok": True, "version": 4}

    marker = await send(frida, gid, "chat.send", text="markør")
    got = await events_after(frida, 2, marker["version"])
    assert [m["data"]["text"] for m in got if m["type"] == "chat.posted"] == [
        "Bare én gang", "Min egen", "markør"]
    assert [e.version for e in await event_log(server, gid)] == [1, 2, 3, 4, 5]


async def test_a_repeated_id_repeats_a_refusal_even_when_it_would_now_succeed(
    world: World, connect: Connect, server: TestServer
) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    await send(frida, gid, "room.join")
    message = {"id": "next-1", "type": "agenda.next", "gathering": gid, "from_item": None}
    first = await frida.call("command", message)
    assert first["ok"] is False and first["error"]["code"] == "rejected"  # still in the lobby
    assert (await send(frida, gid, "room.open"))["ok"]
    opened_at = await version(server, gid)
    assert await frida.call("command", message) == first
    assert await version(server, gid) == opened_at
    sync = await send(frida, gid, "room.sync", since=10_000)
    assert sync["snapshot"]["current"] is None


async def test_the_same_id_sent_twice_at_once_is_done_once(world: World, connect: Connect,
                                                           server: TestServer) -> None:
    gid = world.gathering.id
    alice = await connect(world.alice)
    await send(alice, gid, "room.join")
    message = {"id": "twice", "type": "chat.send", "gathering": gid, "text": "Dobbeltklikk"}
    answers = await asyncio.gather(*(alice.call("command", message) for _ in range(3)))
    assert answers == [{"ok": True, "version": 2}] * 3
    assert [e.type for e in await event_log(server, gid)] == ["attendee.arrived", "chat.posted"]


async def test_two_facilitators_advancing_at_once_advance_once(world: World, connect: Connect,
                                                               server: TestServer) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    kari = await connect(world.cofacilitator)
    ids = item_ids(await send(frida, gid, "room.join"))
    await send(kari, gid, "room.join")
    await send(frida, gid, "room.open")

    for from_item, expected_index in [(None, 0), (ids[0], 1), (ids[1], 2)]:
        before = await version(server, gid)
        answers = await asyncio.gather(
            send(frida, gid, "agenda.next", from_item=from_item),
            send(kari, gid, "agenda.next", from_item=from_item),
        )
        codes = sorted("ok" if a["ok"] else a["error"]["code"] for a in answers)
        assert codes == ["conflict", "ok"], answers
        winner = next(a for a in answers if a["ok"])
        # one advance: its events (a breakout item also opens its groups), no more
        moved = [e for e in await event_log(server, gid) if e.version > before]
        assert [e.type for e in moved].count("agenda.item_started") == 1
        assert winner["version"] == await version(server, gid) == moved[-1].version
        snapshot = (await send(frida, gid, "room.sync", since=10_000))["snapshot"]
        assert snapshot["current"]["index"] == expected_index
        assert snapshot["current"]["item_id"] == ids[expected_index]
    started = [e for e in await event_log(server, gid) if e.type == "agenda.item_started"]
    assert [e.data["index"] for e in started] == [0, 1, 2]


async def test_presence_counts_people_not_tabs(world: World, connect: Connect,
                                               server: TestServer) -> None:
    gid = world.gathering.id
    alice = await connect(world.alice)
    seen = watch_presence(alice)
    await send(alice, gid, "room.join")
    start_version = await version(server, gid)

    def others() -> list[tuple[str, int]]:
        return [(m["type"], m["data"]["person_id"]) for m in presence_entries(seen)
                if m["data"]["person_id"] != world.alice.id]

    tab1 = await connect(world.bjorn)
    await send(tab1, gid, "room.join")
    await eventually(lambda: len(others()) == 1, what="bjorn joined")
    [message] = [m for m in seen if any(e["data"]["person_id"] == world.bjorn.id
                                        for e in m["data"]["changes"])]
    assert message["gathering"] == gid and message["type"] == "presence.changed"
    [arrival] = [e for e in message["data"]["changes"] if e["data"]["person_id"] == world.bjorn.id]
    assert isinstance(arrival.pop("rev"), int)
    assert arrival == {"type": "presence.joined",
                      "data": {"person_id": world.bjorn.id, "name": "Bjørn Brekke",
                               "municipality": "Brekke kommune", "role": "participant",
                               "stage": None, "tags": []}}

    tab2 = await connect(world.bjorn)
    snapshot = (await send(tab2, gid, "room.join"))["snapshot"]
    assert sorted(p["person_id"] for p in snapshot["presence"]) == sorted(
        [world.alice.id, world.bjorn.id])
    # a marker: Eva's arrival comes after anything Bjørn's second tab could have caused
    eva = await connect(world.expert)
    await send(eva, gid, "room.join")
    await eventually(lambda: len(others()) >= 2, what="eva joined")
    assert others() == [("presence.joined", world.bjorn.id),
                        ("presence.joined", world.expert.id)]

    # closing one of Bjørn's two tabs: he is still here
    sid1 = tab1.get_sid()
    assert sid1 in connected_sids(server)
    await tab1.disconnect()
    await eventually(lambda: sid1 not in connected_sids(server), what="tab 1 gone")
    ola = await connect(world.observer)
    await send(ola, gid, "room.join")
    await eventually(lambda: len(others()) >= 3, what="ola joined")
    assert others()[2:] == [("presence.joined", world.observer.id)]

    # closing the last one: he left
    await tab2.disconnect()
    await eventually(lambda: len(others()) >= 4, what="bjorn left")
    assert others()[3:] == [("presence.left", world.bjorn.id)]
    assert seen[-1]["data"]["changes"][-1]["data"] == {"person_id": world.bjorn.id}
    after = (await send(alice, gid, "room.sync", since=10_000))["snapshot"]["presence"]
    assert sorted(p["person_id"] for p in after) == sorted(
        [world.alice.id, world.expert.id, world.observer.id])
    # presence is not part of the versioned log: only the attendances were recorded
    assert await version(server, gid) == start_version + 3  # bjorn, eva, ola arrived
    assert all(m["type"] == "attendee.arrived" for m in received(alice))


async def test_a_connection_that_names_its_gathering_joins_without_a_lookup_of_its_own(
        world: World, server: TestServer, sessions: async_sessionmaker) -> None:
    """The browser names its gathering in `auth`: the connect's one query finds the person's
    place in it, and the join needs no other; a gathering the person is not in, or a badly
    formed `auth`, changes nothing (the join checks as before)."""
    gid, url = world.gathering.id, str(server.make_url("/"))
    token = await start_session(sessions, world.alice.id, days=1)
    alice = socketio.AsyncClient(reconnection=False)
    await alice.connect(url, headers={"Cookie": f"{SESSION_COOKIE}={token}"},
                        transports=["websocket"], auth={"gathering": gid}, wait_timeout=WAIT)
    try:
        connection = server.app[SOCKETS].connections[alice.get_sid()]
        assert connection.actors[gid].person_id == world.alice.id  # found as it connected
        joined = await send(alice, gid, "room.join")
        assert joined["ok"] and joined["snapshot"]["you"]["name"] == world.alice.name
    finally:
        await alice.disconnect()
    for auth in ({"gathering": "no-such-gathering"}, {"gathering": ["x"]}, "plenary"):
        stranger = socketio.AsyncClient(reconnection=False)
        await stranger.connect(url, headers={"Cookie": f"{SESSION_COOKIE}={token}"},
                               transports=["websocket"], auth=auth, wait_timeout=WAIT)
        try:
            assert server.app[SOCKETS].connections[stranger.get_sid()].actors == {}
            assert (await send(stranger, gid, "room.join"))["ok"]
        finally:
            await stranger.disconnect()
