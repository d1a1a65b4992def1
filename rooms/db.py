"""Engines and sessions: SQLite (aiosqlite) by default, PostgreSQL (asyncpg) in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Executable, Row, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from rooms.fulltext import fts_text

DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg",
           "postgres": "postgresql+asyncpg"}


def async_url(url: str) -> str:
    """Accept plain `sqlite:///` and `postgresql://` URLs and pick the async driver."""
    parsed = make_url(url)
    driver = DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(False) if driver else url


def create_engine(url: str) -> AsyncEngine:
    url = async_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # the archive's FTS5 triggers stem with it (rooms/fulltext.py, migration 0007)
    dbapi_connection.create_function("forum_fts_text", 1, fts_text, deterministic=True)


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


async def read_row(sessions: async_sessionmaker, statement: Executable) -> Row[Any] | None:
    """The one row (or none) a read of plain columns gives, on a connection of the sessions'
    engine without an ORM session: half the CPU of a session's, for the reads every
    connection and every join makes (a thousand of each when a conference starts)."""
    engine: AsyncEngine = sessions.kw["bind"]
    async with engine.connect() as connection:
        return (await connection.execute(statement)).one_or_none()


@asynccontextmanager
async def session_or_new(sessions: async_sessionmaker,
                         session: AsyncSession | None) -> AsyncIterator[AsyncSession]:
    """The caller's session (inside its transaction), or a new one for this call alone."""
    if session is not None:
        yield session
    else:
        async with sessions() as own:
            yield own


@asynccontextmanager
async def write_locked(sessions: async_sessionmaker, space: int,
                       key: str) -> AsyncIterator[AsyncSession]:
    """A session holding a write lock named (space, key) across all worker processes
    until it commits or ends. PostgreSQL: a transaction advisory lock, waiters queue in
    order. SQLite: BEGIN IMMEDIATE takes the database's write lock up front."""
    async with sessions() as session:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            await session.execute(select(func.pg_advisory_xact_lock(space, func.hashtext(key))))
        elif dialect == "sqlite":
            await session.execute(text("BEGIN IMMEDIATE"))
        yield session
