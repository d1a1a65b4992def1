"""A Janus VideoRoom recording (.mjr files) becomes the stage's MP4: a real aiortc publisher
records through a real Janus (tests/janus_host.py), the file is read back with PyAV."""

from __future__ import annotations

import asyncio
import json
import math
import random
import struct
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import av
import pytest
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)

from recordings.janus_files import mjr_to_mp4
from signaling.janus import JanusSession
from tests.conftest import WAIT
from tests.frames import MovingBarVideo
from tests.janus_host import JanusHost

pytestmark = pytest.mark.usefixtures("janus_ice")

RECORD_SECONDS = 3.0
TONE_HZ = 400  # 120 samples a period at 48 kHz: every 20 ms frame is the same 8 periods


class Tone(AudioStreamTrack):
    """A microphone hearing a steady 400 Hz tone."""

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()  # paced silence: s16 mono
        assert isinstance(frame, av.AudioFrame)
        rate = frame.sample_rate
        samples = [round(8000 * math.sin(2 * math.pi * TONE_HZ * i / rate))
                   for i in range(frame.samples)]
        frame.planes[0].update(struct.pack(f"<{frame.samples}h", *samples))
        return frame


async def record_through_janus(host: JanusHost, rec_dir: Path,
                               tracks: list[MediaStreamTrack]) -> list[Path]:
    """Publish `tracks` into a fresh VideoRoom recording into `rec_dir` for about
    RECORD_SECONDS; the .mjr files Janus wrote."""
    async with aiohttp.ClientSession() as http:
        session = await JanusSession.open(http, host.url, host.secret)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        try:
            admin = await session.attach()
            room = random.randint(1, 2**31)
            await admin.request({"request": "create", "room": room, "publishers": 1,
                                 "audiocodec": "opus", "videocodec": "vp8",
                                 "rec_dir": str(rec_dir)})
            publisher = await session.attach()
            up = asyncio.Event()

            async def on_event(event: dict[str, Any]) -> None:
                if event.get("janus") == "webrtcup":
                    up.set()

            publisher.on_event = on_event
            for track in tracks:
                pc.addTrack(track)
            await pc.setLocalDescription(await pc.createOffer())
            _, answer = await publisher.message(
                {"request": "joinandconfigure", "room": room, "ptype": "publisher",
                 "display": "Expert"},
                {"type": "offer", "sdp": pc.localDescription.sdp})
            assert answer is not None
            await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
            await asyncio.wait_for(up.wait(), WAIT)
            await publisher.message({"request": "configure", "record": True,
                                     "filename": "expert"})
            await asyncio.sleep(RECORD_SECONDS)  # the length of the recording
            await publisher.message({"request": "configure", "record": False})
            await publisher.message({"request": "unpublish"})
            await admin.request({"request": "destroy", "room": room})
        finally:
            await pc.close()
            await session.close()
    return mjr_files(rec_dir)


def mjr_files(rec_dir: Path) -> list[Path]:
    return sorted(rec_dir.glob("*.mjr"))


