"""Synthetic camera pictures for the media tests: a bar that moves across the frame (so an
encoder has something to encode), a fresh copy of one of them for each frame sent, and a
camera track that sends them."""

from __future__ import annotations

import fractions

import av
from aiortc import VideoStreamTrack


def moving_bar(width: int, height: int, steps: int) -> list[av.VideoFrame]:
    """`steps` yuv420p pictures, the bar one step further right (and a shade bluer) each."""
    frames = []
    bar = width // (steps + 1)
    for step in range(steps):
        frame = av.VideoFrame(width, height, "yuv420p")
        luma = bytearray(frame.planes[0].buffer_size)
        for row in range(height):
            start = row * frame.planes[0].line_size + step * bar
            luma[start : start + bar] = b"\xe0" * bar
        frame.planes[0].update(bytes(luma))
        frame.planes[1].update(bytes([128]) * frame.planes[1].buffer_size)
        frame.planes[2].update(bytes([80 + step * 10]) * frame.planes[2].buffer_size)
        frames.append(frame)
    return frames


def fresh_copy(source: av.VideoFrame, pts: int, time_base: fractions.Fraction
               ) -> av.VideoFrame:
    """A new frame with `source`'s picture (aiortc's senders may keep the one they got)."""
    frame = av.VideoFrame(source.width, source.height, "yuv420p")
    for plane, src in zip(frame.planes, source.planes, strict=True):
        plane.update(bytes(src))
    frame.pts, frame.time_base = pts, time_base
    return frame


class MovingBarVideo(VideoStreamTrack):
    """A camera: `steps` precomputed moving-bar pictures in turn, at 30 fps, counting what it
    sends."""

    def __init__(self, width: int, height: int, steps: int) -> None:
        super().__init__()
        self.sent = 0
        self._frames = moving_bar(width, height, steps)

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        self.sent += 1
        return fresh_copy(self._frames[(self.sent - 1) % len(self._frames)], pts, time_base)
