"""Outages of what the server needs (the database, the Redis bus), reported as one story:
a line when the fault starts, a count while it lasts, a line when it ends — never a
traceback per refused request (a five-second database outage once wrote 367 of them)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

import asyncpg
from redis import exceptions as redis_errors
from sqlalchemy import event
from sqlalchemy import exc as sql_errors
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


class Fault:
    """One kind of outage (e.g. "the database", "the Redis bus"), logged once when it starts,
    as a count while it lasts (at most one line every `every` seconds), and once when it ends."""

    def __init__(
        self,
        what: str,
        log: logging.Logger,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self._log = log
        self._every = every
        self._clock = clock
        self._since: float | None = None
        self._failures = 0
        self._last_report = 0.0

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> None:
        """Count a failure; the first of an outage logs it, later ones a count now and then."""
        now = self._clock()
        self._failures += 1
        if self._since is None:
            self._since = self._last_report = now
            self._log.warning("%s is unavailable: %s", self.what, _describe(exc))
        elif now - self._last_report >= self._every:
            self._last_report = now
            self._log.warning(
                "%s is still unavailable after %.0f s; %d failures so far",
                self.what, now - self._since, self._failures,
            )

    def recovered(self) -> None:
        """End the outage, if there is one (cheap to call after every success)."""
        if self._since is None:
            return
        self._log.warning(
            "%s is back after %.1f s; %d failures meanwhile",
            self.what, self._clock() - self._since, self._failures,
        )
        self._since = None
        self._failures = 0


def _describe(exc: BaseException) -> str:
    """The exception in one line: its type and first line of text (drivers' messages run long)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


Needed = Literal["database", "redis"]

# what the drivers raise when the server cannot reach the database or Redis (not when a
# query is wrong: a unique violation is an IntegrityError, not an outage)
OUTAGES: tuple[tuple[tuple[type[BaseException], ...], Needed], ...] = (
    ((sql_errors.OperationalError, sql_errors.InterfaceError, sql_errors.TimeoutError,
      asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
      asyncpg.TooManyConnectionsError), "database"),
    ((redis_errors.ConnectionError, redis_errors.TimeoutError), "redis"),
)
# a bare OSError (refused, reset, timed out) belongs to the driver whose code raised it
DRIVERS: dict[str, Needed] = {"asyncpg": "database", "sqlalchemy": "database",
                              "aiosqlite": "database", "redis": "redis"}


def outage_of(exc: BaseException) -> Needed | None:
    """What `exc` says is out of reach, if it is the symptom of an outage."""
    for kinds, needed in OUTAGES:
        if isinstance(exc, kinds):
            return needed
    if isinstance(exc, sql_errors.DBAPIError) and exc.connection_invalidated:
        return "database"
    if isinstance(exc, OSError):
        return _raised_by(exc)
    return None


def _raised_by(exc: BaseException) -> Needed | None:
    """The innermost driver in `exc`'s traceback."""
    found = None
    frame = exc.__traceback__
    while frame is not None:
        package = str(frame.tb_frame.f_globals.get("__name__", "")).partition(".")[0]
        found = DRIVERS.get(package, found)
        frame = frame.tb_next
    return found


class Faults:
    """This process's outages of what it needs from outside: one `Fault` each. Created by
    `create_app` and handed to whatever meets them (the error mapping, the clock, the
    worker heartbeat)."""

    def __init__(self, log: logging.Logger = log, every: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.database = Fault("the database", log, every, clock)
        self.redis = Fault("Redis", log, every, clock)

    def of(self, exc: BaseException) -> Fault | None:
        """The outage `exc` is a symptom of, if any."""
        needed = outage_of(exc)
        return None if needed is None else getattr(self, needed)

    def failed(self, exc: BaseException) -> bool:
        """Count `exc` in the outage it is a symptom of; False when it is not one (then the
        caller logs it with its traceback)."""
        fault = self.of(exc)
        if fault is not None:
            fault.failed(exc)
        return fault is not None

    def watch(self, engine: AsyncEngine) -> None:
        """End a database outage when the pool next hands out a connection: a fresh connect,
        or one that answered its pre-ping (PostgreSQL), so the database answered."""
        event.listen(engine.sync_engine, "checkout", self._database_answered)

    def _database_answered(self, *_: object) -> None:
        self.database.recovered()
