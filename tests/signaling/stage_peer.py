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
    """One watching tab: it answers the stage's offer; a new `listen()` replaces its peer
    connection, as a browser does when the publishers change."""

    def __init__(self, client: socketio.AsyncClient, gathering: str) -> None:
        self.client = client
        self.gathering = gathering
        self.pc: RTCPeerConnection | None = None
        self.frames: dict[str, int] = {}  # mid -> video frames decoded
        self.tracks: list[dict[str, Any]] = []
        self.tasks: list[asyncio.Task[None]] = []

    def video_frames(self, person_id: int | None = None) -> int:
        mids = {t["mid"] for t in self.tracks if t["kind"] == "video"
                and (person_id is None or t["person_id"] == person_id)}
        return sum(n for mid, n in self.frames.items() if mid in mids)

    async def listen(self) -> dict[str, Any]:
        """`stage.listen`, then `stage.answer` to the stage's offer (if anyone is on it)."""
        await self._close_pc()
        # max-bundle: aiortc's default ("balanced") strands a second m-line of a kind on a
        # stopped transport once the offer bundles them (browsers are not affected)
        pc = self.pc = RTCPeerConnection(RTCConfiguration(
            iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.frames = {}

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            mid = next(t.mid for t in pc.getTransceivers() if t.receiver.track is track)
            if track.kind == "video":
                self.tasks.append(asyncio.create_task(self._count(str(mid), track)))

        answer: dict[str, Any] = await self.client.call("stage.listen", {
            "gathering": self.gathering}, timeout=WAIT)
        if not answer.get("ok") or answer["description"] is None:
            return answer
        self.tracks = answer["tracks"]
        offer = answer["description"]
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        local = pc.localDescription
        answered: dict[str, Any] = await self.client.call("stage.answer", {
            "gathering": self.gathering,
            "description": {"type": local.type, "sdp": local.sdp}}, timeout=WAIT)
        return answer if answered.get("ok") else answered

    async def listen_to(self, person_id: int) -> dict[str, Any]:
        """`listen()` until the stage offers `person_id`'s tracks: with Janus a publisher is
        on the stage once its media is up, a moment after its answer (a browser listens
        again at the `stage` push that lists them)."""
        deadline = asyncio.get_running_loop().time() + WAIT
        while True:
            answer = await self.listen()
            assert answer["ok"], answer
            if any(t["person_id"] == person_id for t in answer["tracks"]):
                return answer
            assert asyncio.get_running_loop().time() < deadline, f"{person_id} never on stage"
            await asyncio.sleep(0.5)  # the stage requests' rate: 2 a second

    async def listen_and_see(self, person_id: int, what: str) -> None:
        """A `listen()` that offers `person_id`, then a few of their video frames decoded."""
        await self.listen_to(person_id)
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
