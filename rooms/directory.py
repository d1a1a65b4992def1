"""Who is who: people, their role per theme, and which gatherings they may see."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import Actor, Role
from rooms.models import Gathering, Membership, Person, Theme


async def role_in_theme(sessions: async_sessionmaker, person: Person, theme_id: int) -> Role | None:
    if person.is_programme_lead:
        return Role.PROGRAMME_LEAD
    async with sessions() as session:
        role = await session.scalar(
            select(Membership.role).where(
                Membership.person_id == person.id, Membership.theme_id == theme_id
            )
        )
    return None if role is None else Role(role)


async def actor_in_gathering(
    sessions: async_sessionmaker, person: Person, gathering: Gathering
) -> Actor | None:
    role = await role_in_theme(sessions, person, gathering.theme_id)
    if role is None:
        return None
    municipality = person.municipality.name if person.municipality else None
    return Actor(person_id=person.id, name=person.name, role=role, municipality=municipality)


async def visible_themes(sessions: async_sessionmaker, person: Person) -> list[tuple[Theme, Role]]:
    """The themes a person belongs to (all of them for the programme lead), with their role."""
    async with sessions() as session:
        if person.is_programme_lead:
            themes = await session.scalars(select(Theme).order_by(Theme.name))
            return [(t, Role.PROGRAMME_LEAD) for t in themes]
        rows = await session.execute(
            select(Theme, Membership.role)
            .join(Membership, Membership.theme_id == Theme.id)
            .where(Membership.person_id == person.id)
            .order_by(Theme.name)
        )
        return [(theme, Role(role)) for theme, role in rows]


async def gatherings_of(sessions: async_sessionmaker, theme_id: int) -> list[Gathering]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Gathering).where(Gathering.theme_id == theme_id).order_by(Gathering.starts_at)
        )
        return list(rows)
