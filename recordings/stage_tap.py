"""Recording on the stage's owner: `state.recording` (facilitation/recording.py) becomes a
file. Only the recorded person's own stage tracks are tapped (their decoded frames, no second
decode), so nobody else who is on stage or in the gathering is ever in the file.

`reconcile` runs under the stage room's lock whenever the stage or the floor may have
changed (a publish, a review after an event, a publisher leaving): it starts a recorder when
the state says "recording" and the person publishes, and stops it when the state no longer
says so or the person left the stage (publishing again starts a second file).

With the Janus engine nothing is decoded here: the VideoRoom records the person's streams and
they become the same MP4 when the recording stops."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from facilitation.state import GatheringState, RecordingRun
from recordings.archive import RecordingArchive
from recordings.janus_files import mjr_to_mp4
from recordings.recorder import Recorder, RecordingResult
from recordings.storage import new_recording_id
from signaling.engines import StageEngine
from signaling.janus_stage import JanusStage
from signaling.stage import Stage

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0  # seconds `Recorder.stop` may take to flush and close the file
CONVERT_TIMEOUT = 120.0  # seconds a Janus recording's conversion may take, plus its length


@dataclass(frozen=True)
class Started:
    id: str
    kinds: tuple[str, ...]
    stop: Callable[[], Awaitable[None]]  # nothing more is recorded (quick: under the lock)
    made: Callable[[], Awaitable[RecordingResult]]  # then the file is made (in the background)
    recorder: Recorder | None = None  # the aiortc stage's: it takes the decoded frames


@dataclass
class ActiveRecording:
    run: RecordingRun
    peer: str  # the recorded person's publishing tab
    started: Started

    @property
    def recorder(self) -> Recorder | None:
        return self.started.recorder


class StageRecordings:
    def __init__(self, archive: RecordingArchive) -> None:
        self.archive = archive
        self.active: dict[str, ActiveRecording] = {}  # gathering id -> what records there
        self.finishing: set[asyncio.Task[None]] = set()

    async def reconcile(self, gathering_id: str, stage: StageEngine, state: GatheringState,
                        peers: dict[str, int]) -> None:
        """`peers`: who publishes on the stage (tab -> person id)."""
        active = self.active.get(gathering_id)
        run = state.recording
        if active is not None and (run != active.run or active.peer not in peers):
            await self.stop(gathering_id, stage)
            active = None
        if run is None or active is not None:
            return
        peer = next((p for p, person in peers.items() if person == run.person_id), None)
        if peer is None:
            return
        started = await self._start(stage, peer)
        if started is None:
            return
        self.active[gathering_id] = ActiveRecording(run, peer, started)
        try:
            await self.archive.begin(started.id, gathering_id, run, started.kinds)
        except Exception:  # the recording goes on; its row is written when it ends
            log.exception("could not store the start of recording %s", started.id)

    async def _start(self, stage: StageEngine, peer: str) -> Started | None:
        if isinstance(stage, JanusStage):
            return await self._start_janus(stage, peer)
        if isinstance(stage, Stage):
            return self._start_tap(stage, peer)
        return None

    def _start_tap(self, stage: Stage, peer: str) -> Started | None:
        """The aiortc stage: the person's decoded frames go to a Recorder as well."""
        kinds = tuple(k for k in ("audio", "video") if k in stage.kinds(peer))
        if not kinds:
            return None
        recorder = Recorder(self.archive.directory, kinds)

        def sink(kind: str, frame: Any) -> object:
            offer = recorder.video_frame if kind == "video" else recorder.audio_frame
            return offer(frame)

        stage.tap(peer, sink)

        async def stop() -> None:
            stage.untap(peer, sink)

        return Started(recorder.id, kinds, stop, lambda: recorder.stop(STOP_TIMEOUT), recorder)

    async def _start_janus(self, stage: JanusStage, peer: str) -> Started | None:
        """Janus: the VideoRoom records the person's streams (.mjr), which become the same
        MP4 when the recording stops (recordings/janus_files.py)."""
        recording_id = new_recording_id()
        kinds = await stage.record(peer, recording_id)
        if not kinds:
            return None
        began = time.monotonic()

        async def made() -> RecordingResult:
            # about 5 % of a core per second recorded: an hour's talk takes minutes
            return await mjr_to_mp4(stage.recorded(recording_id), self.archive.directory,
                                    recording_id,
                                    timeout=CONVERT_TIMEOUT + time.monotonic() - began)

        return Started(recording_id, kinds, lambda: stage.stop_recording(peer), made)

    async def stop(self, gathering_id: str, stage: StageEngine) -> None:
        """Stop the gathering's recording now; its file is made and its row written in the
        background (a Janus recording is converted then: that may take minutes)."""
        active = self.active.pop(gathering_id, None)
        if active is None:
            return
        await active.started.stop()
        task = asyncio.create_task(self._store(active.started.made),
                                   name=f"recording-{active.started.id}")
        self.finishing.add(task)
        task.add_done_callback(self.finishing.discard)

    async def _store(self, make: Callable[[], Awaitable[RecordingResult]]) -> None:
        result = await make()
        try:
            await self.archive.finish(result)
        except Exception:
            log.exception("could not store the end of recording %s", result.id)

    async def drain(self) -> None:
        """Wait for the files still being made (the worker stops)."""
        await asyncio.gather(*self.finishing, return_exceptions=True)
