"""Recording on the stage's owner: `state.recording` (facilitation/recording.py) becomes a
file. Only the recorded person's own stage tracks are tapped (their decoded frames, no second
decode), so nobody else who is on stage or in the gathering is ever in the file.

`reconcile` runs under the stage room's lock whenever the stage or the floor may have
changed (a publish, a review after an event, a publisher leaving): it starts a recorder when
the state says "recording" and the person publishes, and stops it when the state no longer
says so or the person left the stage (publishing again starts a second file)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from facilitation.state import GatheringState, RecordingRun
from recordings.archive import RecordingArchive
from recordings.recorder import Recorder
from signaling.stage import Stage

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0  # seconds `Recorder.stop` may take to flush and close the file


@dataclass
class ActiveRecording:
    run: RecordingRun
    peer: str  # the recorded person's publishing tab
    recorder: Recorder
    sink: Callable[[str, Any], object]


class StageRecordings:
    def __init__(self, archive: RecordingArchive) -> None:
        self.archive = archive
        self.active: dict[str, ActiveRecording] = {}  # gathering id -> what records there

    async def reconcile(self, gathering_id: str, stage: Stage, state: GatheringState,
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
        if peer is not None:
            await self._start(gathering_id, stage, run, peer)

    async def _start(self, gathering_id: str, stage: Stage, run: RecordingRun,
                     peer: str) -> None:
        kinds = tuple(k for k in ("audio", "video") if k in stage.kinds(peer))
        if not kinds:
            return
        recorder = Recorder(self.archive.directory, kinds)

        def sink(kind: str, frame: Any) -> object:
            offer = recorder.video_frame if kind == "video" else recorder.audio_frame
            return offer(frame)

        stage.tap(peer, sink)
        self.active[gathering_id] = ActiveRecording(run, peer, recorder, sink)
        try:
            await self.archive.begin(recorder.id, gathering_id, run, kinds)
        except Exception:  # the recording goes on; its row is written when it ends
            log.exception("could not store the start of recording %s", recorder.id)

    async def stop(self, gathering_id: str, stage: Stage) -> None:
        active = self.active.pop(gathering_id, None)
        if active is None:
            return
        stage.untap(active.peer, active.sink)
        result = await active.recorder.stop(STOP_TIMEOUT)
        try:
            await self.archive.finish(result)
        except Exception:
            log.exception("could not store the end of recording %s", result.id)
