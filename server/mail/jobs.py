"""The forum's scheduled mail (follow-up reminders, sign-up reminders, weekly digests):
every worker runs this loop; each job claims its work with rooms/once.py, so each mail
goes out once across workers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("server.mail.jobs")

#: how often the jobs look at the clock, in seconds
EVERY = 60.0

#: one async function per kind of scheduled mail: (app, now) -> None. Each area appends its
#: own (server/pages/<area>.py at import).
Job = Callable[[web.Application, datetime], Awaitable[None]]
JOBS: list[Job] = []


async def run_jobs_once(app: web.Application, now: datetime | None = None) -> None:
    """Every job once, at `now` (the server's clock unless a test gives one)."""
    now = now or datetime.now(UTC)
    for job in JOBS:
        try:
            await job(app, now)
        except (OSError, SQLAlchemyError) as error:  # the database away: next round
            log.warning("scheduled mail %s failed: %s", job.__name__, error)


async def run_jobs(app: web.Application, every: float = EVERY) -> None:
    while True:
        await run_jobs_once(app)
        await asyncio.sleep(every)
