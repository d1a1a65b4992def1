"""aiortc stage publishers and listeners driven by the forum's `stage.*` socket events."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import socketio
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from tests.conftest import WAIT
from tests.server.live_helpers import eventually
from tests.signaling.mesh_peer import Frames


class CountingFrames(Frames):
    """The mesh's small grey camera, counting the frames it sends."""

    def __init__(self, size: tuple[int, int] = (160, 120)) -> None:
        super().__init__(size)
        self.sent = 0

    async def recv(self) -> Any:
        frame = await super().recv()
        self.sent += 1
        return frame


class StagePublisher:
    def __init__(self, client: socketio.AsyncClient, gathering: str,
                 size: tuple[int, int] = (160, 120), audio: bool = False) -> None:
        self.client = client
        self.gathering = gathering
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        if audio:  # a microphone of silence, first, as a browser's offer has it
            self.pc.addTrack(AudioStreamTrack())
        self.video = CountingFrames(size)
        self.pc.addTrack(self.video)

    async def publish(self) -> dict[str, Any]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        local = self.pc.localDescription
        answer: dict[str, Any] = await self.client.call("stage.publish", {
            "gathering": self.gathering,
            "description": {"type": local.type, "sdp": local.sdp}}, timeout=WAIT)
        if answer.get("ok"):
            description = answer["description"]
            await self.pc.setRemoteDescription(
                RTCSessionDescription(description["sdp"], description["type"]))
        return answer

    async def close(self) -> None:
        await asyncio.wait_for(self.pc.close(), WAIT)


class StageListener:
    """One watching tab: a recvonly offer with `slots` video (and audio) m-lines; a new
    `listen()` replaces its peer connection, as a browser does when the publishers change."""

    def __init__(self, client: socketio.AsyncClient, gathering: str, slots: int = 2) -> None:
        self.client = client
        self.gathering = gathering
        self.slots = slots
        self.pc: RTCPeerConnection | None = None
        self.frames: dict[str, int] = {}  # mid -> video frames decoded
        self.tracks: list[dict[str, Any]] = []
        self.tasks: list[asyncio.Task[None]] = []

    def video_frames(self, person_id: int | None = None) -> int:
        mids = {t["mid"] for t in self.tracks if t["kind"] == "video"
                and (person_id is None or t["person_id"] == person_id)}
        return sum(n for mid, n in self.frames.items() if mid in mids)

    async def listen(self) -> dict[str, Any]:
        await self._close_pc()
        # max-bundle: aiortc's default ("balanced") strands a second m-line of a kind on a
        # stopped transport once the answer bundles them (browsers are not affected)
        pc = self.pc = RTCPeerConnection(RTCConfiguration(
            iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.frames = {}
        for _ in range(self.slots):
            pc.addTransceiver("audio", direction="recvonly")
            pc.addTransceiver("video", direction="recvonly")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            mid = next(t.mid for t in pc.getTransceivers() if t.receiver.track is track)
            if track.kind == "video":
                self.tasks.append(asyncio.create_task(self._count(str(mid), track)))

        await pc.setLocalDescription(await pc.createOffer())
        local = pc.localDescription
        answer: dict[str, Any] = await self.client.call("stage.listen", {
            "gathering": self.gathering,
            "description": {"type": local.type, "sdp": local.sdp}}, timeout=WAIT)
        if answer.get("ok"):
            self.tracks = answer["tracks"]
            description = answer["description"]
            await pc.setRemoteDescription(
                RTCSessionDescription(description["sdp"], description["type"]))
        return answer

    async def listen_and_see(self, person_id: int, what: str) -> None:
        """A `listen()` that is answered, then a few of `person_id`'s video frames decoded."""
        answer = await self.listen()
        assert answer["ok"], answer
        await eventually(lambda: self.video_frames(person_id) > 5, what=what)

    async def _count(self, mid: str, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await track.recv()
                self.frames[mid] = self.frames.get(mid, 0) + 1

    async def _close_pc(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.tasks = []
        if self.pc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.pc.close(), WAIT)

    async def close(self) -> None:
        await self._close_pc()
