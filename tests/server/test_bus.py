"""A socket.io bus (Redis) outage over real servers and real python-socketio clients, with a
Redis of the test's own that it stops and starts: people on the worker that commits miss
nothing, everyone is told the bus is down and when it is back, and a `room.sync` then brings
every event committed meanwhile, exactly once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import socketio

from server.settings import Settings
from server.sockets.bus import BusWatcher
from tests.conftest import Connect, send
from tests.factories import World
from tests.private_redis import PrivateRedis, running_redis
from tests.server.live_helpers import Message, eventually, received
from tests.test_two_workers import running_cluster, start_worker

OUTAGE_BOUND = 60.0  # how long a loaded machine may take to notice; nothing measures time


@pytest.fixture
async def private_redis() -> AsyncIterator[PrivateRedis]:
    async with running_redis() as redis:
        yield redis


@pytest.fixture
def settings(sqlite_url: str, private_redis: PrivateRedis) -> Settings:
    return Settings(database_url=sqlite_url, secret_key="test-secret", host="127.0.0.1",
                    redis_url=private_redis.url,
                    redis_prefix=f"forum-test-{uuid.uuid4().hex}")


def hear_bus(client: socketio.AsyncClient) -> list[str]:
    """Start collecting the client's `bus` messages; returns the list their states go to."""
    states: list[str] = []
    client.on("bus", lambda message: states.append(message["state"]))
    return states


def told(states: list[str], *expected: str) -> bool:
    """Whether the client heard exactly these states, in order (an `up` may come from more
    than one worker)."""
    heard = [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]
    return heard == list(expected)


async def join_hearing_the_bus(gid: str, alice: socketio.AsyncClient,
                               bjorn: socketio.AsyncClient) -> tuple[list[list[str]], int]:
    """Alice and Bjørn start collecting `bus` messages and join the room; returns the lists
    their states go to, and the version both hold."""
    buses = [hear_bus(alice), hear_bus(bjorn)]
    assert (await send(alice, gid, "room.join"))["ok"]
    before = (await send(bjorn, gid, "room.join"))["version"]
    return buses, before


async def redis_stops(redis: PrivateRedis, buses: list[list[str]], what: str) -> None:
    """Redis stops; then everyone is told the bus is down."""
    await redis.stop()
    await eventually(lambda: all(told(heard, "down") for heard in buses),
                     within=OUTAGE_BOUND, what=what)


async def redis_starts(redis: PrivateRedis, buses: list[list[str]], what: str) -> None:
    """Redis starts again; then everyone is told the bus is back."""
    await redis.start()
    await eventually(lambda: all(told(heard, "down", "up") for heard in buses),
                     within=OUTAGE_BOUND, what=what)


async def chats_during(client: socketio.AsyncClient, gid: str, *texts: str) -> list[int]:
    answers = [await send(client, gid, "chat.send", text=text) for text in texts]
    assert all(a["ok"] for a in answers), answers
    return [a["version"] for a in answers]


def live_versions(client: socketio.AsyncClient) -> list[int]:
    return [m["version"] for m in received(client)]


async def chats_caught_up(client: socketio.AsyncClient, gid: str, since: int) -> list[str]:
    """The chat texts the client holds after `room.sync` from `since` on; each event it got
    live, it got once."""
    held = await caught_up(client, gid, since)
    assert sorted(set(live_versions(client))) == sorted(live_versions(client))  # no repeats
    return [e["data"]["text"] for e in held if e["type"] == "chat.posted"]


async def delivered_live(client: socketio.AsyncClient, versions: list[int], what: str) -> None:
    await eventually(lambda: set(versions) <= set(live_versions(client)), what=what)


async def caught_up(client: socketio.AsyncClient, gid: str, since: int) -> list[Message]:
    """What the client holds after `room.sync`, as the browser folds it: the events it got
    live and those the sync brought, by version, from `since` on."""
    answer = await send(client, gid, "room.sync", since=since)
    assert answer["ok"] and "events" in answer, answer
    synced = answer["events"]
    assert [e["version"] for e in synced] == list(range(since + 1, answer["version"] + 1))
    held = {m["version"]: m for m in received(client) if m["version"] > since}
    return [held.get(e["version"], e) for e in synced]


async def test_people_on_the_worker_hear_of_a_bus_outage_and_miss_nothing(
        world: World, connect: Connect, private_redis: PrivateRedis) -> None:
    gid = world.gathering.id
    alice, bjorn = await connect(world.alice), await connect(world.bjorn)
    buses, before = await join_hearing_the_bus(gid, alice, bjorn)

    await redis_stops(private_redis, buses, "everyone told the bus is down")
    during = await chats_during(alice, gid, "Hører dere meg?", "Redis er nede")
    for client in (alice, bjorn):  # the same worker: delivered all the same
        await delivered_live(client, during, "the chats during the outage")

    await redis_starts(private_redis, buses, "everyone told the bus is back")
    for client in (alice, bjorn):
        assert await chats_caught_up(client, gid, before) == [
            "Hører dere meg?", "Redis er nede"]


async def test_a_bus_outage_across_two_workers_is_told_and_caught_up(
        postgres_url: str, private_redis: PrivateRedis, tmp_path: Path) -> None:
    async with running_cluster(postgres_url, private_redis.url, tmp_path,
                               start_worker) as cluster:
        gid, world = cluster.world.gathering.id, cluster.world
        alice = await cluster.connect(cluster.a, world.alice)
        bjorn = await cluster.connect(cluster.b, world.bjorn)
        buses, before = await join_hearing_the_bus(gid, alice, bjorn)

        await redis_stops(private_redis, buses, "both workers' people told the bus is down")
        from_a = await chats_during(alice, gid, "Fra A i mørket")
        from_b = await chats_during(bjorn, gid, "Fra B i mørket")
        await delivered_live(alice, from_a, "A's chat at its own worker's client")
        await delivered_live(bjorn, from_b, "B's chat at its own worker's client")

        await redis_starts(private_redis, buses, "both workers' people told the bus is back")
        for client in (alice, bjorn):
            assert await chats_caught_up(client, gid, before) == [
                "Fra A i mørket", "Fra B i mørket"]

        # and the bus carries again: a chat on A reaches B's client
        [after] = await chats_during(alice, gid, "Alt vel igjen")
        await eventually(lambda: after in live_versions(bjorn), within=OUTAGE_BOUND,
                         what="a chat across workers after the outage")


class Told(list[tuple[str, bool]]):
    async def __call__(self, state: str, everyone: bool) -> None:
        self.append((state, everyone))


async def test_the_bus_is_back_when_it_answers_and_the_listener_hears_again() -> None:
    told, answering = Told(), [False]

    async def ping() -> None:
        if not answering[0]:
            raise ConnectionError("refused")

    watcher = BusWatcher(ping, told)
    await watcher.failed(ConnectionError("lost"), deaf=True)  # the listener's connection
    await watcher.check()
    watcher.hold_back()  # a broadcast not published meanwhile
    answering[0] = True
    await watcher.check()  # answers, but nobody here hears the others yet
    assert told == [("down", False)] and watcher.down
    await watcher.subscribed()
    assert told == [("down", False), ("up", True)]  # held back: every worker's sockets hear it
    assert not watcher.down

    answering[0] = False
    await watcher.check()
    answering[0] = True
    await watcher.check()  # nothing held back this time: our own sockets only
    assert told[2:] == [("down", False), ("up", False)]
