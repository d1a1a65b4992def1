"""Recording an expert slot through the real server: the expert agrees, the facilitator
records, only the expert's own stage stream ends up in the file (audio and video, from the
stage's decoded frames), everyone is told, and the file is listed with its consent."""

from __future__ import annotations

import time
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer

from recordings.archive import READY, RECORDING, media_seconds
from server.keys import LIVE, RECORDINGS, STAGE
from server.settings import Settings
from signaling.stage_router import StageRouter
from tests.conftest import Connect, send
from tests.factories import World
from tests.recordings.test_recorder import read_file
from tests.server.live_helpers import code, eventually, fetched_until, joined, received
from tests.signaling.conftest import on_both_engines
from tests.signaling.stage_peer import StageListener, StagePublisher

pytestmark = pytest.mark.usefixtures("loopback_ice")

EXPERT_SIZE, SPEAKER_SIZE = (320, 180), (160, 120)


@pytest.fixture
def settings(sqlite_url: str, engine: dict[str, Any]) -> Settings:
    return Settings(database_url=sqlite_url, secret_key="test-secret", host="127.0.0.1",
                    max_message_bytes=256 * 1024, stage_max_publishers=3, **engine)


async def finished(server: TestServer, gid: str, count: int) -> list[Any]:
    """The gathering's recordings once `count` of them are finished (written to the end)."""
    rows: list[Any] = await fetched_until(
        lambda: server.app[RECORDINGS].of_gathering(gid),
        lambda rows: sum(r.status != RECORDING for r in rows) >= count,
        what=f"{count} recordings finished")
    return rows


async def recorded_frames(recordings: Any, gid: str, count: int) -> Any:
    """The gathering's recorder, once it has taken `count` video frames (enough recorded is
    a number of frames, not a time)."""
    await eventually(lambda: gid in recordings.active, what="the recorder")
    recorder = recordings.active[gid].recorder
    await eventually(lambda: recorder.received["video"] >= count,
                     what=f"{count} video frames recorded")
    return recorder


def event_types(client: socketio.AsyncClient) -> list[str]:
    return [m["type"] for m in received(client)]


@on_both_engines
async def test_expert_is_recorded_with_her_consent_and_nobody_else(
        server: TestServer, world: World, connect: Connect, engine: dict[str, Any]) -> None:
    gid = world.gathering.id
    frida, eva, alice, bjorn = await joined(connect, gid, world.facilitator, world.expert,
                                            world.alice, world.bjorn)
    assert (await send(frida, gid, "room.open"))["ok"]
    assert (await send(frida, gid, "stage.spotlight", person_id=world.expert.id))["ok"]

    # no recording without the expert's agreement, and nobody agrees for her
    assert code(await send(frida, gid, "recording.start")) == "rejected"
    assert code(await send(alice, gid, "recording.consent")) == "forbidden"
    assert code(await send(eva, gid, "recording.start")) == "forbidden"
    assert (await send(eva, gid, "recording.consent"))["ok"]

    expert = StagePublisher(eva, gid, size=EXPERT_SIZE, audio=True)
    speaker = StagePublisher(alice, gid, size=SPEAKER_SIZE, audio=True)
    listener = StageListener(bjorn, gid)
    try:
        assert (await expert.publish())["ok"]
        assert (await send(alice, gid, "hand.raise"))["ok"]
        assert (await send(frida, gid, "hand.call_next"))["ok"]
        assert (await speaker.publish())["ok"]  # Alice has the floor, on stage too
        await listener.listen_and_see(world.alice.id, "Alice's video on stage")

        assert (await send(frida, gid, "recording.start"))["ok"]
        # everyone sees the indicator: the event and the state say who is recorded
        await eventually(lambda: "recording.started" in event_types(bjorn),
                         what="Bjørn told of the recording")
        recording = (await server.app[LIVE].state(gid)).recording
        assert recording is not None and recording.person_id == world.expert.id
        archive = server.app[RECORDINGS]
        recordings = server.app[STAGE].host.recordings
        await eventually(lambda: gid in recordings.active, what="the recording")
        began, sent = time.monotonic(), expert.video.sent
        recorder = recordings.active[gid].recorder  # the aiortc stage's; Janus records itself
        if recorder is not None:
            await recorded_frames(recordings, gid, 60)
        else:  # Janus writes what it forwards: three seconds of the expert's camera
            await eventually(lambda: expert.video.sent >= sent + 90,
                             what="90 video frames sent while Janus records")
        recorded = time.monotonic() - began
        assert (await send(frida, gid, "recording.stop"))["ok"]

        [row] = await finished(server, gid, 1)
        assert row.status == READY
        assert row.person_id == world.expert.id and row.person_name == "Eva Ekspert"
        assert row.started_by == world.facilitator.id
        assert row.consent_at <= row.started_at
        info = read_file(archive.path(row))
        assert info["kinds"] == {"audio", "video"}
        # only Eva's stream: her frame size, never Alice's (who spoke on stage meanwhile)
        assert info["size"] == EXPERT_SIZE
        # every frame the recorder encoded, and the row says how long the file lasts (frames
        # are stamped as they arrive, so a loaded machine gives a shorter file: no rate here)
        frames = info["frames"]["video"]
        if recorder is not None:
            assert frames == recorder.encoded["video"] >= 60, (info, recorder.encoded)
        else:  # as long as it recorded, in audio and video alike
            assert frames >= 60, info
            for kind in ("audio", "video"):
                assert recorded - 1.0 <= info["span"][kind] <= recorded + 1.0, (recorded, info)
        assert row.seconds == media_seconds(archive.path(row)), (row.seconds, info)
        assert row.seconds is not None and row.seconds >= max(info["span"].values()), info
        assert info["frames"]["audio"] > 50
    finally:
        await listener.close()
        await speaker.close()
        await expert.close()