def read_back(path: Path) -> dict[str, Any]:
    """Per kind: codec, decoded frames, span in seconds; the bar's left edge in each video
    frame; the audio's samples (first channel)."""
    info: dict[str, Any] = {"codec": {}, "times": {}, "bar": [], "samples": []}
    with av.open(str(path)) as container:
        for stream in container.streams:
            info["codec"][stream.type] = stream.codec_context.name
        for frame in container.decode(*container.streams):
            kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
            info["times"].setdefault(kind, []).append(frame.time)
            if isinstance(frame, av.VideoFrame):
                plane = frame.planes[0]
                row = bytes(plane)[plane.line_size * (frame.height // 2):][:frame.width]
                info["bar"].append(next((x for x, y in enumerate(row) if y > 160), None))
            else:
                assert frame.format.name == "fltp"  # planes[0]: the first channel's floats
                info["samples"].extend(struct.unpack(f"<{frame.samples}f",
                                                     bytes(frame.planes[0])[:4 * frame.samples]))
    info["span"] = {kind: max(times) - min(times) for kind, times in info["times"].items()}
    return info


def tone_hz(samples: list[float], rate: int = 48000) -> float:
    crossings = sum(1 for a, b in zip(samples, samples[1:], strict=False) if a < 0 <= b)
    return crossings * rate / len(samples)


async def test_a_janus_recording_becomes_the_stages_mp4(
        janus_host: JanusHost, tmp_path: Path) -> None:
    rec_dir, recordings = tmp_path / "janus", tmp_path / "recordings"
    rec_dir.mkdir()
    parts = await record_through_janus(janus_host, rec_dir,
                                       [Tone(), MovingBarVideo(320, 180, steps=6)])
    assert [part.name.split("-")[1] for part in parts] == ["audio", "video"]

    recording_id = uuid.uuid4().hex
    result = await mjr_to_mp4(parts, recordings, recording_id)

    assert (result.complete, result.error) == (True, None)
    assert result.path == recordings.resolve() / f"{recording_id}.mp4"
    assert result.streams == ("audio", "video")
    assert result.encoded["video"] > 2 * 30 and result.encoded["audio"] > 2 * 50
    assert 0 < result.cpu_seconds < 30
    assert list(recordings.iterdir()) == [result.path]  # no temporary files left
    assert mjr_files(rec_dir) == []
    assert b"moof" in result.path.read_bytes()  # fragmented, as the live recorder's
    info = read_back(result.path)
    assert info["codec"] == {"video": "h264", "audio": "aac"}
    assert all(2.5 <= span <= 4.0 for span in info["span"].values()), info["span"]
    bars = [x for x in info["bar"] if x is not None]
    assert len(bars) > len(info["bar"]) / 2 and len(set(bars)) >= 3  # the bar moves
    middle = info["samples"][len(info["samples"]) // 4:][:48000]
    assert tone_hz(middle) == pytest.approx(TONE_HZ, rel=0.05)


async def test_a_video_only_publisher_makes_a_video_only_mp4(
        janus_host: JanusHost, tmp_path: Path) -> None:
    rec_dir, recordings = tmp_path / "janus", tmp_path / "recordings"
    rec_dir.mkdir()
    parts = await record_through_janus(janus_host, rec_dir, [MovingBarVideo(320, 180, 6)])
    assert [part.name.split("-")[1] for part in parts] == ["video"]

    result = await mjr_to_mp4(parts, recordings, uuid.uuid4().hex)

    assert result.complete and result.streams == ("video",) and result.path is not None
    info = read_back(result.path)
    assert info["codec"] == {"video": "h264"}
    assert 2.5 <= info["span"]["video"] <= 4.0
    assert mjr_files(rec_dir) == []


def delay_start(part: Path, seconds: float) -> None:
    """Make a .mjr say its first packet was written `seconds` later than it was."""
    data = part.read_bytes()
    size = int.from_bytes(data[8:10], "big")
    header = json.loads(data[10:10 + size])
    header["u"] += round(seconds * 1_000_000)
    text = json.dumps(header).encode()
    part.write_bytes(data[:8] + len(text).to_bytes(2, "big") + text + data[10 + size:])


async def test_the_stream_whose_first_packet_came_later_starts_later(
        janus_host: JanusHost, tmp_path: Path) -> None:
    rec_dir = tmp_path / "janus"
    rec_dir.mkdir()
    audio, video = await record_through_janus(janus_host, rec_dir,
                                              [Tone(), MovingBarVideo(320, 180, steps=6)])
    delay_start(video, 1.0)

    result = await mjr_to_mp4([audio, video], tmp_path / "recordings", uuid.uuid4().hex)

    assert result.complete and result.path is not None
    starts = {kind: min(times) for kind, times in read_back(result.path)["times"].items()}
    assert starts["video"] - starts["audio"] == pytest.approx(1.0, abs=0.1)


def corrupt_mjr(path: Path) -> Path:
    """A .mjr with a proper 1.1 header whose packets are noise."""
    header = json.dumps({"t": "v", "c": "vp8", "s": 1, "u": 2}).encode()
    noise = random.Random(7)
    packets = b"".join(b"MEET" + struct.pack(">IH", 33 * n, 100) + noise.randbytes(100)
                       for n in range(60))
    path.write_bytes(b"MJR00002" + struct.pack(">H", len(header)) + header + packets)
    return path


async def test_a_corrupt_part_fails_and_leaves_no_file(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    part = corrupt_mjr(tmp_path / "expert-video-1.mjr")

    result = await mjr_to_mp4([part], recordings, uuid.uuid4().hex)

    assert not result.complete and result.path is None and result.streams == ()
    assert result.error is not None and "expert-video-1.mjr" in result.error
    assert list(recordings.iterdir()) == []
    assert part.exists()  # kept for another try
