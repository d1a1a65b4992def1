"""The plenary stage over the real server: `stage.publish`, `stage.listen`, the `stage` push,
who may publish (and who loses it when the floor moves), with real aiortc peers on loopback;
and across two real worker processes, where the stage lives in its owner."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from rooms.tasks import stop
from rooms.worker import Worker as WorkerBeat
from server.keys import STAGE
from server.settings import Settings
from server.sockets.errors import error_answer
from signaling.stage import StageError
from signaling.stage_router import StageRouter
from tests.conftest import WAIT, Connect, send
from tests.factories import World
from tests.private_redis import running_redis
from tests.server.live_helpers import code, eventually, joined
from tests.signaling.conftest import collect, on_both_engines
from tests.signaling.stage_peer import StageListener, StagePublisher
from tests.test_two_workers import Cluster, Worker, running_cluster, start_worker

pytestmark = pytest.mark.usefixtures("loopback_ice")


@pytest.fixture
def settings(sqlite_url: str, engine: dict[str, Any]) -> Settings:
    # messages up to 256 KiB reach the server, so the 64 KiB SDP limit is the stage's own
    return Settings(database_url=sqlite_url, secret_key="test-secret", host="127.0.0.1",
                    max_message_bytes=256 * 1024, stage_max_publishers=2, **engine)


def stage_of(server: TestServer, gid: str) -> Any:
    router: StageRouter = server.app[STAGE]
    return router.host.rooms[gid].stage


@on_both_engines
async def test_ten_listeners_decode_one_publisher(
        server: TestServer, world: World, connect: Connect, engine: dict[str, Any]) -> None:
    gid = world.gathering.id
    [frida] = await joined(connect, gid, world.facilitator)
    pushes = collect(frida, "stage")
    publisher = StagePublisher(frida, gid)
    listeners: list[StageListener] = []
    try:
        answer = await publisher.publish()
        assert answer["ok"], answer
        assert answer["description"]["type"] == "answer"
        await eventually(lambda: bool(pushes), what="the stage push")
        assert pushes[-1] == {"gathering": gid, "type": "publishers", "publishers": [
            {"peer": frida.get_sid(), "person_id": world.facilitator.id,
             "name": "Frida Fasilitator", "kinds": ["video"]}]}
        people = [world.alice, world.bjorn, world.observer, world.expert, world.cofacilitator]
        clients = await joined(connect, gid, *(people[i % len(people)] for i in range(10)))
        listeners = [StageListener(c, gid) for c in clients]
        answers = await asyncio.gather(*(ls.listen() for ls in listeners))
        for ls, listened in zip(listeners, answers, strict=True):
            assert listened["ok"], listened
            assert [(t["person_id"], t["kind"]) for t in ls.tracks] == [
                (world.facilitator.id, "video")]
            assert listened["publishers"] == pushes[-1]["publishers"]
        await eventually(lambda: all(ls.video_frames() > 20 for ls in listeners),
                         what="every listener decoding 20 frames")
        stage = stage_of(server, gid)
        if engine["media_engine"] == "aiortc":
            [video] = stage.tracks(frida.get_sid(), "video")
            encoded, sent = stage.encoded_frames[video], publisher.video.sent
            # once per frame, not per listener: ten listeners decoding 20 frames each would
            # have taken 200 encodes otherwise (how far the listeners lag behind the encoder
            # depends on the machine's load, so the two counts are not compared)
            assert 20 < encoded <= sent + 2, (encoded, sent)
            assert stage.encoders_created == {"video": 1}
        assert len(stage.listeners) == 10

        # leaving the stage takes the facilitator off it: everyone is told
        assert (await frida.call("stage.leave", {"gathering": gid}, timeout=WAIT)) == {"ok": True}
        await eventually(lambda: pushes[-1]["publishers"] == [], what="an empty stage")
        assert stage.publishers == []
    finally:
        for ls in listeners:
            await ls.close()
        await publisher.close()


@on_both_engines
async def test_the_floor_gives_and_takes_the_right_to_publish(
        server: TestServer, world: World, connect: Connect) -> None:
    gid = world.gathering.id
    frida, alice, bjorn = await joined(connect, gid, world.facilitator, world.alice, world.bjorn)
    pushes = collect(bjorn, "stage")
    assert (await send(frida, gid, "room.open"))["ok"]
    facilitator, speaker = StagePublisher(frida, gid), StagePublisher(alice, gid)
    listener = StageListener(bjorn, gid)
    try:
        assert (await facilitator.publish())["ok"]
        assert code(await speaker.publish()) == "forbidden"  # no floor yet
        await listener.listen_and_see(world.facilitator.id, "the facilitator's video")

        assert (await send(alice, gid, "hand.raise"))["ok"]
        assert (await send(frida, gid, "hand.call_next"))["ok"]
        speaker = StagePublisher(alice, gid)  # a fresh offer after the refusal
        answer = await speaker.publish()
        assert answer["ok"], answer
        await eventually(lambda: [p["person_id"] for p in pushes[-1]["publishers"]]
                         == [world.facilitator.id, world.alice.id], what="alice on stage")
        # the listener renegotiates: a new offer replaces its server peer
        assert (await listener.listen())["ok"]
        assert {t["person_id"] for t in listener.tracks} == {world.facilitator.id,
                                                             world.alice.id}
        await eventually(lambda: listener.video_frames(world.alice.id) > 5
                         and listener.video_frames(world.facilitator.id) > 5,
                         what="alice's and the facilitator's video at the listener")
        assert len(stage_of(server, gid).listeners) == 1  # replaced, not added

        # a new agenda item ends the floor: alice is taken off stage, the facilitator stays
        assert (await send(frida, gid, "agenda.next", from_item=None))["ok"]
        await eventually(lambda: [p["person_id"] for p in pushes[-1]["publishers"]]
                         == [world.facilitator.id], what="alice taken off stage")
        await eventually(lambda: speaker.pc.connectionState == "closed",
                         what="alice's publisher closed")
        assert code(await StagePublisher(alice, gid).publish()) == "forbidden"
    finally:
        await listener.close()
        await facilitator.close()
        await speaker.close()


@on_both_engines
async def test_refusals(server: TestServer, world: World, connect: Connect) -> None:
    gid = world.gathering.id
    [frida] = await joined(connect, gid, world.facilitator)
    bad = {"gathering": gid, "description": {"type": "offer", "sdp": "v=0 garbage"}}
    assert code(await frida.call("stage.publish", bad, timeout=WAIT)) == "invalid_format"
    assert code(await frida.call("stage.listen", bad, timeout=WAIT)) == "invalid_format"
    for malformed in ({"gathering": gid, "description": {"type": "answer", "sdp": "v=0"}},
                      {**bad, "extra": 1}, ["not", "an", "object"]):
        assert code(await frida.call("stage.listen", malformed, timeout=WAIT)) == "invalid_format"
    huge = {"gathering": gid, "description": {"type": "offer", "sdp": "v" * 70_000}}
    assert code(await frida.call("stage.publish", huge, timeout=WAIT)) == "too_large"
    # unpublishing or leaving when not on stage is fine
    assert (await frida.call("stage.unpublish", {"gathering": gid}, timeout=WAIT)) == {"ok": True}
    assert (await frida.call("stage.leave", {"gathering": gid}, timeout=WAIT)) == {"ok": True}
    outsider = await connect(world.outsider)
    listener = StageListener(outsider, gid)
    try:
        assert code(await listener.listen()) == "forbidden"
    finally:
        await listener.close()
    # a member who has not joined the room
    ola = await connect(world.observer)
    assert code(await ola.call("stage.listen", bad, timeout=WAIT)) == "rejected"
    assert code(await ola.call("stage.leave", {"gathering": gid, "x": 1}, timeout=WAIT)) == \
        "invalid_format"


@on_both_engines
async def test_an_empty_stage_offers_nothing_and_an_answer_needs_an_offer(
        server: TestServer, world: World, connect: Connect) -> None:
    gid = world.gathering.id
    [frida] = await joined(connect, gid, world.facilitator)
    assert await frida.call("stage.listen", {"gathering": gid}, timeout=WAIT) == {
        "ok": True, "description": None, "publishers": [], "tracks": []}
    answer = {"gathering": gid, "description": {"type": "answer", "sdp": "v=0"}}
    assert code(await frida.call("stage.answer", answer, timeout=WAIT)) == "rejected"
    offer = {"gathering": gid, "description": {"type": "offer", "sdp": "v=0"}}
    assert code(await frida.call("stage.answer", offer, timeout=WAIT)) == "invalid_format"


@on_both_engines
async def test_a_tab_on_stage_is_not_sent_its_own_tracks_back(
        server: TestServer, world: World, connect: Connect) -> None:
    gid = world.gathering.id
    frida, bjorn = await joined(connect, gid, world.facilitator, world.bjorn)
    publisher = StagePublisher(frida, gid)
    own, other = StageListener(frida, gid), StageListener(bjorn, gid)
    try:
        assert (await publisher.publish())["ok"]
        await other.listen_to(world.facilitator.id)  # she is on stage (with Janus: media up)
        answer = await own.listen()
        assert answer["description"] is None and answer["tracks"] == [], answer
        assert [p["person_id"] for p in answer["publishers"]] == [world.facilitator.id]
    finally:
        await own.close()
        await other.close()
        await publisher.close()


@on_both_engines
async def test_one_publisher_too_many_is_rejected(
        server: TestServer, world: World, connect: Connect) -> None:
    gid = world.gathering.id
    frida, kari, lead = await joined(connect, gid, world.facilitator, world.cofacilitator,
                                     world.lead)
    first, other = StagePublisher(frida, gid), StagePublisher(kari, gid)
    second = StagePublisher(lead, gid)
    try:
        assert (await first.publish())["ok"]
        assert (await other.publish())["ok"]
        assert code(await second.publish()) == "rejected"  # STAGE_MAX_PUBLISHERS=2
        # the facilitator's disconnect takes them off stage; now there is room
        gone = frida.get_sid()
        await frida.disconnect()
        await eventually(lambda: gone not in stage_of(server, gid).publishers,
                         what="the stage emptied on disconnect")
        assert (await StagePublisher(lead, gid).publish())["ok"]
    finally:
        await first.close()
        await other.close()
        await second.close()


# -- two workers --------------------------------------------------------------------------

LOOPBACK_SERVE = (
    "import aioice.ice\n"
    "aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ['127.0.0.1']\n"
    "from server.cli.main import main\n"
    "main(['serve'])\n")


def start_loopback_worker(name: str, env: dict[str, str], log_dir: Path) -> Worker:
    """`forum serve` with aioice gathering on loopback (a test-only patch, not the product)."""
    return start_worker(name, env, log_dir, ["-c", LOOPBACK_SERVE])


@pytest.fixture
async def stage_cluster(postgres_url: str, redis_url: str,
                        tmp_path: Path) -> AsyncIterator[Cluster]:
    async with running_cluster(postgres_url, redis_url, tmp_path,
                               start_loopback_worker) as running:
        yield running


async def test_a_listener_on_another_worker_decodes_the_owners_stage(
        stage_cluster: Cluster) -> None:
    cluster = stage_cluster
    gid, world = cluster.world.gathering.id, cluster.world
    frida = await cluster.connect(cluster.a, world.facilitator)
    bjorn = await cluster.connect(cluster.b, world.bjorn)
    alice = await cluster.connect(cluster.b, world.alice)
    kari = await cluster.connect(cluster.b, world.cofacilitator)
    for client in (frida, bjorn, alice, kari):
        assert (await send(client, gid, "room.join"))["ok"]
    assert (await send(kari, gid, "room.open"))["ok"]
    pushes = collect(bjorn, "stage")
    publisher, listener = StagePublisher(frida, gid), StageListener(bjorn, gid)
    try:
        answer = await publisher.publish()  # worker A becomes the stage's owner
        assert answer["ok"], answer
        await eventually(lambda: bool(pushes), what="the stage push on worker B")
        assert [p["person_id"] for p in pushes[-1]["publishers"]] == [world.facilitator.id]
        listened = await listener.listen()  # on worker B: forwarded to A
        assert listened["ok"], listened
        await eventually(lambda: listener.video_frames(world.facilitator.id) > 10,
                         what="frames from worker A's stage at a listener on worker B")
        # the rule is checked at the owner for a request forwarded from B
        assert code(await StagePublisher(alice, gid).publish()) == "forbidden"
        # and the floor moving on worker B takes alice off the stage owned by A
        assert (await send(alice, gid, "hand.raise"))["ok"]
        assert (await send(kari, gid, "hand.call_next"))["ok"]
        speaker = StagePublisher(alice, gid)
        try:
            assert (await speaker.publish())["ok"]
            await eventually(lambda: len(pushes[-1]["publishers"]) == 2, what="alice on stage")
            assert (await send(kari, gid, "agenda.next", from_item=None))["ok"]
            await eventually(lambda: [p["person_id"] for p in pushes[-1]["publishers"]]
                             == [world.facilitator.id], what="alice off the stage")
        finally:
            await speaker.close()
        redis = Redis.from_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
                               decode_responses=True)
        try:
            owner_keys = [k async for k in redis.scan_iter("*:stage-owner:" + gid)]
            assert len(owner_keys) == 1
            # worker A, where the first publish arrived, owns the stage
            assert f"-{cluster.a.process.pid}-" in await redis.get(owner_keys[0])
        finally:
            await redis.aclose()
    finally:
        await listener.close()
        await publisher.close()


# -- the router, against a real Redis -------------------------------------------------------


class FakeHost:
    """Stands in for StageHost: records what ran here."""

    def __init__(self) -> None:
        self.rooms: dict[str, Any] = {}
        self.ran: list[dict[str, Any]] = []

    def owns(self, gathering_id: str) -> bool:
        return gathering_id in self.rooms

    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        self.ran.append(request)
        return {"ok": True, "here": True}


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def test_an_owner_that_does_not_answer_is_an_internal_error(
        redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    import signaling.stage_router as module

    monkeypatch.setattr(module, "FORWARD_TIMEOUT", 0.3)
    prefix = f"forum-test-{uuid.uuid4().hex}"
    host = FakeHost()
    router = StageRouter(host, WorkerBeat(redis, prefix), error_answer)  # type: ignore[arg-type]
    await redis.set(router.owner_key("g1"), "silent-worker", ex=30)
    silent = redis.pubsub()
    await silent.subscribe(router.request_channel("silent-worker"))  # listens, never answers
    listening = asyncio.create_task(router.listen())
    try:
        await asyncio.wait_for(router.ready.wait(), WAIT)
        with pytest.raises(StageError) as refused:
            await router.call({"op": "listen", "gathering": "g1", "sid": "s"})
        answer = error_answer(refused.value)  # what the edge acks
        assert answer["error"]["code"] == "internal"
        assert "did not answer in time" in answer["error"]["message"]
    finally:
        assert host.ran == []
        listening.cancel()
        await silent.aclose()
        await redis.delete(router.owner_key("g1"))


async def test_a_vanished_owner_is_replaced(redis: Redis) -> None:
    prefix = f"forum-test-{uuid.uuid4().hex}"
    host = FakeHost()
    router = StageRouter(host, WorkerBeat(redis, prefix), error_answer)  # type: ignore[arg-type]
    await redis.set(router.owner_key("g1"), "dead-worker", ex=30)  # nobody subscribed
    try:
        answer = await router.call({"op": "listen", "gathering": "g1", "sid": "s"})
        assert answer == {"ok": True, "here": True}
        assert await redis.get(router.owner_key("g1")) == router.worker.id
        # without a claim (a review, a leave) a gathering without an owner has nothing to do
        assert await router.call({"op": "review", "gathering": "g2"}, claim=False) == {
            "ok": True}
        assert await redis.get(router.owner_key("g2")) is None
        assert [r["gathering"] for r in host.ran] == ["g1"]
    finally:
        await redis.delete(router.owner_key("g1"))


async def test_the_stage_listener_hears_again_after_redis_comes_back() -> None:
    async with running_redis() as private:
        client = Redis.from_url(private.url, decode_responses=True)
        prefix = f"forum-test-{uuid.uuid4().hex}"
        host = FakeHost()
        owner = StageRouter(host, WorkerBeat(client, prefix), error_answer)  # type: ignore[arg-type]
        host.rooms["g1"] = object()
        listening = asyncio.create_task(owner.listen())
        try:
            await asyncio.wait_for(owner.ready.wait(), WAIT)
            await private.stop()
            owner.ready.clear()
            await private.start()
            await asyncio.wait_for(owner.ready.wait(), WAIT)  # subscribed again
            asker = StageRouter(FakeHost(), WorkerBeat(client, prefix),  # type: ignore[arg-type]
                                error_answer)
            await client.set(owner.owner_key("g1"), owner.worker.id, ex=30)
            asking = asyncio.create_task(asker.listen())
            await asyncio.wait_for(asker.ready.wait(), WAIT)
            answer = await asker.call({"op": "listen", "gathering": "g1", "sid": "s"})
            assert answer == {"ok": True, "here": True}
            assert [r["gathering"] for r in host.ran] == ["g1"]
            await stop(asking)
        finally:
            await stop(listening)
            await client.aclose()
