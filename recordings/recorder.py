"""Record decoded audio and video to an MP4 file (H.264 + AAC), off the event loop.

    recorder = Recorder(settings_recordings_dir)       # kinds=("audio", "video") by default
    recorder.audio_frame(frame); recorder.video_frame(frame)   # on the loop, never blocks
    result = await recorder.stop(timeout=10)           # bounded; result.path, .complete, ...

Feeding frames. The stage already decodes each published track once, in one consumer task
per track (`signaling.stage._Fanout._run`). That task is the place to call
`recorder.video_frame(frame)` / `recorder.audio_frame(frame)`: right after
`await self.source.recv()`, before the `if not self.listeners: continue` and before the
frame goes to the stage's encoder (which rewrites `frame.pts` in its thread). No second
decode, no second reader on the receiver track. For a track nobody else reads (the tests, a
stand-alone recorder) `recorder.attach(track)` runs that loop itself. Frames are only read:
the worker copies each one before giving it its own timestamp, so a frame shared with the
stage's encoder thread is never modified here.

Why MP4 (H.264 + AAC) and not WebM (VP8 + Opus): on these machines a 640x480@20 recording
cost about 12-17 % of a core as .mp4 with x264's fast options against 24-33 % as .webm, and
the goal is a quarter of a core; H.264/AAC in MP4 also plays in every browser (Safari
included) from a plain download. The file is fragmented MP4 (`frag_keyframe+empty_moov`,
with `delay_moov` so the header knows each track's start offset, and a keyframe every 2 s), so
a process killed mid-recording leaves a playable file missing at most its last fragment, and
`stop()` abandoning a hung encoder still leaves one.

What aiortc's `MediaRecorder` gets wrong, and what this does instead:
- Each output stream is created from the FIRST frame of its kind (video size from that
  frame), and the container's header is written only once every expected kind has a stream:
  until then encoded packets are held (bounded by `start_timeout` seconds of media, after
  which the file starts with the kinds that did arrive). An early audio packet can never open
  the file with a 0x0 video stream.
- Real-time encoder settings: x264 `preset=ultrafast, tune=zerolatency` (no B-frames, no
  look-ahead: one packet per frame), AAC at 64 kb/s.
- Encoding and muxing run in ONE worker thread fed by a bounded queue; `video_frame` and
  `audio_frame` never block: when the queue is full the frame is dropped and counted.
- `stop(timeout)` returns by its deadline whatever the encoder does; `complete` says whether
  the worker finished (flushed and closed the file) in time.

Timestamps. RTP timestamps of audio and video start at unrelated random values, so each
track's clock is anchored at its first frame's arrival time (relative to the recording's
first frame) and then follows the frame pts (unwrapped at 2**32), re-anchoring when it drifts
from the arrival clock by more than a second (publisher restart, a gap). Audio is written with
contiguous sample counts and jumps forward over gaps longer than 0.2 s.

File names are `uuid4().hex + ".mp4"` in a data directory checked to lie outside the source
tree (see `recordings.storage`); nothing a user sends ever becomes part of a path.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from recordings.storage import data_directory, new_recording_id, recording_path

log = logging.getLogger(__name__)

KINDS = ("audio", "video")
VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
#: Re-anchor a track's clock when its pts and the arrival clock disagree by more than this.
RESYNC_SECONDS = 1.0
#: Audio gaps longer than this are kept as gaps (the audio jumps forward).
AUDIO_GAP_SECONDS = 0.2
MP4_OPTIONS = {"movflags": "frag_keyframe+empty_moov+delay_moov+default_base_moof"}


@dataclass(frozen=True)
class RecorderConfig:
    #: Frames waiting for the worker (audio and video together); beyond this new frames are
    #: dropped and counted. Queued frames are the decoder's own (copied by the worker), so
    #: this also bounds memory: 48 frames of 640x360 video are about 16 MB.
    queue_size: int = 48
    #: Seconds of media held while waiting for every expected kind's first frame.
    start_timeout: float = 5.0
    crf: int = 23
    keyframe_seconds: float = 2.0
    audio_bitrate: int = 64_000
    #: Largest video size written; bigger frames are scaled down to fit.
    max_width: int = 1280
    max_height: int = 720


@dataclass
class RecordingResult:
    id: str
    #: None when no frame ever arrived (no file was created).
    path: Path | None
    #: The worker flushed and closed the file before `stop()`'s timeout.
    complete: bool
    #: Kinds that have a stream in the file.
    streams: tuple[str, ...]
    #: Frames given to the encoders, per kind.
    encoded: dict[str, int]
    #: Frames offered while the worker was behind (queue full), per kind.
    dropped: dict[str, int]
    #: Frames of a kind that arrived after the file had started without it.
    late: dict[str, int]
    #: Seconds of the worker thread's CPU time (encoding and muxing).
    cpu_seconds: float
    error: str | None = None


@dataclass
class _Clock:
    """One track's timestamps in seconds since the recording's first frame (loop thread)."""

    base: float = 0.0
    ticks: int = 0
    last_raw: int | None = None

    def at(self, frame: Any, now: float) -> float:
        pts, time_base = frame.pts, frame.time_base
        if pts is None or time_base is None:
            return now
        if self.last_raw is None:
            self.base, self.ticks = now, 0
        else:
            delta = (pts - self.last_raw) & 0xFFFFFFFF
            self.ticks += delta if delta < 0x80000000 else 0  # older (reordered): same time
        self.last_raw = pts
        seconds = self.base + float(self.ticks * time_base)
        if abs(seconds - now) > RESYNC_SECONDS:
            self.base += now - seconds
            seconds = now
        return seconds


@dataclass
class _Output:
    """One stream of the file (worker thread only)."""

    stream: Any
    next_pts: int = 0  # audio: next sample; video: last pts + 1
    size: tuple[int, int] = (0, 0)


def video_size(width: int, height: int, config: RecorderConfig) -> tuple[int, int]:
    """The size a `width` x `height` picture is written at: even, within the configured max."""
    scale = min(config.max_width / width, config.max_height / height, 1.0)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def add_video_stream(container: Any, size: tuple[int, int], config: RecorderConfig) -> Any:
    """An H.264 stream with the real-time settings (also used by recordings.janus_files)."""
    stream = container.add_stream(
        "libx264",
        rate=30,
        options={"preset": "ultrafast", "tune": "zerolatency", "crf": str(config.crf)},
    )
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = VIDEO_TIME_BASE
    stream.time_base = VIDEO_TIME_BASE
    stream.codec_context.gop_size = max(1, round(30 * config.keyframe_seconds))
    stream.codec_context.thread_count = 1
    return stream


def add_audio_stream(container: Any, frame: Any, config: RecorderConfig) -> Any:
    """An AAC stream at `frame`'s sample rate, mono or stereo like `frame`."""
    rate = frame.sample_rate
    stream = container.add_stream("aac", rate=rate)
    stream.layout = "stereo" if frame.layout.nb_channels >= 2 else "mono"
    stream.bit_rate = config.audio_bitrate
    stream.time_base = fractions.Fraction(1, rate)
    return stream


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _copy_video(frame: Any, width: int, height: int) -> av.VideoFrame:
    """A yuv420p frame of `width` x `height` that shares nothing with `frame`."""
    if frame.width != width or frame.height != height or frame.format.name != "yuv420p":
        out = frame.reformat(width=width, height=height, format="yuv420p")
        if out is not frame:
            return out
    out = av.VideoFrame(width, height, "yuv420p")
    for dst, src in zip(out.planes, frame.planes, strict=True):
        if dst.line_size == src.line_size and dst.buffer_size <= src.buffer_size:
            dst.update(bytes(memoryview(src)[: dst.buffer_size]))
        else:
            target, source = memoryview(dst), memoryview(src)
            rows = dst.buffer_size // dst.line_size
            count = min(dst.line_size, src.line_size)
            for row in range(rows):
                d, s = row * dst.line_size, row * src.line_size
                target[d : d + count] = source[s : s + count]
    return out


