"""Two real `forum serve` processes sharing PostgreSQL and Redis behave as one server.

Each test starts two worker processes on a fresh PostgreSQL database, with their own
socket.io channel and presence keys in Redis (REDIS_PREFIX), and talks to them with
python-socketio's real client."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import start_session
from rooms.db import create_engine, sessionmaker
from rooms.migrate import upgrade
from rooms.models import GatheringEvent
from tests.conftest import START_WAIT, WAIT, connect_client, free_port, send
from tests.factories import World, build_world
from tests.server import live_helpers
from tests.server.live_helpers import follow_presence, presence_entries

ROOT = Path(__file__).resolve().parent.parent
SERVE = ["-m", "server.cli", "serve"]
Message = dict[str, Any]


@dataclass
class Worker:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    async def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_WAIT
        async with aiohttp.ClientSession() as http:
            while True:
                if self.process.poll() is not None:
                    pytest.fail(f"worker {self.name} exited with {self.process.returncode}:\n"
                                f"{self.output()}")
                try:
                    async with http.get(f"{self.url}/healthz",
                                        timeout=aiohttp.ClientTimeout(total=2)) as response:
                        if response.status == 200:
                            return
                except (TimeoutError, aiohttp.ClientError):
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"worker {self.name} not healthy in {START_WAIT}s:\n"
                                f"{self.output()}")
                await asyncio.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=WAIT)


def start_worker(name: str, env: dict[str, str], log_dir: Path,
                 python_args: list[str] = SERVE) -> Worker:
    """`forum serve` (or `python_args`) in a process of its own, on a free port."""
    port = free_port()
    log = log_dir / f"worker-{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *python_args],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            env={**env, "HOST": "127.0.0.1", "PORT": str(port),
                 "PUBLIC_URL": f"http://127.0.0.1:{port}"})
    return Worker(name, port, process, log)


@dataclass
class Cluster:
    a: Worker
    b: Worker
    world: World
    sessions: async_sessionmaker
    clients: list[socketio.AsyncClient]

    async def connect(self, worker: Worker, person: Any) -> socketio.AsyncClient:
        """A signed-in python-socketio client on one worker, collecting what it receives."""
        token = await start_session(self.sessions, person.id, days=1)
        client = await connect_client(worker.url, token)
        self.clients.append(client)
        client.presence = []
        client.on("presence", client.presence.append)
        return client

    async def joined(self, worker: Worker, person: Any, gid: str) -> socketio.AsyncClient:
        """`connect`, then join the gathering's room."""
        client = await self.connect(worker, person)
        assert (await send(client, gid, "room.join"))["ok"]
        return client

    async def log(self, gathering_id: str) -> list[tuple[int, str]]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(GatheringEvent.seq, GatheringEvent.type)
                .where(GatheringEvent.gathering_id == gathering_id)
                .order_by(GatheringEvent.seq))
            return [(seq, type_) for seq, type_ in rows]


StartWorker = Callable[[str, dict[str, str], Path], Worker]


@asynccontextmanager
async def running_cluster(postgres_url: str, redis_url: str, tmp_path: Path,
                          start: StartWorker) -> AsyncIterator[Cluster]:
    """Two workers started by `start` on one fresh database and one Redis prefix; all of it
    stopped and cleaned up afterwards."""
    engine = create_engine(postgres_url)
    prefix = f"forum-test-{uuid.uuid4().hex}"
    workers: list[Worker] = []
    clients: list[socketio.AsyncClient] = []
    try:
        await upgrade(engine)
        sessions = sessionmaker(engine)
        world = await build_world(sessions)
        env = {**os.environ, "DATABASE_URL": postgres_url, "REDIS_URL": redis_url,
               "REDIS_PREFIX": prefix, "SECRET_KEY": "two-workers-secret",
               "PYTHONUNBUFFERED": "1"}
        workers = [start("A", env, tmp_path), start("B", env, tmp_path)]
        await asyncio.gather(*(w.wait_healthy() for w in workers))
        yield Cluster(workers[0], workers[1], world, sessions, clients)
    finally:
        for client in clients:
            await client.disconnect()
        for worker in workers:
            worker.stop()
        redis = Redis.from_url(redis_url)
        try:
            keys = [key async for key in redis.scan_iter(f"{prefix}:*")]
            if keys:
                await redis.delete(*keys)
        finally:
            await redis.aclose()
        await engine.dispose()


