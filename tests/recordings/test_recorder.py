"""The recorder: real aiortc peers on loopback feeding it, the file checked with PyAV; its
queue bound and its bounded stop(); its storage rules."""

from __future__ import annotations

import asyncio
import fractions
import threading
from collections.abc import Callable
from pathlib import Path
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

from recordings.recorder import Recorder, RecorderConfig
from recordings.storage import SOURCE_ROOT, StorageError, data_directory, recording_path
from tests.conftest import WAIT
from tests.frames import MovingBarVideo
from tests.server.live_helpers import eventually

WIDTH, HEIGHT, FPS = 640, 360, 30
VIDEO_FRAMES = 4 * FPS  # about 4 s of video


class LateVideo(MovingBarVideo):
    """640x360 at 30 fps whose first frame comes `delay` s late (the audio starts first), and
    on until the connection closes."""

    def __init__(self, delay: float, after: Callable[[], bool] = lambda: True) -> None:
        super().__init__(WIDTH, HEIGHT, steps=6)
        self.delay, self.after = delay, after

    async def recv(self) -> av.VideoFrame:
        if self.sent == 0:
            # count the delay from `after` (the audio reaching the far side), so a slow
            # connection set-up on a loaded machine cannot eat into the audio's head start
            await eventually(self.after, what="the audio to reach the far side")
            await asyncio.sleep(self.delay)  # pacing the media, not waiting for anything
        return await super().recv()


def read_file(path: Path) -> dict[str, Any]:
    """Streams, decoded video frames and each stream's time span, read back with PyAV."""
    info: dict[str, Any] = {"kinds": set(), "frames": {"audio": 0, "video": 0}, "span": {}}
    with av.open(str(path)) as container:
        for stream in container.streams:
            info["kinds"].add(stream.type)
            if isinstance(stream, av.video.stream.VideoStream):
                info["size"] = (stream.width, stream.height)
        first: dict[str, float] = {}
        last: dict[str, float] = {}
        for packet in container.demux():
            kind = packet.stream.type
            if packet.pts is not None:
                moment = float(packet.pts * packet.time_base)
                first[kind] = min(first.get(kind, moment), moment)
                last[kind] = max(last.get(kind, moment), moment)
            for frame in packet.decode():
                info["frames"][kind] += 1
                if isinstance(frame, av.VideoFrame):
                    assert (frame.width, frame.height) == info["size"]
        info["start"] = first
        info["span"] = {kind: last[kind] - first[kind] for kind in first}
    return info


async def test_audio_first_recording_has_both_streams(
    loopback_ice: None, tmp_path: Path
) -> None:
    sender = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    receiver = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    # Room for everything, so a slow (loaded) encoder or a late first video frame drops or
    # cuts nothing: this test is about the streams and their sync, the bounds have their own.
    recorder = Recorder(tmp_path / "recordings",
                        config=RecorderConfig(queue_size=10_000, start_timeout=WAIT))
    video = LateVideo(delay=0.5, after=lambda: "audio" in recorder.first_seen)
    sender.addTrack(AudioStreamTrack())
    sender.addTrack(video)

    @receiver.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        recorder.attach(track)

    try:
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(
            RTCSessionDescription(receiver.localDescription.sdp, "answer")
        )
        # Frames reach the recorder in order: once more than VIDEO_FRAMES have, every one of
        # the first VIDEO_FRAMES that was going to come (but for a few lost) has come.
        await eventually(lambda: recorder.received["video"] > VIDEO_FRAMES,
                         what=f"more than {VIDEO_FRAMES} frames at the recorder")
        result = await recorder.stop(timeout=WAIT)
    finally:
        await recorder.stop(timeout=WAIT)
        await asyncio.wait_for(sender.close(), WAIT)
        await asyncio.wait_for(receiver.close(), WAIT)

    # The audio really started first, by about the video's delay.
    first_seen = recorder.first_seen
    assert first_seen["video"] - first_seen["audio"] > 0.3, first_seen
    assert result.complete and result.error is None, result
    assert result.streams == ("audio", "video"), result
    assert result.dropped == {"audio": 0, "video": 0}, result
    assert result.path is not None and result.path.parent == (tmp_path / "recordings").resolve()
    assert result.path.name == f"{result.id}.mp4" and len(result.id) == 32

    info = read_file(result.path)
    assert info["kinds"] == {"audio", "video"}, info
    assert info["size"] == (WIDTH, HEIGHT), info
    # every frame the recorder took is in the file, and no more than were sent
    frames = info["frames"]["video"]
    assert frames == result.encoded["video"] == recorder.received["video"], (info, result)
    assert VIDEO_FRAMES < frames <= video.sent, (info, video.sent)
    # the video's timing is the sender's: its frames 1/30 s apart
    video_seconds = info["span"]["video"] + 1 / FPS
    assert abs(video_seconds - frames / FPS) <= 0.1 * frames / FPS, (info, frames)
    # The audio covers the video, and the video starts when it arrived (in sync).
    assert info["span"]["audio"] >= 0.9 * video_seconds, info
    offset = info["start"]["video"] - info["start"]["audio"]
    assert abs(offset - (first_seen["video"] - first_seen["audio"])) < 0.1, (info, first_seen)
    assert info["frames"]["audio"] > 0


