"""Enrolling people in themes, and listing gatherings: data access for the `forum` CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import Role
from rooms.models import Gathering, Membership, Person, Theme


class UnknownTheme(LookupError):
    def __init__(self, slug: str, known: list[str]) -> None:
        super().__init__(f"no theme {slug!r}; known themes: {', '.join(known) or 'none'}")


async def _theme(session: Any, slug: str) -> Theme:
    theme = await session.scalar(select(Theme).where(Theme.slug == slug))
    if theme is None:
        raise UnknownTheme(slug, list(await session.scalars(select(Theme.slug))))
    return theme


async def enrol(sessions: async_sessionmaker, *, theme_slug: str, role: Role, email: str,
                name: str | None = None) -> Person:
    """The person with this address (created if new) with `role` in the theme."""
    email = email.strip().lower()
    async with sessions() as session:
        theme = await _theme(session, theme_slug)
        person = await session.scalar(select(Person).where(Person.email == email))
        if person is None:
            person = Person(email=email, name=name or email.split("@")[0])
            session.add(person)
            await session.flush()
        elif name:
            person.name = name
        if role is Role.PROGRAMME_LEAD:
            person.is_programme_lead = True
        membership = await session.scalar(select(Membership).where(
            Membership.person_id == person.id, Membership.theme_id == theme.id))
        if membership is None:
            session.add(Membership(person_id=person.id, theme_id=theme.id, role=role.value))
        else:
            membership.role = role.value
        await session.commit()
        return person


@dataclass(frozen=True)
class GatheringRow:
    id: str
    theme: str
    year: int
    number: int
    title: str
    starts_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "theme": self.theme, "year": self.year, "number": self.number,
                "title": self.title, "starts_at": self.starts_at.isoformat()}


async def gathering_rows(sessions: async_sessionmaker,
                         theme_slug: str | None = None) -> list[GatheringRow]:
    async with sessions() as session:
        query = select(Gathering, Theme.slug).join(Theme, Theme.id == Gathering.theme_id)
        if theme_slug is not None:
            query = query.where(Gathering.theme_id == (await _theme(session, theme_slug)).id)
        rows = await session.execute(query.order_by(Theme.slug, Gathering.year,
                                                    Gathering.number))
        return [GatheringRow(g.id, slug, g.year, g.number, g.title, _utc(g.starts_at))
                for g, slug in rows]


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite: naive UTC
