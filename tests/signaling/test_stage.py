"""The plenary stage with real aiortc peers on loopback: decode once, encode once, forward.

One aiortc publisher (generated 640x360 video + audio) and aiortc listeners, all in this
process, talking to `signaling.stage.Stage` directly (the socket layer is not involved)."""

from __future__ import annotations

import asyncio
import fractions
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import av
import pytest
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from signaling.stage import ListenerTrack, Stage, StageConfig, StageError
from tests.conftest import WAIT
from tests.frames import MovingBarVideo
from tests.server.live_helpers import eventually

WIDTH, HEIGHT = 640, 360


pytestmark = pytest.mark.usefixtures("loopback_ice")


def config() -> RTCConfiguration:
    return RTCConfiguration(iceServers=[])


async def wait_for(predicate: Callable[[], bool], what: str) -> None:
    await eventually(predicate, what=what)


class Listener:
    def __init__(self, name: str) -> None:
        self.name = name
        self.pc = RTCPeerConnection(config())
        self.frames = {"audio": 0, "video": 0}
        self.tasks: list[asyncio.Task[None]] = []

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.tasks.append(asyncio.create_task(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                self.frames[track.kind] += 1
        except MediaStreamError:
            pass

    async def join(self, stage: Stage) -> bool:
        """Answer the stage's offer; False when there was nothing to listen to."""
        offer = await stage.listen(self.name)
        if offer is None:
            return False
        await self.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await stage.answer(self.name, self.pc.localDescription.sdp)
        return True

    async def join_offering(self, stage: Stage) -> None:
        """The deprecated flow: the listener offers recvonly m-lines."""
        self.pc.addTransceiver("audio", direction="recvonly")
        self.pc.addTransceiver("video", direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await stage.listen_offered(self.name, self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def send_pli(self) -> None:
        """Send a real RTCP PLI for the stage's video stream, as a decoder would."""
        sdp = self.pc.remoteDescription.sdp
        video = sdp[sdp.index("m=video") :]
        ssrc = int(re.search(r"a=ssrc:(\d+) ", video).group(1))  # type: ignore[union-attr]
        receiver = next(r for r in self.pc.getReceivers() if r.track.kind == "video")
        await receiver._send_rtcp_pli(ssrc)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.wait_for(self.pc.close(), WAIT)


class Publisher:
    def __init__(self) -> None:
        self.pc = RTCPeerConnection(config())
        self.video = MovingBarVideo(WIDTH, HEIGHT, steps=8)
        self.audio = AudioStreamTrack()
        self.pc.addTrack(self.audio)
        self.pc.addTrack(self.video)

    async def publish(self, stage: Stage, publisher_id: str = "facilitator") -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await stage.publish(publisher_id, self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))


@pytest.fixture
async def peers() -> AsyncIterator[dict[str, Any]]:
    stage = Stage()
    made: dict[str, Any] = {"stage": stage, "listeners": [], "publisher": Publisher()}
    try:
        yield made
    finally:
        await asyncio.wait_for(stage.close(), WAIT)
        for listener in made["listeners"]:
            await listener.close()
        await asyncio.wait_for(made["publisher"].pc.close(), WAIT)


async def stage_with(peers: dict[str, Any], count: int) -> tuple[Stage, Publisher, list[Listener]]:
    stage, publisher = peers["stage"], peers["publisher"]
    await publisher.publish(stage)
    listeners = [Listener(f"listener-{i}") for i in range(count)]
    peers["listeners"] = listeners
    await asyncio.gather(*(listener.join(stage) for listener in listeners))
    return stage, publisher, listeners


async def test_ten_listeners_decode_one_encode(peers: dict[str, Any]) -> None:
    stage, publisher, listeners = await stage_with(peers, 10)
    [video_id] = stage.tracks("facilitator", "video")
    [audio_id] = stage.tracks("facilitator", "audio")

    await wait_for(
        lambda: all(ls.frames["video"] > 20 and ls.frames["audio"] > 20 for ls in listeners),
        "every listener to decode 20 video frames and 20 audio frames",
    )
    sent = publisher.video.sent
    encoded = stage.encoded_frames[video_id]
    # Each frame the publisher sent was encoded at most once, whatever the listener count ...
    assert 20 < encoded <= sent + 2, (encoded, sent)
    # ... while the listeners together decode many times more frames than were encoded (ten
    # times once they keep up; waited for, as a loaded machine's decoders may lag behind)
    await wait_for(lambda: sum(ls.frames["video"] for ls in listeners)
                   > 5 * stage.encoded_frames[video_id], "the listeners to decode 5x the encoded")
    assert stage.encoders_created == {"video": 1, "audio": 1}
    assert stage.encoded_frames[audio_id] > 0

    # A listener that leaves does not stop the others.
    leaving = listeners[0]
    await stage.leave(leaving.name)
    assert leaving.name not in stage.listeners
    await wait_for(lambda: leaving.pc.connectionState == "closed", "leaver closed")
    before = [ls.frames["video"] for ls in listeners[1:]]
    await wait_for(
        lambda: all(
            ls.frames["video"] > b + 10 for ls, b in zip(listeners[1:], before, strict=True)
        ),
        "remaining listeners to keep decoding",
    )
    assert stage.stats()["tracks"][video_id]["listeners"] == 9
    assert stage.encoders_created == {"video": 1, "audio": 1}

    # close() closes every server-side peer; the clients see their connections close.
    server_pcs = [p.pc for p in stage._publishers.values()] + [
        ls.pc for ls in stage._listeners.values()
    ]
    assert len(server_pcs) == 10
    await asyncio.wait_for(stage.close(), WAIT)
    assert all(pc.connectionState == "closed" for pc in server_pcs)
    assert stage.publishers == [] and stage.listeners == [] and stage.encoded_frames == {}
    await wait_for(
        lambda: (
            all(ls.pc.connectionState == "closed" for ls in listeners)
            and publisher.pc.connectionState == "closed"
        ),
        "clients to see the stage close",
    )
    with pytest.raises(StageError) as refused:
        await stage.listen("late")
    assert refused.value.code == "stage-closed"


async def test_a_listener_that_still_offers_is_answered_until_the_next_release(
        peers: dict[str, Any]) -> None:
    stage, _publisher, _listeners = await stage_with(peers, 0)
    old = Listener("old-browser")
    peers["listeners"] = [old]
    await old.join_offering(stage)
    await wait_for(lambda: old.frames["video"] > 10, "the offering listener decoding")


async def test_an_answer_without_an_offer_is_refused(peers: dict[str, Any]) -> None:
    stage, publisher, _listeners = await stage_with(peers, 0)
    with pytest.raises(StageError) as refused:
        await stage.answer("nobody", publisher.pc.localDescription.sdp)
    assert refused.value.code == "no-offer"


async def test_keyframe_request_from_one_listener(peers: dict[str, Any]) -> None:
    stage, _publisher, listeners = await stage_with(peers, 2)
    [video_id] = stage.tracks("facilitator", "video")
    await wait_for(
        lambda: all(ls.frames["video"] > 10 for ls in listeners), "listeners decoding"
    )
    # The joins' own keyframe requests are served (or coalesced) first.
    await wait_for(
        lambda: not stage.stats()["tracks"][video_id]["keyframe_pending"], "joins' keyframes"
    )
    requests, keyframes = stage.keyframe_requests[video_id], stage.keyframes[video_id]

    await listeners[1].send_pli()

    await wait_for(
        lambda: stage.keyframe_requests[video_id] > requests, "the PLI to reach the encoder"
    )
    await wait_for(lambda: stage.keyframes[video_id] > keyframes, "a forced keyframe")
    before = listeners[0].frames["video"]
    await wait_for(lambda: listeners[0].frames["video"] > before + 5, "the other listener")


async def test_publisher_after_listener_and_unpublish(peers: dict[str, Any]) -> None:
    """Nothing is offered to a listener of an empty stage; unpublish ends the tracks."""
    stage, publisher = peers["stage"], peers["publisher"]
    early = Listener("early")
    peers["listeners"] = [early]
    assert not await early.join(stage)
    assert stage.listeners == []
    await publisher.publish(stage)
    assert stage.publishers == ["facilitator"]
    [video_id] = stage.tracks("facilitator", "video")
    # the stage takes each frame in turn and would encode it before taking the next one
    await wait_for(lambda: stage.stats()["tracks"][video_id]["received"] > 10,
                   "the publisher's frames at the stage")
    assert stage.encoded_frames[video_id] == 0  # no listener attached: nothing is encoded
    await stage.unpublish("facilitator")
    assert stage.publishers == [] and stage.encoded_frames == {}
    await wait_for(lambda: publisher.pc.connectionState == "closed", "publisher closed")


async def test_refusals() -> None:
    stage = Stage(StageConfig(max_publishers=1))
    try:
        for bad in ("", "x" * 70_000):
            with pytest.raises(StageError) as refused:
                await stage.publish("p", bad)
            assert refused.value.code == "bad-sdp"
        with pytest.raises(StageError) as refused:
            await stage.listen("")
        assert refused.value.code == "bad-id"
        with pytest.raises(StageError) as refused:
            await stage.publish("p", "not an sdp")
        assert refused.value.code == "bad-sdp"
        assert stage.publishers == []

        publisher = Publisher()
        try:
            await publisher.publish(stage, "one")
            with pytest.raises(StageError) as refused:
                await stage.publish("one", publisher.pc.localDescription.sdp)
            assert refused.value.code == "already-publishing"
            with pytest.raises(StageError) as refused:
                await stage.publish("two", publisher.pc.localDescription.sdp)
            assert refused.value.code == "stage-full"
            await stage.unpublish("one")
            two_mics = RTCPeerConnection(config())
            two_mics.addTrack(AudioStreamTrack())
            two_mics.addTrack(AudioStreamTrack())
            await two_mics.setLocalDescription(await two_mics.createOffer())
            with pytest.raises(StageError) as refused:
                await stage.publish("two", two_mics.localDescription.sdp)
            assert refused.value.code == "too-many-tracks"
            assert stage.publishers == [] and stage.encoded_frames == {}
            await two_mics.close()
        finally:
            await stage.close()
            await asyncio.wait_for(publisher.pc.close(), WAIT)
    finally:
        await stage.close()


class _FakeFanout:
    kind = "video"

    def __init__(self) -> None:
        self.requests = 0

    def request_keyframe(self) -> None:
        self.requests += 1

    def detach(self, track: ListenerTrack) -> None:
        pass


def _packet(pts: int) -> av.Packet:
    packet = av.Packet(b"x")
    packet.pts, packet.time_base = pts, fractions.Fraction(1, 90000)
    return packet


async def test_slow_listener_queue_is_bounded_and_resyncs_on_keyframe() -> None:
    fanout = _FakeFanout()
    track = ListenerTrack(fanout, maxsize=3)  # type: ignore[arg-type]
    track.push(_packet(0), keyframe=False)  # before the first keyframe: skipped
    track.push(_packet(1), keyframe=True)
    track.push(_packet(2), keyframe=False)
    track.push(_packet(3), keyframe=False)
    assert [p.pts for p in track._queue] == [1, 2, 3]
    track.push(_packet(4), keyframe=False)  # overflow: drop the backlog, ask for a keyframe
    assert len(track._queue) == 0 and track.dropped == 3 and fanout.requests == 1
    track.push(_packet(5), keyframe=False)  # still waiting for the keyframe
    track.push(_packet(6), keyframe=True)
    assert (await track.recv()).pts == 6
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()
