"""Enrolling people in themes, and listing gatherings: data access for the `forum` CLI."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import Role
from rooms.models import Gathering, Membership, Municipality, Person, Theme


class UnknownTheme(LookupError):
    def __init__(self, slug: str, known: list[str]) -> None:
        super().__init__(f"no theme {slug!r}; known themes: {', '.join(known) or 'none'}")


class UnknownMunicipality(LookupError):
    def __init__(self, name: str, similar: list[str]) -> None:
        hint = f"; did you mean {' or '.join(repr(n) for n in similar)}?" if similar else ""
        super().__init__(f"no municipality {name!r}{hint} (--new-municipality creates it)")


class AmbiguousMunicipality(LookupError):
    def __init__(self, name: str, matches: list[str]) -> None:
        super().__init__(f"{name!r} could be {' or '.join(repr(n) for n in matches)}: "
                         "write the name in full")


def municipality_key(name: str) -> str:
    """A municipality's name as an operator may type it: "askvik" and "Askvik  Kommune" are
    "Askvik kommune" (a county's "fylkeskommune" is part of its name)."""
    words = name.casefold().split()
    return " ".join(words[:-1] if len(words) > 1 and words[-1] == "kommune" else words)


async def _municipality(session: Any, name: str, *, create: bool) -> Municipality:
    """The municipality the name means; with `create`, a new one when none matches."""
    known = {m.name: m for m in await session.scalars(select(Municipality))}
    key = municipality_key(name)
    matches = [m for m in known.values() if municipality_key(m.name) == key]
    if len(matches) > 1:
        raise AmbiguousMunicipality(name, sorted(m.name for m in matches))
    if matches:
        return matches[0]
    if not create:
        by_key = {municipality_key(n): n for n in known}
        similar = difflib.get_close_matches(key, by_key, n=3)
        raise UnknownMunicipality(name, [by_key[k] for k in similar])
    written = " ".join(name.split())
    municipality = Municipality(name=written, county=key.endswith("fylkeskommune"))
    session.add(municipality)
    await session.flush()
    return municipality


async def _theme(session: Any, slug: str) -> Theme:
    theme = await session.scalar(select(Theme).where(Theme.slug == slug))
    if theme is None:
        raise UnknownTheme(slug, list(await session.scalars(select(Theme.slug))))
    return theme


async def enrol(sessions: async_sessionmaker, *, theme_slug: str, role: Role, email: str,
                name: str | None = None, municipality: str | None = None,
                new_municipality: bool = False) -> Person:
    """The person with this address (created if new) with `role` in the theme; the name and
    the municipality given are set, also for a person who was there."""
    email = email.strip().lower()
    async with sessions() as session:
        theme = await _theme(session, theme_slug)
        place = None if municipality is None else await _municipality(
            session, municipality, create=new_municipality)
        person = await session.scalar(select(Person).where(Person.email == email))
        if person is None:
            person = Person(email=email, name=name or email.split("@")[0], municipality=place)
            session.add(person)
            await session.flush()
        else:
            person.name = name or person.name
            person.municipality = place or person.municipality
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
