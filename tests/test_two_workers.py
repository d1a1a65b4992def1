"""Two real `forum serve` processes sharing PostgreSQL and Redis behave as one server.

Each test starts two worker processes on a fresh PostgreSQL database, with their own
socket.io channel and presence keys in Redis (REDIS_PREFIX), and talks to them with
python-socketio's real client."""

from __future__ import annotations

import asyncio
import os
import socket
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
from tests.conftest import connect_client, send
from tests.factories import World, build_world

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
DELIVERY_TIMEOUT = 10.0
Message = dict[str, Any]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
        deadline = time.monotonic() + START_TIMEOUT
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
                    pytest.fail(f"worker {self.name} not healthy in {START_TIMEOUT}s:\n"
                                f"{self.output()}")
                await asyncio.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_worker(name: str, env: dict[str, str], log_dir: Path) -> Worker:
    port = free_port()
    log = log_dir / f"worker-{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"],
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


async def eventually(check: Callable[[], bool], what: str) -> None:
    """Poll for something delivered over the network, up to DELIVERY_TIMEOUT."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {DELIVERY_TIMEOUT}s waiting for {what}")
        await asyncio.sleep(0.01)


def events(client: socketio.AsyncClient, type_: str | None = None) -> list[Message]:
    received: list[Message] = client.received
    return [m for m in received if type_ is None or m["type"] == type_]


def has(client: socketio.AsyncClient, type_: str, count: int) -> Callable[[], bool]:
    return lambda: len(events(client, type_)) >= count


def presence(client: socketio.AsyncClient) -> list[Message]:
    seen: list[Message] = client.presence
    return seen


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
                                 for m in presence(bjorn)),
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
    alice = await cluster.connect(cluster.a, cluster.world.alice)
    bjorn = await cluster.connect(cluster.b, cluster.world.bjorn)
    assert (await send(alice, gid, "room.join"))["ok"]
    assert (await send(bjorn, gid, "room.join"))["ok"]
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
    await asyncio.sleep(0.2)  # room for a duplicate delivery to show up
    for client in (alice, bjorn):
        chats = events(client, "chat.posted")
        assert sorted(m["version"] for m in chats) == expected  # each once, no gap
        assert {m["data"]["text"] for m in chats} == {f"A{i}" for i in range(per_client)} | {
            f"B{i}" for i in range(per_client)}

    log = await cluster.log(gid)
    assert [seq for seq, _ in log] == list(range(1, before + total + 1))
    assert [type_ for _, type_ in log].count("chat.posted") == total


async def test_two_facilitators_on_different_workers_advance_once(cluster: Cluster) -> None:
    gid = cluster.world.gathering.id
    frida = await cluster.connect(cluster.a, cluster.world.facilitator)
    kari = await cluster.connect(cluster.b, cluster.world.cofacilitator)
    assert (await send(frida, gid, "room.join"))["ok"]
    assert (await send(kari, gid, "room.join"))["ok"]
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
    await asyncio.sleep(0.2)  # room for a second (wrong) advance to show up
    for client in (frida, kari):
        [started] = events(client, "agenda.item_started")
        assert started["version"] == won[0]["version"]
        assert started["data"]["index"] == 0
