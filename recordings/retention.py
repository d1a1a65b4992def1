"""Retention: recordings are deleted RECORDING_RETENTION_DAYS after they ended, and those
whose worker died before they ended are cleaned up, by a sweep every hour."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from recordings.archive import RecordingArchive
from rooms.tasks import running

log = logging.getLogger(__name__)

SWEEP_SECONDS = 3600


async def sweep(archive: RecordingArchive, days: int) -> None:
    """Delete old recordings now and then every hour."""
    while True:
        try:
            await archive.purge(days)
        except Exception:
            log.exception("the recordings' retention sweep failed")
        await asyncio.sleep(SWEEP_SECONDS)


@contextlib.asynccontextmanager
async def retention(archive: RecordingArchive, days: int) -> AsyncIterator[None]:
    """While serving: the hourly sweep (none when `days` is 0: kept until deleted)."""
    if days <= 0:
        yield
        return
    async with running(sweep(archive, days)):
        yield