def _copy_audio(frame: Any) -> av.AudioFrame:
    out = av.AudioFrame(format=frame.format.name, layout=frame.layout.name, samples=frame.samples)
    out.sample_rate = frame.sample_rate
    for dst, src in zip(out.planes, frame.planes, strict=True):
        dst.update(bytes(memoryview(src)[: dst.buffer_size]))
    return out


class Recorder:
    """One recording. Create, feed, stop, all on the event loop; the file is written by a
    worker thread. `kinds` are the tracks expected: the file starts when each has a frame."""

    def __init__(
        self,
        directory: str | Path,
        kinds: Iterable[str] = KINDS,
        config: RecorderConfig | None = None,
    ) -> None:
        self.kinds = tuple(dict.fromkeys(kinds))
        if not self.kinds or any(kind not in KINDS for kind in self.kinds):
            raise ValueError(f"kinds must be some of {KINDS}")
        self.config = config or RecorderConfig()
        self.directory = data_directory(directory)
        self.id = new_recording_id()
        self.path = recording_path(self.directory, self.id)
        # Loop-thread state.
        self.received = dict.fromkeys(self.kinds, 0)
        self.dropped = dict.fromkeys(self.kinds, 0)
        #: Seconds after the recording's first frame at which each kind's first frame came.
        self.first_seen: dict[str, float] = {}
        self._clocks = {kind: _Clock() for kind in self.kinds}
        self._t0: float | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._result: RecordingResult | None = None
        # Shared.
        self._queue: queue.Queue[tuple[str, Any, float]] = queue.Queue(self.config.queue_size)
        self._stopping = threading.Event()
        self._done = threading.Event()
        self._waiter_lock = threading.Lock()
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        # Worker-thread state.
        self.encoded = dict.fromkeys(self.kinds, 0)
        self.late = dict.fromkeys(self.kinds, 0)
        self.cpu_seconds = 0.0
        self._container: Any = None
        self._outputs: dict[str, _Output] = {}
        self._held: list[tuple[float, Any]] = []
        self._first_time: float | None = None
        self._started = False
        self._error: str | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"recorder-{self.id[:8]}", daemon=True
        )
        self._thread.start()

    # -- inputs (event loop) --

    def video_frame(self, frame: Any) -> bool:
        """Offer one decoded video frame; False if it was dropped (worker behind, stopped)."""
        return self._offer("video", frame)

    def audio_frame(self, frame: Any) -> bool:
        """Offer one decoded audio frame; False if it was dropped (worker behind, stopped)."""
        return self._offer("audio", frame)

    def _offer(self, kind: str, frame: Any) -> bool:
        if self._stopping.is_set() or self._done.is_set() or kind not in self._clocks:
            return False  # stopped, the worker failed, or a kind not expected
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        self.first_seen.setdefault(kind, now - self._t0)
        when = self._clocks[kind].at(frame, now - self._t0)
        self.received[kind] += 1
        try:
            self._queue.put_nowait((kind, frame, when))
        except queue.Full:
            self.dropped[kind] += 1
            return False
        return True

    def attach(self, track: MediaStreamTrack) -> asyncio.Task[None]:
        """Read `track` (which nobody else may read) into this recorder until it ends or
        `stop()` is called."""

        async def pump() -> None:
            offer = self.video_frame if track.kind == "video" else self.audio_frame
            with contextlib.suppress(MediaStreamError):
                while not self._stopping.is_set():
                    offer(await track.recv())

        task = asyncio.create_task(pump(), name=f"recorder-{track.kind}-{self.id[:8]}")
        self._tasks.append(task)
        return task

    async def stop(self, timeout: float = 10.0) -> RecordingResult:  # noqa: ASYNC109
        """Stop taking frames, let the worker encode what is queued, flush and close the
        file; return by `timeout` seconds whatever happens (then `complete` is False and the
        worker, a daemon thread, is left to finish on its own)."""
        if self._result is not None:
            return self._result
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        deadline = time.monotonic() + max(timeout, 0.0)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with self._waiter_lock:
            if self._waiter is None:  # a second, concurrent stop() shares the first's
                loop = asyncio.get_running_loop()
                self._waiter = (loop, loop.create_future())
            finished = self._waiter[1]
        if not self._done.is_set():
            await asyncio.wait({finished}, timeout=max(deadline - time.monotonic(), 0.0))
        complete = self._done.is_set()
        if not complete:
            log.warning("recorder %s: worker did not finish within %.1f s", self.id, timeout)
        exists = self._container is not None
        self._result = RecordingResult(
            id=self.id,
            path=self.path if exists else None,
            complete=complete,
            streams=tuple(kind for kind in self.kinds if kind in self._outputs),
            encoded=dict(self.encoded),
            dropped=dict(self.dropped),
            late=dict(self.late),
            cpu_seconds=self.cpu_seconds,
            error=self._error,
        )
        return self._result

    # -- worker thread --

    def _run(self) -> None:
        cpu = time.thread_time()
        try:
            while True:
                try:
                    kind, frame, when = self._queue.get(timeout=0.05)
                except queue.Empty:
                    if self._stopping.is_set():
                        break
                    continue
                self._write(kind, frame, when)
                self.cpu_seconds = time.thread_time() - cpu
            self._finish()
        except Exception as exc:
            log.exception("recorder %s failed", self.id)
            self._error = repr(exc)
        finally:
            if self._container is not None:
                try:
                    self._container.close()
                except Exception as exc:  # pragma: no cover - a broken file system
                    log.exception("recorder %s: closing the file failed", self.id)
                    self._error = self._error or repr(exc)
            self.cpu_seconds = time.thread_time() - cpu
            self._done.set()
            with self._waiter_lock:
                waiter = self._waiter
            if waiter is not None:
                with contextlib.suppress(RuntimeError):  # the loop is already closed
                    waiter[0].call_soon_threadsafe(_resolve, waiter[1])

    def _write(self, kind: str, frame: Any, when: float) -> None:
        output = self._outputs.get(kind)
        if output is None:
            if self._started:
                self.late[kind] += 1  # the file started without this kind: cannot add it
                return
            output = self._add_stream(kind, frame)
        if self._first_time is None:
            self._first_time = when
        prepared: av.VideoFrame | av.AudioFrame
        if kind == "video":
            prepared = self._prepare_video(output, frame, when)
        else:
            prepared = self._prepare_audio(output, frame, when)
        for packet in output.stream.encode(prepared):
            self._emit(packet, when)
        self.encoded[kind] += 1
        if not self._started and when - self._first_time > self.config.start_timeout:
            self._start()

    def _open(self) -> Any:
        if self._container is None:
            self._container = av.open(str(self.path), "w", format="mp4", options=MP4_OPTIONS)
        return self._container

    def _add_stream(self, kind: str, frame: Any) -> _Output:
        container = self._open()
        if kind == "video":
            size = video_size(frame.width, frame.height, self.config)
            stream = add_video_stream(container, size, self.config)
            output = _Output(stream, next_pts=0, size=size)
        else:
            stream = add_audio_stream(container, frame, self.config)
            output = _Output(stream, next_pts=-1)
        self._outputs[kind] = output
        return output

    def _prepare_video(self, output: _Output, frame: Any, when: float) -> av.VideoFrame:
        copy = _copy_video(frame, *output.size)
        pts = max(round(when / VIDEO_TIME_BASE), output.next_pts)
        output.next_pts = pts + 1
        copy.pts, copy.time_base = pts, VIDEO_TIME_BASE
        copy.pict_type = av.video.frame.PictureType.NONE
        return copy

    def _prepare_audio(self, output: _Output, frame: Any, when: float) -> av.AudioFrame:
        copy = _copy_audio(frame)
        rate = output.stream.codec_context.sample_rate
        wanted = round(when * rate)
        if output.next_pts < 0 or wanted - output.next_pts > AUDIO_GAP_SECONDS * rate:
            output.next_pts = wanted
        copy.pts, copy.time_base = output.next_pts, fractions.Fraction(1, rate)
        output.next_pts += round(frame.samples * rate / frame.sample_rate)
        return copy

    def _emit(self, packet: Any, when: float) -> None:
        if self._started:
            self._container.mux(packet)
            return
        self._held.append((when, packet))
        if all(kind in self._outputs for kind in self.kinds):
            self._start()

    def _start(self) -> None:
        """Write the header (first mux) with the streams that exist, then the held packets."""
        self._started = True
        held, self._held = self._held, []
        for _, packet in sorted(held, key=lambda item: item[0]):
            self._container.mux(packet)

    def _finish(self) -> None:
        if self._container is None:
            return
        for output in self._outputs.values():
            for packet in output.stream.encode(None):
                self._emit(packet, float("inf"))
        if not self._started:
            self._start()
