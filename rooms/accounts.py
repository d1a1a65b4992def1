"""Invitations (sign-in links) and browser sessions. Only hashes of tokens are stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.db import read_row
from rooms.models import Invitation, Person, WebSession


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite gives naive datetimes back; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def create_invitation(
    sessions: async_sessionmaker, person_id: int, *, days: int, reusable: bool = False
) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    async with sessions() as session:
        session.add(Invitation(token_hash=hash_token(token), person_id=person_id, created_at=now,
                               expires_at=now + timedelta(days=days), reusable=reusable))
        await session.commit()
    return token


async def redeem_invitation(sessions: async_sessionmaker, token: str) -> Person | None:
    """The invited person, if the link is valid; a single-use link is spent atomically."""
    now = utcnow()
    async with sessions() as session:
        invitation = await session.scalar(
            select(Invitation).where(Invitation.token_hash == hash_token(token))
        )
        if (invitation is None or invitation.revoked_at is not None
                or _aware(invitation.expires_at) <= now):
            return None
        if not invitation.reusable:
            spent = await session.execute(
                update(Invitation)
                .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
                .values(used_at=now)
            )
            if spent.rowcount != 1:
                return None
        await session.commit()
        return await session.get(Person, invitation.person_id)


async def invitations_since(sessions: async_sessionmaker, person_id: int,
                            since: datetime) -> int:
    """How many sign-in links the person was given after `since` (every worker sees them)."""
    async with sessions() as session:
        count = await session.scalar(
            select(func.count(Invitation.id)).where(
                Invitation.person_id == person_id, Invitation.created_at > since))
        return int(count or 0)


async def revoke_invitations(sessions: async_sessionmaker, person_id: int) -> None:
    async with sessions() as session:
        await session.execute(
            update(Invitation)
            .where(Invitation.person_id == person_id, Invitation.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        await session.commit()


async def start_session(sessions: async_sessionmaker, person_id: int, *, days: int) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    async with sessions() as session:
        session.add(WebSession(token_hash=hash_token(token), person_id=person_id, created_at=now,
                               expires_at=now + timedelta(days=days)))
        await session.commit()
    return token


async def person_for_session(sessions: async_sessionmaker, token: str | None) -> Person | None:
    if not token:
        return None
    async with sessions() as session:  # one query: every page asks it
        row = (await session.execute(
            select(WebSession.expires_at, Person)
            .join(Person, Person.id == WebSession.person_id)
            .where(WebSession.token_hash == hash_token(token)))).one_or_none()
    if row is None or _aware(row.expires_at) <= utcnow():
        return None
    person: Person = row.Person
    return person


async def person_id_for_session(sessions: async_sessionmaker, token: str | None) -> int | None:
    """Whose session `token` is, if it is still valid: what a socket connection asks."""
    if not token:
        return None
    row = await read_row(sessions, select(WebSession.person_id, WebSession.expires_at)
                         .where(WebSession.token_hash == hash_token(token)))
    if row is None or not still_valid(row.expires_at):
        return None
    return int(row.person_id)


def still_valid(expires_at: datetime) -> bool:
    return _aware(expires_at) > utcnow()


async def end_session(sessions: async_sessionmaker, token: str) -> None:
    async with sessions() as session:
        web_session = await session.scalar(
            select(WebSession).where(WebSession.token_hash == hash_token(token))
        )
        if web_session is not None:
            await session.delete(web_session)
            await session.commit()


async def person_by_email(sessions: async_sessionmaker, email: str) -> Person | None:
    async with sessions() as session:
        return await session.scalar(select(Person).where(Person.email == email.strip().lower()))
