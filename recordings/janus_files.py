"""Turn a Janus VideoRoom recording (one .mjr file per stream) into the same MP4 as the
aiortc stage's recorder makes: H.264 + AAC, fragmented, its encoder settings
(recordings/recorder.py), named by `recordings.storage`.

    result = await mjr_to_mp4([base-audio-0.mjr, base-video-1.mjr], directory, recording_id)

Debian's `janus-pp-rec` (janus-tools) first unpacks each part into a file PyAV reads (VP8
to .webm, Opus to .opus), in a temporary folder next to the output; one worker thread then
decodes them and encodes the MP4. On success the temporary files and the .mjr parts are
deleted; on failure (unreadable part, timeout) no MP4 is left and the parts are kept.

The header of a Janus 1.1.2 .mjr is `MJR00002`, a 2-byte length and JSON, written with the
first packet: `t` (a, v or d), `c` (codec), `s` (when the recorder was created) and `u` (when
its first packet was written), both wall-clock microseconds; `f` (fmtp), `x` (extmaps), `d`
(description), `e` (end-to-end encrypted) and `or` (Opus RED) only when they apply. A part
whose publisher never sent a packet is the 8-byte magic alone. janus-pp-rec starts each
output at its first packet, so the streams are aligned by the difference of their `u`s.

janus-pp-rec exits with 0 even when it cannot read its input, so a part counts only when
PyAV decodes at least one frame from what it wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import heapq
import itertools
import json
import logging
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from recordings.recorder import (
    AUDIO_GAP_SECONDS,
    KINDS,
    MP4_OPTIONS,
    VIDEO_TIME_BASE,
    RecorderConfig,
    RecordingResult,
    add_audio_stream,
    add_video_stream,
    video_size,
)
from recordings.storage import data_directory, recording_path

log = logging.getLogger(__name__)

MAGIC = b"MJR00002"
TYPES = {"a": "audio", "v": "video"}
#: What janus-pp-rec writes each codec to (what `janus-pp-rec -F` lists that PyAV reads).
EXTENSIONS = {"opus": ".opus", "vp8": ".webm", "vp9": ".webm", "h264": ".mkv", "av1": ".mp4"}


class ConversionError(Exception):
    """A part that cannot be converted (the message says which and why)."""


@dataclass(frozen=True)
class _Part:
    kind: str
    path: Path  # what janus-pp-rec wrote
    offset: float  # seconds after the recording's first packet


def mjr_header(path: Path) -> dict[str, Any] | None:
    """The JSON header of a .mjr file; None when it holds no packet."""
    with path.open("rb") as file:
        magic = file.read(len(MAGIC))
        size = file.read(2)
        if magic == MAGIC and not size:
            return None
        if magic != MAGIC or len(size) != 2:
            raise ConversionError(f"{path.name}: not a Janus 1.x recording")
        try:
            header = json.loads(file.read(int.from_bytes(size, "big")))
        except ValueError:
            header = None
    if not isinstance(header, dict) or not isinstance(header.get("u"), int):
        raise ConversionError(f"{path.name}: unreadable header")
    return header


async def _unpack(part: Path, header: dict[str, Any], work: Path, deadline: float) -> Path:
    codec = header.get("c")
    if codec not in EXTENSIONS:
        raise ConversionError(f"{part.name}: codec {codec!r} not supported")
    out = work / f"{part.stem}{EXTENSIONS[codec]}"
    process = await asyncio.create_subprocess_exec(
        "janus-pp-rec", "-o", "-d", "3", str(part), str(out),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        log, _ = await asyncio.wait_for(process.communicate(), deadline - time.monotonic())
    except TimeoutError:
        raise ConversionError(f"{part.name}: janus-pp-rec timed out") from None
    finally:
        if process.returncode is None:  # timed out, or the caller was cancelled
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    if process.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        lines = log.decode(errors="replace").strip().splitlines() or ["no output"]
        raise ConversionError(f"{part.name}: janus-pp-rec failed: {lines[-1]}")
    return out


async def _unpack_all(parts: list[Path], work: Path, deadline: float) -> list[_Part]:
    headers = {part: mjr_header(part) for part in parts}
    media = {part: header for part, header in headers.items()
             if header is not None and header.get("t") in TYPES}  # not data, not empty
    kinds = [TYPES[header["t"]] for header in media.values()]
    if not media:
        raise ConversionError("the recording holds no audio or video packet")
    if len(set(kinds)) != len(kinds):
        raise ConversionError(f"more than one part of a kind: {sorted(kinds)}")
    start = min(header["u"] for header in media.values())
    return [_Part(TYPES[header["t"]], await _unpack(part, header, work, deadline),
                  (header["u"] - start) / 1_000_000)
            for part, header in media.items()]


def _frames(part: _Part) -> Iterator[tuple[float, str, Any]]:
    """(seconds since the recording's start, kind, frame) of one unpacked part."""
    with av.open(str(part.path)) as container:
        streams = container.streams.get(**{part.kind: 0})
        if not streams:
            raise ConversionError(f"{part.path.name}: janus-pp-rec wrote no {part.kind}")
        stream = streams[0]
        seconds = 0.0
        for packet in container.demux(stream):
            frames: list[Any] = []
            with contextlib.suppress(av.FFmpegError):  # one bad packet loses its frames
                frames = packet.decode()
            for frame in frames:
                seconds = frame.time if frame.time is not None else seconds
                yield part.offset + seconds, part.kind, frame


class _Writer:
    """The MP4 (worker thread): streams made from each kind's first frame, then frames."""

    def __init__(self, container: Any, config: RecorderConfig) -> None:
        self.container, self.config = container, config
        self.streams: dict[str, Any] = {}
        self.next_pts: dict[str, int] = {}
        self.encoded: dict[str, int] = {}

    def add(self, kind: str, frame: Any) -> None:
        if kind == "video":
            size = video_size(frame.width, frame.height, self.config)
            self.streams[kind] = add_video_stream(self.container, size, self.config)
            self.next_pts[kind] = 0
        else:
            self.streams[kind] = add_audio_stream(self.container, frame, self.config)
            self.next_pts[kind] = -1
        self.encoded[kind] = 0

    def write(self, kind: str, frame: Any, seconds: float) -> None:
        stream = self.streams[kind]
        if kind == "video":
            frame = frame.reformat(width=stream.width, height=stream.height, format="yuv420p")
            frame.pts = max(round(seconds / VIDEO_TIME_BASE), self.next_pts[kind])
            frame.time_base = VIDEO_TIME_BASE
            frame.pict_type = av.video.frame.PictureType.NONE  # keyframes every 2 s, as live
            self.next_pts[kind] = frame.pts + 1
        else:
            rate = stream.codec_context.sample_rate
            wanted = round(seconds * rate)
            if self.next_pts[kind] < 0 or wanted - self.next_pts[kind] > AUDIO_GAP_SECONDS * rate:
                self.next_pts[kind] = wanted
            frame.pts, frame.time_base = self.next_pts[kind], fractions.Fraction(1, rate)
            self.next_pts[kind] += round(frame.samples * rate / frame.sample_rate)
        self.container.mux(stream.encode(frame))
        self.encoded[kind] += 1

    def flush(self) -> None:
        for stream in self.streams.values():
            self.container.mux(stream.encode(None))


def _transcode(parts: list[_Part], target: Path, deadline: float,
               abandon: threading.Event) -> tuple[dict[str, int], float]:
    """Write `target` from the unpacked parts; the frames encoded per kind and the thread's
    CPU seconds. Removes `target` if it fails."""
    cpu = time.thread_time()
    try:
        with av.open(str(target), "w", format="mp4", options=MP4_OPTIONS) as container:
            writer = _Writer(container, RecorderConfig())
            sources = []
            for part in parts:  # every stream exists before the first packet is muxed
                frames = _frames(part)
                first = next(frames, None)
                if first is None:
                    raise ConversionError(f"{part.path.name}: no frame could be decoded")
                writer.add(part.kind, first[2])
                sources.append(itertools.chain([first], frames))
            for seconds, kind, frame in heapq.merge(*sources, key=lambda item: item[0]):
                if abandon.is_set() or time.monotonic() > deadline:
                    raise ConversionError("conversion timed out")
                writer.write(kind, frame, seconds)
            writer.flush()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return writer.encoded, time.thread_time() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def mjr_to_mp4(parts: list[Path], directory: Path, recording_id: str, *,
                     timeout: float = 120) -> RecordingResult:  # noqa: ASYNC109
    """Convert the .mjr `parts` of one recording (audio and/or video) into
    `directory / f"{recording_id}.mp4"` within `timeout` seconds; parts without packets
    and data-channel parts are skipped (and deleted with the rest on success). A part that
    cannot be read, or the timeout, gives `complete=False` and `error` (nothing raised, no
    MP4 left, the parts kept). `cpu_seconds` counts janus-pp-rec and the encoding."""
    directory = data_directory(directory)
    target = recording_path(directory, recording_id)
    deadline = time.monotonic() + timeout
    work = Path(tempfile.mkdtemp(prefix=f".{recording_id}-", dir=directory))
    abandon = threading.Event()
    # janus-pp-rec's CPU is read as this process's reaped children's: another child of
    # the process ending meanwhile would be counted too.
    children = _children_cpu()
    encoded: dict[str, int] = {}
    cpu, error = 0.0, None
    try:
        unpacked = await _unpack_all(parts, work, deadline)
        encoded, cpu = await asyncio.to_thread(_transcode, unpacked, target, deadline, abandon)
    except (ConversionError, OSError, av.FFmpegError) as exc:
        error = str(exc)
    except Exception as exc:  # a surprise in a background job: a failed recording, logged
        log.exception("converting %s failed", recording_id)
        error = repr(exc)
    finally:
        abandon.set()  # a cancelled caller leaves the worker to stop and remove the file
        cpu += _children_cpu() - children
        shutil.rmtree(work, ignore_errors=True)
    if error is None:
        for part in parts:
            part.unlink(missing_ok=True)
    streams = tuple(kind for kind in KINDS if kind in encoded)
    return RecordingResult(
        id=recording_id, path=target if error is None else None, complete=error is None,
        streams=streams, encoded=encoded, dropped=dict.fromkeys(streams, 0),
        late=dict.fromkeys(streams, 0), cpu_seconds=cpu, error=error)