class HungRecorder(Recorder):
    """An encoder that hangs on its first frame until released."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        super().__init__(*args, **kwargs)

    def _write(self, kind: str, frame: Any, when: float) -> None:
        self.entered.set()
        self.release.wait(WAIT)


async def test_full_queue_drops_and_counts_and_stop_is_bounded(tmp_path: Path) -> None:
    recorder = HungRecorder(tmp_path, kinds=("video",), config=RecorderConfig(queue_size=3))
    frame = av.VideoFrame(64, 36, "yuv420p")
    try:
        assert recorder.video_frame(frame)  # the worker takes it and hangs
        assert await asyncio.to_thread(recorder.entered.wait, WAIT)

        # never blocks the event loop: with the worker hung, a put that waited for room
        # would wait until the release (then take the frame); these are refused at once
        offered = [recorder.video_frame(frame) for _ in range(10)]
        assert offered == [True] * 3 + [False] * 7
        assert recorder.dropped == {"video": 7} and recorder.received == {"video": 11}
        assert not recorder.audio_frame(frame)  # a kind not expected is refused

        # stop() gives up at its timeout: it returns while the worker still hangs
        result = await asyncio.wait_for(recorder.stop(timeout=0.5), WAIT)
        assert not recorder._done.is_set() and not recorder.release.is_set()
        assert not result.complete
        assert result.dropped == {"video": 7}
        assert not recorder.video_frame(frame)  # stopped: nothing more is taken
        assert await recorder.stop(timeout=0.5) is result
    finally:
        recorder.release.set()
    assert await asyncio.to_thread(recorder._done.wait, WAIT)  # the worker ends once released


async def test_stop_without_frames_leaves_no_file(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    result = await recorder.stop(timeout=WAIT)
    assert result.complete and result.path is None and result.streams == ()
    assert await asyncio.to_thread(lambda: list(tmp_path.iterdir())) == []


def test_storage_refuses_source_tree_and_foreign_names(tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        data_directory(SOURCE_ROOT / "var" / "recordings")
    with pytest.raises(StorageError):
        data_directory(SOURCE_ROOT)
    directory = data_directory(tmp_path / "rec")
    good = "0123456789abcdef0123456789abcdef"
    assert recording_path(directory, good) == directory / f"{good}.mp4"
    bad_ids = ["../etc/passwd", "/etc/passwd", good.upper(), good + "/..", good[:-1], ""]
    bad_ids.append(good + "\x00")
    for bad in bad_ids:
        with pytest.raises(StorageError):
            recording_path(directory, bad)


async def test_early_audio_is_held_and_shared_frames_are_not_modified(tmp_path: Path) -> None:
    """No network: 0.3 s of audio before the first video frame; the frames given to the
    recorder (shared with the stage's encoder in production) keep their own timestamps."""
    # room for all 60 frames, so a worker thread that a loaded machine lets fall behind
    # drops none (the queue's bound has its own test)
    recorder = Recorder(tmp_path, config=RecorderConfig(queue_size=100))
    given: list[Any] = []
    for i in range(45):
        audio = av.AudioFrame(format="s16", layout="stereo", samples=960)
        audio.sample_rate = 48000
        audio.planes[0].update(bytes(audio.planes[0].buffer_size))
        audio.pts, audio.time_base = 7_000 + i * 960, fractions.Fraction(1, 48000)
        given.append(audio)
        recorder.audio_frame(audio)
        if i >= 15 and i % 2:
            video = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            for plane in video.planes:
                plane.update(bytes([i * 5]) * plane.buffer_size)
            video.pts, video.time_base = 123_456 + i * 1_800, fractions.Fraction(1, 90000)
            given.append(video)
            recorder.video_frame(video)
        await asyncio.sleep(0.02)
    result = await recorder.stop(timeout=WAIT)
    assert result.complete and result.streams == ("audio", "video"), result
    assert [f.pts for f in given if isinstance(f, av.AudioFrame)] == [
        7_000 + i * 960 for i in range(45)
    ]
    assert [f.pts for f in given if isinstance(f, av.VideoFrame)] == [
        123_456 + i * 1_800 for i in range(15, 45) if i % 2
    ]
    assert result.path is not None
    info = await asyncio.to_thread(read_file, result.path)
    assert info["kinds"] == {"audio", "video"} and info["size"] == (WIDTH, HEIGHT), info
    assert info["frames"]["video"] == 15, info
    assert info["start"]["video"] - info["start"]["audio"] > 0.2, info