async def test_recording_stops_when_the_expert_withdraws_or_leaves_the_stage(
        server: TestServer, world: World, connect: Connect) -> None:
    gid = world.gathering.id
    frida, eva = await joined(connect, gid, world.facilitator, world.expert)
    assert (await send(frida, gid, "room.open"))["ok"]
    assert (await send(frida, gid, "stage.spotlight", person_id=world.expert.id))["ok"]
    assert (await send(eva, gid, "recording.consent"))["ok"]
    expert = StagePublisher(eva, gid, size=EXPERT_SIZE, audio=True)
    router: StageRouter = server.app[STAGE]
    recordings = router.host.recordings
    assert recordings is not None
    try:
        assert (await expert.publish())["ok"]
        assert (await send(frida, gid, "recording.start"))["ok"]
        await recorded_frames(recordings, gid, 20)
        assert (await send(eva, gid, "recording.withdraw"))["ok"]
        await eventually(lambda: gid not in recordings.active,
                         what="the recorder stopped")
        state = await server.app[LIVE].state(gid)
        assert state.recording is None and state.consent is None
        assert code(await send(frida, gid, "recording.start")) == "rejected"

        # she agrees again; the facilitator takes her off the stage: the recording ends
        assert (await send(eva, gid, "recording.consent"))["ok"]
        assert (await send(frida, gid, "recording.start"))["ok"]
        await recorded_frames(recordings, gid, 20)
        assert (await send(frida, gid, "stage.take_off", person_id=world.expert.id))["ok"]
        await eventually(lambda: gid not in recordings.active,
                         what="the recorder stopped")
        await eventually(lambda: router.host.rooms[gid].stage.publishers == [],
                         what="Eva off the stage")
        rows = await finished(server, gid, 2)
        assert [r.status for r in rows] == [READY, READY]
        # each lasts at least its 20 frames at 30 fps
        assert all(r.seconds is not None and r.seconds >= 0.6 for r in rows), rows
    finally:
        await expert.close()


async def test_the_recording_goes_on_into_the_qa_she_agreed_to_in_one_file(
        server: TestServer, world: World, connect: Connect) -> None:
    """Eva's talk is followed by a Q&A that names no expert: she keeps the stage, agrees to
    be recorded in the talk and the Q&A, and one recording runs through both, ending with
    the Q&A."""
    gid = world.gathering.id
    frida, eva = await joined(connect, gid, world.facilitator, world.expert)
    welcome, talk = [s.id for s in (await server.app[LIVE].state(gid)).agenda][:2]
    assert (await send(frida, gid, "agenda.update_item", item_id=talk,
                       expert_id=world.expert.id))["ok"]
    assert (await send(frida, gid, "agenda.add_item", kind="qa", title="Spørsmål og svar",
                       planned_minutes=10, position=2))["ok"]
    qa = (await server.app[LIVE].state(gid)).agenda[2].id
    assert (await send(frida, gid, "room.open"))["ok"]
    for from_item in (None, welcome):
        assert (await send(frida, gid, "agenda.next", from_item=from_item))["ok"]
    assert (await send(eva, gid, "recording.consent", include_qa=True))["ok"]
    expert = StagePublisher(eva, gid, size=EXPERT_SIZE, audio=True)
    recordings = server.app[STAGE].host.recordings
    assert recordings is not None
    try:
        assert (await expert.publish())["ok"]
        assert (await send(frida, gid, "recording.start"))["ok"]
        await eventually(lambda: gid in recordings.active, what="recording")
        recorder = recordings.active[gid].recorder
        await eventually(lambda: recorder.received["video"] > 10,
                         what="her talk recorded")

        answer = await send(frida, gid, "agenda.next", from_item=talk)  # into the Q&A
        assert answer["ok"]
        await eventually(lambda: any(m["version"] == answer["version"]
                                     for m in received(frida)), what="the Q&A started")
        assert "recording.stopped" not in event_types(frida)
        state = await server.app[LIVE].state(gid)
        assert state.spotlight is not None and state.spotlight.person_id == world.expert.id
        assert state.recording is not None and state.recording.item_id == talk
        during_talk = recorder.received["video"]
        await eventually(lambda: recorder.received["video"] > during_talk + 10,
                         what="the same recorder takes the Q&A")
        assert recordings.active[gid].recorder is recorder

        assert (await send(frida, gid, "agenda.next", from_item=qa))["ok"]  # the Q&A ends
        await eventually(lambda: "recording.stopped" in event_types(frida),
                         what="the recording stopped with the Q&A")
        stopped = next(m for m in received(frida) if m["type"] == "recording.stopped")
        assert stopped["data"]["reason"] == "item_ended"
        await eventually(lambda: gid not in recordings.active,
                         what="the recorder stopped")
        rows = await finished(server, gid, 1)
        assert [(r.status, r.id) for r in rows] == [(READY, recorder.id)]  # one file
    finally:
        await expert.close()
