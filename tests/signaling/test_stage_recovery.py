"""The stage after its server-side peers went away, over the real server with aiortc peers on
loopback: a worker that drops a gathering's stage tells the gathering (`closed`), and a
fresh `stage.listen`/`stage.publish` builds a new stage; with two worker processes, when
the stage's owner is killed, the surviving worker takes the stage over on the next request.
With Janus, when the Janus instance of a stage stops answering, the stage moves to another
instance. (The browser's side, noticing a lost connection by itself, is
tests/e2e/test_stage_recovery.py.)"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioice.ice
import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.keys import STAGE
from server.settings import Settings
from signaling.stage_router import StageRouter
from tests.conftest import WAIT, Connect, running_server, send
from tests.factories import World
from tests.janus_host import JanusHost, pause, resume, running_janus
from tests.server.live_helpers import eventually, joined
from tests.signaling.conftest import collect, on_both_engines
from tests.signaling.stage_peer import StageListener, StagePublisher
from tests.signaling.test_stage_sockets import stage_cluster  # noqa: F401 (fixture)
from tests.test_two_workers import Cluster

pytestmark = pytest.mark.usefixtures("loopback_ice")


@pytest.fixture
def settings(sqlite_url: str, engine: dict[str, Any]) -> Settings:
    return Settings(database_url=sqlite_url, secret_key="test-secret", host="127.0.0.1",
                    max_message_bytes=256 * 1024, **engine)


@dataclass
class SeenOnStage:
    """The facilitator on stage, Bjørn watching; `again` publishes after a loss."""

    gid: str
    pushes: list[dict[str, Any]]
    publisher: StagePublisher
    listener: StageListener
    again: StagePublisher

    async def told_closed(self) -> None:
        await eventually(lambda: self.pushes[-1] == {"gathering": self.gid, "type": "closed"},
                         what="the `closed` push")


@contextlib.asynccontextmanager
async def facilitator_seen_on_stage(connect: Connect, world: World) -> AsyncIterator[SeenOnStage]:
    gid = world.gathering.id
    frida, bjorn = await joined(connect, gid, world.facilitator, world.bjorn)
    assert (await send(frida, gid, "room.open"))["ok"]
    seen = SeenOnStage(gid, collect(bjorn, "stage"), StagePublisher(frida, gid),
                       StageListener(bjorn, gid), StagePublisher(frida, gid))
    try:
        assert (await seen.publisher.publish())["ok"]
        await seen.listener.listen_and_see(world.facilitator.id, "the facilitator's video")
        yield seen
    finally:
        await seen.listener.close()
        await seen.publisher.close()
        await seen.again.close()


@on_both_engines
async def test_a_dropped_stage_says_closed_and_a_new_one_starts(
        server: TestServer, world: World, connect: Connect) -> None:
    async with facilitator_seen_on_stage(connect, world) as seen:
        router: StageRouter = server.app[STAGE]
        await router.host.drop(seen.gid)  # as when the worker lost the owner key, or stops
        await seen.told_closed()
        listener = seen.listener
        await eventually(lambda: seen.publisher.pc.connectionState == "closed"
                         and listener.pc is not None
                         and listener.pc.connectionState == "closed",
                         what="both peers closed by the server")

        # listening and publishing again build a new stage, empty until the publisher is back
        listened = await listener.listen()
        assert listened["ok"] and listened["publishers"] == [], listened
        assert (await seen.again.publish())["ok"]
        await eventually(lambda: [p["person_id"] for p in seen.pushes[-1].get("publishers", [])]
                         == [world.facilitator.id], what="the facilitator back on stage")
        await listener.listen_and_see(world.facilitator.id,
                                      "the facilitator's video on the new stage")


async def owner_of(gid: str) -> Any:
    redis = Redis.from_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
                           decode_responses=True)
    try:
        [key] = [k async for k in redis.scan_iter("*:stage-owner:" + gid)]
        return await redis.get(key)
    finally:
        await redis.aclose()


async def test_the_stage_moves_to_the_surviving_worker_when_its_owner_dies(
        stage_cluster: Cluster) -> None:  # noqa: F811
    cluster = stage_cluster
    gid, world = cluster.world.gathering.id, cluster.world
    frida = await cluster.connect(cluster.a, world.facilitator)
    bjorn = await cluster.connect(cluster.b, world.bjorn)
    for client in (frida, bjorn):
        assert (await send(client, gid, "room.join"))["ok"]
    assert (await send(frida, gid, "room.open"))["ok"]
    publisher, listener = StagePublisher(frida, gid), StageListener(bjorn, gid)
    again: StagePublisher | None = None
    try:
        assert (await publisher.publish())["ok"]  # worker A owns the stage
        assert f"-{cluster.a.process.pid}-" in await owner_of(gid)
        # forwarded from B to A
        await listener.listen_and_see(world.facilitator.id, "A's stage at a listener on B")

        cluster.a.process.kill()  # a crash: no goodbye, its owner key stays until it expires
        cluster.a.process.wait(timeout=WAIT)

        # the next listen on B finds nobody on A's channel, forgets A and runs the stage on B
        listened = await listener.listen()
        assert listened["ok"] and listened["publishers"] == [], listened
        assert f"-{cluster.b.process.pid}-" in await owner_of(gid)
        # the facilitator's browser reconnects (to B) and publishes again
        frida_again = await cluster.connect(cluster.b, world.facilitator)
        assert (await send(frida_again, gid, "room.join"))["ok"]
        again = StagePublisher(frida_again, gid)
        assert (await again.publish())["ok"]
        await listener.listen_and_see(world.facilitator.id,
                                      "the facilitator's video from B's stage")
    finally:
        await listener.close()
        await publisher.close()
        if again is not None:
            await again.close()


async def test_the_stage_moves_to_another_janus_when_its_janus_stops_answering(
        sqlite_url: str, world: World, sessions: async_sessionmaker, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "one-deployment-one-secret"
    with (running_janus(tmp_path / "a", secret=secret) as first,
          running_janus(tmp_path / "b", secret=secret) as second):
        # the test's peers reach both instances' namespaces
        monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6:
                            [first.host_address, second.host_address])
        settings = Settings(database_url=sqlite_url, secret_key="test-secret", host="127.0.0.1",
                            max_message_bytes=256 * 1024, media_engine="janus",
                            janus_urls=f"{first.url},{second.url}", janus_api_secret=secret)
        async with running_server(settings, sessions) as connect:
            await janus_failover(connect, world, first)


async def janus_failover(connect: Connect, world: World, first: JanusHost) -> None:
    # on the first instance: both are empty
    async with facilitator_seen_on_stage(connect, world) as seen:
        pause(first)  # it stops answering: the forum notices within seconds
        try:
            await seen.told_closed()
            # the browsers listen and publish again: the stage is on the second instance now
            assert (await seen.again.publish())["ok"]
            await seen.listener.listen_and_see(world.facilitator.id,
                                               "the facilitator through the second Janus")
        finally:
            resume(first)
