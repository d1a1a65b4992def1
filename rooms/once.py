"""Scheduled work done once across workers (reminders, digests): a worker claims a job by
inserting its (kind, key) row; the insert that commits first wins, every other clashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.forum_models import OnceJob


async def claim(sessions: async_sessionmaker, kind: str, key: str, now: datetime) -> bool:
    """True for exactly one caller per (kind, key), whichever worker or process it is in."""
    try:
        async with sessions() as session, session.begin():
            session.add(OnceJob(kind=kind, key=key[:120], done_at=now))
    except IntegrityError:
        return False
    return True
