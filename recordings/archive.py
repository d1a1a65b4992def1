"""The recordings of gatherings: one row per file (`recordings`), the file itself in the
recordings data directory (recordings/storage.py). Rows are written by the process that
owns the gathering's stage (it makes the file); pages read them, the facilitator deletes
them, and the retention sweep deletes old ones."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation.state import RecordingRun
from recordings.recorder import RecordingResult
from recordings.storage import is_recording_id, recording_path
from rooms.models import Recording

log = logging.getLogger(__name__)

RECORDING, READY, FAILED = "recording", "ready", "failed"


def moment(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def media_seconds(path: Path) -> float | None:
    """The file's duration as its container says, or None if it cannot be read."""
    try:
        with av.open(str(path)) as container:
            if container.duration is not None:
                return float(container.duration) / 1_000_000
            lengths = [float(s.duration * s.time_base) for s in container.streams
                       if s.duration is not None and s.time_base is not None]
            return max(lengths, default=None)
    except (av.FFmpegError, OSError):
        return None


@dataclass(frozen=True)
class RecordingArchive:
    sessions: async_sessionmaker
    directory: Path  # resolved by recordings.storage.data_directory

    def path(self, recording: Recording) -> Path:
        return recording_path(self.directory, recording.id)

    async def begin(self, recording_id: str, gathering_id: str, run: RecordingRun,
                    streams: tuple[str, ...]) -> None:
        async with self.sessions() as session:
            session.add(Recording(
                id=recording_id, gathering_id=gathering_id, item_id=run.item_id,
                person_id=run.person_id, person_name=run.name,
                consent_at=moment(run.consent_at), started_by=run.by_person_id,
                started_at=datetime.now(UTC), streams=",".join(streams), status=RECORDING))
            await session.commit()

    async def finish(self, result: RecordingResult) -> None:
        """Record how the file came out (a file without media is removed)."""
        path = result.path
        size = path.stat().st_size if path is not None and path.exists() else None
        seconds = None if path is None else await asyncio.to_thread(media_seconds, path)
        usable = bool(size) and seconds is not None and bool(result.streams)
        if not usable and path is not None:
            path.unlink(missing_ok=True)
        async with self.sessions() as session:
            recording = await session.get(Recording, result.id)
            if recording is None:  # deleted while it ran
                return
            recording.ended_at = datetime.now(UTC)
            recording.seconds, recording.size_bytes = seconds, size if usable else None
            recording.streams = ",".join(result.streams)
            recording.status = READY if usable else FAILED
            await session.commit()

    async def of_gathering(self, gathering_id: str) -> list[Recording]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Recording).where(Recording.gathering_id == gathering_id)
                .order_by(Recording.started_at))
            return list(rows)

    async def get(self, gathering_id: str, recording_id: str) -> Recording | None:
        if not is_recording_id(recording_id):
            return None
        async with self.sessions() as session:
            recording = await session.get(Recording, recording_id)
        return recording if recording and recording.gathering_id == gathering_id else None

    async def delete(self, recording: Recording) -> None:
        """The file first: a row without a file is harmless, a file without a row is not."""
        self.path(recording).unlink(missing_ok=True)
        async with self.sessions() as session:
            await session.execute(delete(Recording).where(Recording.id == recording.id))
            await session.commit()

    async def purge(self, days: int, now: datetime | None = None) -> list[str]:
        """Delete the recordings that ended more than `days` days ago (or started that long
        ago and never ended: their worker died); their ids."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
        never_ended = and_(Recording.ended_at.is_(None), Recording.started_at < cutoff)
        async with self.sessions() as session:
            old = list(await session.scalars(
                select(Recording).where(or_(Recording.ended_at < cutoff, never_ended))))
        for recording in old:
            await self.delete(recording)
        if old:
            log.info("deleted %d recordings older than %d days", len(old), days)
        return [r.id for r in old]
