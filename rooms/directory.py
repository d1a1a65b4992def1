"""Who is who: people, their role per theme, and which gatherings they may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitation import Actor, Role
from rooms.accounts import hash_token, still_valid
from rooms.db import read_row
from rooms.models import (
    Gathering,
    Membership,
    Municipality,
    Person,
    Project,
    ProjectStage,
    Theme,
    WebSession,
)


@dataclass(frozen=True)
class GatheringHeader:
    """What the room needs of a gathering's row on every join: whose theme it is, whether it
    was cancelled, and the title bar of its snapshot (`view`)."""

    id: str
    theme_id: int
    theme: str
    title: str
    number: int
    year: int
    starts_at: datetime
    planned_minutes: int
    cancelled: bool

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "number": self.number, "year": self.year,
                "theme": self.theme, "starts_at": self.starts_at.isoformat(),
                "planned_minutes": self.planned_minutes}


async def gathering_header(sessions: async_sessionmaker, gathering_id: str
                           ) -> GatheringHeader | None:
    """One row, without the agenda items `Gathering` loads with it."""
    async with sessions() as session:
        row = (await session.execute(
            select(Gathering.id, Gathering.theme_id, Theme.name, Gathering.title,
                   Gathering.number, Gathering.year, Gathering.starts_at,
                   Gathering.planned_minutes, Gathering.cancelled_at.is_not(None))
            .join(Theme, Theme.id == Gathering.theme_id)
            .where(Gathering.id == gathering_id))).one_or_none()
    return None if row is None else GatheringHeader(*row)


def _member_of(theme_id: int) -> Select[*tuple[Any, ...]]:
    """A person's row as a member of the theme: name, lead, municipality, role in the theme,
    and the stage and tags of their municipality's newest project in it (outer joins: a
    person who is not a member has no role)."""
    return (select(Person.id, Person.name, Person.is_programme_lead, Municipality.name,
                   Membership.role, Project.stage, Project.tags)
            .outerjoin(Municipality, Municipality.id == Person.municipality_id)
            .outerjoin(Membership, and_(Membership.person_id == Person.id,
                                        Membership.theme_id == theme_id))
            .outerjoin(Project, and_(Project.municipality_id == Person.municipality_id,
                                     Project.theme_id == theme_id))
            .order_by(Project.grant_year.desc(), Project.id.desc())  # the newest project
            .limit(1))


def _member(row: Any) -> Actor | None:
    person_id, name, lead, municipality, role, stage, tags = tuple(row)[:7]
    if lead:
        role = Role.PROGRAMME_LEAD
    if role is None:
        return None
    return Actor(person_id=person_id, name=name, role=Role(role), municipality=municipality,
                 stage=stage, tags=tuple(tags or ()))


async def member_actor(sessions: async_sessionmaker, person_id: int,
                       theme_id: int) -> Actor | None:
    """The person as an actor of a theme's gathering, in one query of plain columns: None if
    they are not (or no longer) a member of the theme. Asked once per connection and
    gathering, a thousand times in a minute when a conference starts."""
    row = await read_row(sessions, _member_of(theme_id).where(Person.id == person_id))
    return None if row is None else _member(row)


async def session_member(sessions: async_sessionmaker, token: str,
                         theme_id: int) -> tuple[int, Actor | None] | None:
    """Whose valid session `token` is, and that person as a member of the theme (None if
    they are not one), in one query: a connection that names its gathering as it opens."""
    row = await read_row(sessions, _member_of(theme_id).add_columns(WebSession.expires_at)
                         .join(WebSession, WebSession.person_id == Person.id)
                         .where(WebSession.token_hash == hash_token(token)))
    if row is None or not still_valid(row.expires_at):
        return None
    return int(row.id), _member(row)


def _actor(person: Person, role: Role, project: Project | None) -> Actor:
    municipality = person.municipality.name if person.municipality else None
    return Actor(person_id=person.id, name=person.name, role=role, municipality=municipality,
                 stage=project.stage if project else None,
                 tags=tuple(project.tags) if project else ())


async def _project(session: AsyncSession, municipality_id: int | None,
                   theme_id: int) -> Project | None:
    if municipality_id is None:
        return None
    return await session.scalar(
        select(Project)
        .where(Project.municipality_id == municipality_id, Project.theme_id == theme_id)
        .order_by(Project.grant_year.desc(), Project.id.desc())
        .limit(1)
    )


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


async def project_of(
    sessions: async_sessionmaker, municipality_id: int | None, theme_id: int
) -> Project | None:
    """The municipality's newest project in the theme: its stage places them in breakouts."""
    async with sessions() as session:
        return await _project(session, municipality_id, theme_id)


async def actor_in_gathering(
    sessions: async_sessionmaker, person: Person, gathering: Gathering
) -> Actor | None:
    role = await role_in_theme(sessions, person, gathering.theme_id)
    if role is None:
        return None
    project = await project_of(sessions, person.municipality_id, gathering.theme_id)
    return _actor(person, role, project)


async def theme_people(sessions: async_sessionmaker, theme_id: int) -> frozenset[int]:
    """Everyone with a role in the theme, and the programme leads (who are in every theme)."""
    async with sessions() as session:
        members = await session.scalars(
            select(Membership.person_id).where(Membership.theme_id == theme_id))
        leads = await session.scalars(select(Person.id).where(Person.is_programme_lead))
        return frozenset(members) | frozenset(leads)


async def stage_names(sessions: async_sessionmaker) -> tuple[tuple[str, str], ...]:
    async with sessions() as session:
        rows = await session.execute(
            select(ProjectStage.slug, ProjectStage.name).order_by(ProjectStage.position))
        return tuple((slug, name) for slug, name in rows)


async def earlier_gatherings(sessions: async_sessionmaker, gathering: Gathering) -> list[str]:
    """Ids of the theme's gatherings that started before this one."""
    async with sessions() as session:
        rows = await session.scalars(
            select(Gathering.id).where(Gathering.theme_id == gathering.theme_id,
                                       Gathering.starts_at < gathering.starts_at))
        return list(rows)


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


async def theme_members(sessions: async_sessionmaker, theme_id: int) -> list[tuple[Person, Role]]:
    """The theme's people with their roles, by name (the programme leads are not listed)."""
    async with sessions() as session:
        rows = await session.execute(
            select(Person, Membership.role)
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.theme_id == theme_id)
            .order_by(Person.name, Person.id))
        return [(person, Role(role)) for person, role in rows]


async def names_of(sessions: async_sessionmaker, person_ids: set[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    async with sessions() as session:
        rows = await session.execute(
            select(Person.id, Person.name).where(Person.id.in_(person_ids)))
        return {person_id: name for person_id, name in rows}


async def theme_by_slug(sessions: async_sessionmaker, slug: str) -> Theme | None:
    async with sessions() as session:
        return await session.scalar(select(Theme).where(Theme.slug == slug))
