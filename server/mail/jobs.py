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

from server.keys import SOCKETS

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
    faults = app[SOCKETS].faults
    for job in JOBS:
        try:
            await job(app, now)
        except (OSError, SQLAlchemyError) as error:  # the next round tries again
            if not faults.failed(error):  # an outage is told once, by rooms/faults.py
                log.warning("scheduled mail %s failed: %s", job.__name__, error)


async def run_jobs(app: web.Application, every: float = EVERY) -> None:
    """Every `every` seconds, the first time one interval after the start (a starting
    worker has better things to do than mail, and the mail waits a minute at most)."""
    while True:
        await asyncio.sleep(every)
        await run_jobs_once(app)
