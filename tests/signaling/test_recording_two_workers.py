"""Recording an expert slot across two real worker processes on PostgreSQL + Redis: the
expert publishes through worker A, so A owns the stage; the facilitator, connected to
worker B, gives her the stage and starts and stops the recording there. The commands are
committed on B, which hands the stage's review to A over Redis (`op=review`, no claim); A
taps the expert's publisher, writes the MP4 and the `recordings` row, and worker B serves
the finished file to a member of the theme."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from recordings.archive import READY, RECORDING, RecordingArchive, media_seconds
from rooms.accounts import start_session
from rooms.models import Person, Recording
from server.settings import SESSION_COOKIE
from tests.conftest import send
from tests.recordings.test_recorder import read_file
from tests.server.live_helpers import eventually, fetched_until
from tests.signaling.stage_peer import StagePublisher
from tests.signaling.test_stage_recovery import owner_of
from tests.signaling.test_stage_sockets import start_loopback_worker
from tests.test_two_workers import Cluster, Worker, events, running_cluster

pytestmark = pytest.mark.usefixtures("loopback_ice")  # this process's own aiortc peers

EXPERT_SIZE = (320, 180)
RECORD_FRAMES = 60  # how much of her video to record: 2 s at 30 fps


@pytest.fixture
async def recording_cluster(postgres_url: str, redis_url: str,
                            tmp_path: Path) -> AsyncIterator[tuple[Cluster, RecordingArchive]]:
    """Two loopback workers sharing one RECORDINGS_DIR (a tmp dir), and the archive as the
    test reads it: the same database and folder."""
    directory = tmp_path / "recordings"

    def start(name: str, env: dict[str, str], log_dir: Path) -> Worker:
        return start_loopback_worker(name, {**env, "RECORDINGS_DIR": str(directory)}, log_dir)

    async with running_cluster(postgres_url, redis_url, tmp_path, start) as cluster:
        yield cluster, RecordingArchive(cluster.sessions, directory.resolve())


async def one_row(archive: RecordingArchive, gid: str, *, done: bool) -> Recording:
    """The gathering's only recording, once it exists (`done`: once it is finished)."""
    async def rows() -> list[Recording]:
        found = await archive.of_gathering(gid)
        assert len(found) <= 1, found
        return found

    [row] = await fetched_until(
        rows, lambda found: bool(found) and (found[0].status != RECORDING or not done),
        what="a recording " + ("finished" if done else "started"))
    return row


async def download(worker: Worker, cluster: Cluster, person: Person,
                   path: str) -> tuple[int, dict[str, str], bytes]:
    token = await start_session(cluster.sessions, person.id, days=1)
    cookie = {"Cookie": f"{SESSION_COOKIE}={token}"}
    async with (aiohttp.ClientSession(headers=cookie) as http,
                http.get(worker.url + path, allow_redirects=False) as response):
        return response.status, dict(response.headers), await response.read()


async def test_a_recording_started_on_one_worker_is_made_by_the_stage_owner(
        recording_cluster: tuple[Cluster, RecordingArchive]) -> None:
    cluster, archive = recording_cluster
    gid, world = cluster.world.gathering.id, cluster.world
    frida = await cluster.joined(cluster.b, world.facilitator, gid)
    eva = await cluster.joined(cluster.a, world.expert, gid)
    assert (await send(frida, gid, "room.open"))["ok"]
    assert (await send(frida, gid, "stage.spotlight", person_id=world.expert.id))["ok"]

    expert = StagePublisher(eva, gid, size=EXPERT_SIZE, audio=True)
    try:
        published = await expert.publish()  # on worker A: A owns the stage
        assert published["ok"], published
        assert f"-{cluster.a.process.pid}-" in await owner_of(gid)
        await eventually(lambda: expert.video.sent > 10 and expert.pc.connectionState
                         == "connected", what="the expert's stream flowing to A")

        assert (await send(eva, gid, "recording.consent"))["ok"]  # on A
        sent_before = expert.video.sent  # the recording has none of the frames sent so far
        started = await send(frida, gid, "recording.start")  # committed on B
        assert started["ok"], started
        # everyone is told, on both workers
        await eventually(lambda: bool(events(frida, "recording.started")),
                         what="recording.started at the facilitator on worker B")
        await eventually(lambda: bool(events(eva, "recording.started")),
                         what="recording.started at the expert on worker A")

        # B's review reached A: A taps the expert and writes the row while it records
        row = await one_row(archive, gid, done=False)
        assert row.status == RECORDING
        assert row.person_id == world.expert.id and row.person_name == "Eva Ekspert"
        assert row.started_by == world.facilitator.id
        assert row.consent_at <= row.started_at
        assert set(row.streams.split(",")) == {"audio", "video"}
        # enough media while it records (the recorder is A's: counted as she sends it)
        recording_from = expert.video.sent
        await eventually(lambda: expert.video.sent >= recording_from + RECORD_FRAMES,
                         what=f"{RECORD_FRAMES} frames of hers while recording")
        stopped = await send(frida, gid, "recording.stop")  # committed on B
        assert stopped["ok"], stopped

        row = await one_row(archive, gid, done=True)
        sent = expert.video.sent - sent_before  # every frame the recording may hold
        assert row.status == READY, (row.status, cluster.a.output())
        assert row.started_by == world.facilitator.id and row.person_id == world.expert.id
        assert row.ended_at is not None and row.size_bytes
        path = archive.path(row)
        info = read_file(path)
        assert info["kinds"] == {"audio", "video"}
        assert info["size"] == EXPERT_SIZE
        # most of what she sent while it recorded, nothing from before it started
        frames = info["frames"]["video"]
        assert RECORD_FRAMES / 2 < frames <= sent, (info, sent)
        # the row says how long the file lasts (frames are stamped as they arrive: no rate)
        assert row.seconds == media_seconds(archive.path(row)), (row.seconds, info)
        assert row.seconds is not None and row.seconds >= max(info["span"].values()), info
        assert info["frames"]["audio"] > 25, info

        # worker B (not the one that made it) serves the file to a member of the theme
        status, headers, body = await download(cluster.b, cluster, world.alice,
                                               f"/g/{gid}/recordings/{row.id}")
        assert status == 200, body[:500]
        assert headers["Content-Type"] == "video/mp4"
        assert body == path.read_bytes()
        # and nobody else: someone outside the theme is refused
        status, _, _ = await download(cluster.b, cluster, world.outsider,
                                      f"/g/{gid}/recordings/{row.id}")
        assert status == 403
    finally:
        await expert.close()
