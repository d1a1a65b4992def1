"""An aiortc participant driven by the forum's signaling over a real socket.io client."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
from typing import Any

import av
import socketio
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)

from tests.conftest import WAIT


class Frames(VideoStreamTrack):
    """A small camera: grey frames (160x120 unless told) at the default 30 fps."""

    def __init__(self, size: tuple[int, int] = (160, 120)) -> None:
        super().__init__()
        self.size = size

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=self.size[0], height=self.size[1], format="yuv420p")
        for plane in frame.planes:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base or fractions.Fraction(1, 90000)
        return frame


class MeshPeer:
    """One browser tab's RTCPeerConnection to one other peer, signaled through the server."""

    def __init__(self, client: socketio.AsyncClient, gathering: str,
                 ice_servers: list[RTCIceServer] | None = None, relay_only: bool = False) -> None:
        self.client = client
        self.gathering = gathering
        config = RTCConfiguration(iceServers=ice_servers or [])
        if relay_only:
            from aiortc.rtcconfiguration import RTCIceTransportPolicy

            config = RTCConfiguration(iceServers=ice_servers or [],
                                      iceTransportPolicy=RTCIceTransportPolicy.RELAY)
        self.pc = RTCPeerConnection(config)
        self.pc.addTrack(Frames())
        self.frames = 0
        self.signals: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.answers: list[dict[str, Any]] = []
        self.tasks: list[asyncio.Task[None]] = []
        client.on("signal", self.signals.put_nowait)
        self.pc.on("track", self._on_track)
        self.tasks.append(asyncio.create_task(self._handle_signals()))

    def _on_track(self, track: MediaStreamTrack) -> None:
        async def count() -> None:
            with contextlib.suppress(Exception):
                while True:
                    await track.recv()
                    self.frames += 1
        self.tasks.append(asyncio.create_task(count()))

    async def _send(self, to: str, **body: Any) -> dict[str, Any]:
        answer: dict[str, Any] = await self.client.call(
            "signal", {"gathering": self.gathering, "to": to, **body}, timeout=WAIT)
        self.answers.append(answer)
        return answer

    async def offer(self, to: str) -> dict[str, Any]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        local = self.pc.localDescription
        return await self._send(to, description={"type": local.type, "sdp": local.sdp})

    async def _handle_signals(self) -> None:
        while True:
            message = await self.signals.get()
            description = message.get("description")
            if description is None:
                continue  # aiortc puts every candidate into its SDP
            await self.pc.setRemoteDescription(
                RTCSessionDescription(description["sdp"], description["type"]))
            if description["type"] == "offer":
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                local = self.pc.localDescription
                await self._send(message["from"],
                                 description={"type": local.type, "sdp": local.sdp})

    def selected_pair_types(self) -> tuple[str, str] | None:
        """The (local, remote) candidate types of the connected pair, e.g. ("relay", ...)."""
        for transceiver in self.pc.getTransceivers():
            sender = transceiver.sender
            if sender.transport is None:
                continue
            connection = sender.transport.transport._connection  # aioice.Connection
            pair = connection._nominated.get(1)
            if pair is not None:
                return pair.local_candidate.type, pair.remote_candidate.type
        return None

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.pc.close()