@pytest.fixture
async def cluster(postgres_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with running_cluster(postgres_url, redis_url, tmp_path, start_worker) as running:
        yield running


async def eventually(check: Callable[[], bool], what: str, within: float = WAIT) -> None:
    """live_helpers.eventually with what it waits for first, as these stories read."""
    await live_helpers.eventually(check, within, what)


def events(client: socketio.AsyncClient, type_: str | None = None) -> list[Message]:
    received: list[Message] = client.received
    return [m for m in received if type_ is None or m["type"] == type_]


def has(client: socketio.AsyncClient, type_: str, count: int) -> Callable[[], bool]:
    return lambda: len(events(client, type_)) >= count


def presence(client: socketio.AsyncClient) -> list[Message]:
    seen: list[Message] = client.presence
    return seen


async def markers_through_both(gid: str, on_a: socketio.AsyncClient,
                               on_b: socketio.AsyncClient,
                               watchers: list[socketio.AsyncClient]) -> set[int]:
    """A chat message sent through each worker, once every watcher has both: a worker's
    broadcasts reach a client in the order that worker published them (one Redis channel,
    then one socket), so whatever either worker broadcast before its marker has arrived
    too. The markers' versions."""
    sent = [await send(client, gid, "chat.send", text="markør") for client in (on_a, on_b)]
    assert all(answer["ok"] for answer in sent), sent
    versions = {answer["version"] for answer in sent}
    for watcher in watchers:
        await eventually(lambda w=watcher: versions <= {m["version"] for m in events(w)},
                         "the markers from both workers")
    return versions


async def test_a_command_on_one_worker_reaches_a_client_on_the_other(cluster: Cluster) -> None:
    gid = cluster.world.gathering.id
    bjorn = await cluster.connect(cluster.b, cluster.world.bjorn)
    alice = await cluster.connect(cluster.a, cluster.world.alice)
    assert (await send(bjorn, gid, "room.join"))["ok"]

    joined = await send(alice, gid, "room.join")  # on worker A
    assert joined["ok"], joined
    # presence is shared: A's snapshot lists bjorn, who is connected to B
    assert sorted(p["person_id"] for p in joined["snapshot"]["presence"]) == sorted(
        [cluster.world.alice.id, cluster.world.bjorn.id])
    await eventually(lambda: any(m["type"] == "presence.joined"
                                 and m["data"]["person_id"] == cluster.world.alice.id
                                 for m in presence_entries(presence(bjorn))),
                     "presence.joined from worker A at the client on worker B")
    await eventually(lambda: any(m["data"]["person_id"] == cluster.world.alice.id
                                 for m in events(bjorn, "attendee.arrived")),
                     "alice's arrival event from worker A")

    answer = await send(alice, gid, "chat.send", text="Hei fra arbeider A – æøå")
    assert answer["ok"], answer
    await eventually(lambda: any(m["version"] == answer["version"] for m in events(bjorn)),
                     "the chat event on worker B")
    [posted] = [m for m in events(bjorn) if m["version"] == answer["version"]]
    assert posted["gathering"] == gid and posted["type"] == "chat.posted"
    assert posted["data"]["text"] == "Hei fra arbeider A – æøå"
    assert posted["data"]["person_id"] == cluster.world.alice.id

    # and the other way: B to A
    back = await send(bjorn, gid, "chat.send", text="Hei tilbake fra B")
    assert back["ok"], back
    await eventually(lambda: any(m["version"] == back["version"] for m in events(alice)),
                     "the chat event on worker A")


async def test_concurrent_commands_on_both_workers_lose_nothing(cluster: Cluster) -> None:
    gid = cluster.world.gathering.id
    alice = await cluster.joined(cluster.a, cluster.world.alice, gid)
    bjorn = await cluster.joined(cluster.b, cluster.world.bjorn, gid)
    before = len(await cluster.log(gid))  # the two arrivals

    per_client = 20
    acks = await asyncio.gather(
        *(send(alice, gid, "chat.send", text=f"A{i}") for i in range(per_client)),
        *(send(bjorn, gid, "chat.send", text=f"B{i}") for i in range(per_client)),
    )
    total = 2 * per_client
    assert all(ack["ok"] for ack in acks), [ack for ack in acks if not ack["ok"]]
    expected = list(range(before + 1, before + total + 1))
    assert sorted(ack["version"] for ack in acks) == expected

    for client, where in ((alice, "A"), (bjorn, "B")):
        await eventually(has(client, "chat.posted", total),
                         f"all {total} chat events at the client on worker {where}")
    log = await cluster.log(gid)
    assert [seq for seq, _ in log] == list(range(1, before + total + 1))
    assert [type_ for _, type_ in log].count("chat.posted") == total

    # a duplicate delivery would have come before the markers
    markers = await markers_through_both(gid, alice, bjorn, [alice, bjorn])
    for client in (alice, bjorn):
        chats = [m for m in events(client, "chat.posted") if m["version"] not in markers]
        assert sorted(m["version"] for m in chats) == expected  # each once, no gap
        assert {m["data"]["text"] for m in chats} == {f"A{i}" for i in range(per_client)} | {
            f"B{i}" for i in range(per_client)}


async def test_two_facilitators_on_different_workers_advance_once(cluster: Cluster) -> None:
    gid = cluster.world.gathering.id
    frida = await cluster.joined(cluster.a, cluster.world.facilitator, gid)
    kari = await cluster.joined(cluster.b, cluster.world.cofacilitator, gid)
    opened = await send(frida, gid, "room.open")
    assert opened["ok"], opened
    await eventually(lambda: bool(events(kari, "room.opened")), "room.opened on worker B")

    answers = await asyncio.gather(send(frida, gid, "agenda.next", from_item=None),
                                   send(kari, gid, "agenda.next", from_item=None))
    won = [a for a in answers if a["ok"]]
    lost = [a for a in answers if not a["ok"]]
    assert len(won) == 1 and len(lost) == 1, answers
    assert lost[0]["error"]["code"] == "conflict", lost
    assert won[0]["version"] == opened["version"] + 1

    log = await cluster.log(gid)
    assert [type_ for _, type_ in log].count("agenda.item_started") == 1
    for client in (frida, kari):
        await eventually(has(client, "agenda.item_started", 1), "the new item at both consoles")
    await markers_through_both(gid, frida, kari, [frida, kari])  # after any second advance
    for client in (frida, kari):
        [started] = events(client, "agenda.item_started")
        assert started["version"] == won[0]["version"]
        assert started["data"]["index"] == 0


WORKER_TTL = 3  # seconds; the default (15) works the same, only slower to watch


def start_with_short_worker_ttl(name: str, env: dict[str, str], log_dir: Path) -> Worker:
    return start_worker(name, {**env, "WORKER_TTL": str(WORKER_TTL)}, log_dir)


def shows(client: socketio.AsyncClient, snapshot: Message,
          expected: list[int]) -> Callable[[], bool]:
    """Whether the client, following its presence messages from its snapshot, holds exactly
    `expected` present."""
    return lambda: follow_presence(snapshot, presence(client)) == expected


async def fresh_presence(client: socketio.AsyncClient, gid: str) -> list[int]:
    snapshot = (await send(client, gid, "room.sync", since=10_000_000))["snapshot"]
    return sorted(p["person_id"] for p in snapshot["presence"])


async def test_a_crashed_workers_people_leave_the_room(
        postgres_url: str, redis_url: str, tmp_path: Path) -> None:
    async with running_cluster(postgres_url, redis_url, tmp_path,
                               start_with_short_worker_ttl) as cluster:
        gid, world = cluster.world.gathering.id, cluster.world
        bjorn = await cluster.connect(cluster.b, world.bjorn)
        watched = (await send(bjorn, gid, "room.join"))["snapshot"]
        alice = await cluster.connect(cluster.a, world.alice)  # only on A
        eva_a = await cluster.connect(cluster.a, world.expert)  # on A and on B
        eva_b = await cluster.connect(cluster.b, world.expert)
        for client in (alice, eva_a, eva_b):
            assert (await send(client, gid, "room.join"))["ok"]
        everyone = sorted([world.alice.id, world.bjorn.id, world.expert.id])
        await eventually(lambda: follow_presence(watched, presence(bjorn)) == everyone,
                         "everyone present at bjorn's client")

        cluster.a.process.kill()  # a crash: no goodbye, A's entries stay until its key expires
        cluster.a.process.wait(timeout=WAIT)
        left = sorted([world.bjorn.id, world.expert.id])
        # once A's key expired (WORKER_TTL) and B's next beat swept it; the bound is only how
        # long a loaded machine may take, nothing here measures time
        await eventually(lambda: follow_presence(watched, presence(bjorn)) == left,
                         "alice to leave after A died", within=WORKER_TTL * 4 / 3 + WAIT)
        # eva still has her tab on B; a fresh snapshot agrees
        assert await fresh_presence(bjorn, gid) == left
        # and B keeps counting: eva's last tab closing is her leave
        await eva_b.disconnect()
        await eventually(lambda: follow_presence(watched, presence(bjorn)) == [world.bjorn.id],
                         "eva's leave from B")
        # B, the only worker left, sent her leave after its sweep: a second sweep of alice
        # would have come before it
        gone = [e for e in presence_entries(presence(bjorn))
                if e["data"]["person_id"] == world.alice.id and e["type"] == "presence.left"]
        assert len(gone) == 1  # once


async def test_reloads_across_workers_keep_the_person_present(cluster: Cluster) -> None:
    """A page reload whose new connection lands on the other worker: the old tab's leave is
    batched on one worker, the new tab's join on the other, and the two batches may reach a
    client in either order. The revisions put them right."""
    gid, world = cluster.world.gathering.id, cluster.world
    watchers = [await cluster.connect(cluster.a, world.facilitator),
                await cluster.connect(cluster.b, world.bjorn)]
    snapshots = [(await send(w, gid, "room.join"))["snapshot"] for w in watchers]
    tab = await cluster.connect(cluster.a, world.alice)
    assert (await send(tab, gid, "room.join"))["ok"]
    for round_ in range(6):
        worker = cluster.b if round_ % 2 == 0 else cluster.a
        new_tab = await cluster.connect(worker, world.alice)
        joined, _ = await asyncio.gather(send(new_tab, gid, "room.join"), tab.disconnect())
        assert joined["ok"]
        tab = new_tab
    everyone = sorted([world.facilitator.id, world.bjorn.id, world.alice.id])
    assert await fresh_presence(watchers[0], gid) == everyone
    for watcher, snapshot in zip(watchers, snapshots, strict=True):
        await eventually(shows(watcher, snapshot, everyone), "alice present at both watchers")
    # A marker arrival on each worker: a worker's presence batches go out in the order of
    # their windows, so a late batch about alice from either worker comes before its marker.
    for worker, marker in ((cluster.a, world.expert), (cluster.b, world.observer)):
        assert (await send(await cluster.connect(worker, marker), gid, "room.join"))["ok"]
    markers = {world.expert.id, world.observer.id}
    for watcher, snapshot in zip(watchers, snapshots, strict=True):
        await eventually(lambda w=watcher, s=snapshot: markers <= set(
            follow_presence(s, presence(w))), "the markers at both watchers")
        assert follow_presence(snapshot, presence(watcher)) == sorted([*everyone, *markers])
    await tab.disconnect()
    remaining = sorted([world.facilitator.id, world.bjorn.id, *markers])
    for watcher, snapshot in zip(watchers, snapshots, strict=True):
        await eventually(shows(watcher, snapshot, remaining), "alice gone at both watchers")


# `forum serve`, but at shutdown aiohttp waits an hour (not a minute) for open connections,
# and engine.io pings once an hour (a silent client's socket ends after an hour, not 45 s):
# a stopping worker that did not close its sockets itself would outlast any test.
SERVE_WITH_HOUR_LONG_WAITS = [
    "-c", "import functools, socketio; from aiohttp import web; "
    "web.run_app = functools.partial(web.run_app, shutdown_timeout=3600); "
    "socketio.AsyncServer.__init__ = functools.partialmethod("
    "socketio.AsyncServer.__init__, ping_interval=3600); "
    "from server.cli.main import main; main(['serve'])"]


def start_with_hour_long_waits(name: str, env: dict[str, str], log_dir: Path) -> Worker:
    return start_worker(name, env, log_dir, SERVE_WITH_HOUR_LONG_WAITS)


async def test_a_stopping_worker_lets_its_people_go_at_once(
        postgres_url: str, redis_url: str, tmp_path: Path) -> None:
    """SIGTERM (a deploy, a scale-down): the worker closes its sockets before it waits for
    them, so its people leave at once and it exits without waiting for them to go."""
    async with running_cluster(postgres_url, redis_url, tmp_path,
                               start_with_hour_long_waits) as cluster:
        await people_go_as_a_worker_stops(cluster)


async def people_go_as_a_worker_stops(cluster: Cluster) -> None:
    gid, world = cluster.world.gathering.id, cluster.world
    bjorn = await cluster.connect(cluster.b, world.bjorn)
    watched = (await send(bjorn, gid, "room.join"))["snapshot"]
    alice = await cluster.connect(cluster.a, world.alice)
    assert (await send(alice, gid, "room.join"))["ok"]
    both = sorted([world.alice.id, world.bjorn.id])
    await eventually(lambda: follow_presence(watched, presence(bjorn)) == both,
                     "alice present at bjorn's client")
    cluster.a.process.terminate()
    await eventually(lambda: follow_presence(watched, presence(bjorn)) == [world.bjorn.id],
                     "alice's leave as A stops")
    # alice's client never hangs up by itself: A exits within the bound only because it
    # closed her socket itself
    try:
        await asyncio.to_thread(cluster.a.process.wait, WAIT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"worker A still waits for its connections:\n{cluster.a.output()}")
    assert cluster.a.process.returncode == 0, cluster.a.output()
