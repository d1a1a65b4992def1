"""Municipal projects: their stage and tags place people in breakout groups.

Who may do what (`may_manage`, `_editable`): the programme lead manages every theme's
projects and the municipalities; a theme's facilitator manages the theme's projects
(create, edit every field, delete); a participant edits their own municipality's projects
in their themes (stage, tags, description, what they share and need). Every stage a
project takes, its first included, is a ProjectStageChange (when, by whom)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitation import Role
from rooms.models import (
    Membership,
    Municipality,
    Person,
    Project,
    ProjectContact,
    ProjectStage,
    ProjectStageChange,
    Theme,
)
from rooms.roster import municipality_key

# the fields a participant may change on their own municipality's project
PARTICIPANT_FIELDS = frozenset({"stage", "tags", "description", "can_share", "needs_help"})
ALL_FIELDS = PARTICIPANT_FIELDS | {"title", "grant_year", "contacts"}


@dataclass(frozen=True)
class ProjectView:
    id: int
    title: str
    theme: str
    stage: str
    tags: tuple[str, ...]
    grant_year: int
    municipality: str = ""
    description: str = ""
    can_share: str = ""
    needs_help: str = ""
    theme_slug: str = ""
    contacts: tuple[tuple[int, str], ...] = ()  # (person id, name)
    municipality_id: int = 0


@dataclass(frozen=True)
class StageChangeView:
    stage: str
    changed_at: datetime
    by: str | None


class NotAllowed(Exception):
    """The person may not do this to this project."""


async def stages(sessions: async_sessionmaker) -> list[ProjectStage]:
    async with sessions() as session:
        return list(await session.scalars(select(ProjectStage).order_by(ProjectStage.position)))


async def may_manage(sessions: async_sessionmaker, person: Person, theme_id: int) -> bool:
    """The programme lead, and the theme's facilitators."""
    if person.is_programme_lead:
        return True
    async with sessions() as session:
        role = await session.scalar(select(Membership.role).where(
            Membership.person_id == person.id, Membership.theme_id == theme_id))
    return role == Role.FACILITATOR.value


def _editable(person: Person) -> Select[Project, str]:
    """Projects of the person's municipality in the themes they are a participant of."""
    return (
        select(Project, Theme.name)
        .join(Theme, Theme.id == Project.theme_id)
        .join(Membership, (Membership.theme_id == Project.theme_id)
              & (Membership.person_id == person.id))
        .where(Project.municipality_id == person.municipality_id,
               Membership.role == Role.PARTICIPANT.value)
    )


async def _views(session: AsyncSession, query: Select[Project, str]
                 ) -> list[ProjectView]:
    rows = list(await session.execute(query))
    ids = [p.id for p, _ in rows]
    places = {m.id: m.name for m in await session.scalars(select(Municipality))}
    slugs = {i: slug for i, slug in await session.execute(select(Theme.id, Theme.slug))}
    contacts: dict[int, list[tuple[int, str]]] = {}
    if ids:
        for project_id, person_id, name in await session.execute(
                select(ProjectContact.project_id, Person.id, Person.name)
                .join(Person, Person.id == ProjectContact.person_id)
                .where(ProjectContact.project_id.in_(ids)).order_by(Person.name)):
            contacts.setdefault(project_id, []).append((person_id, name))
    return [ProjectView(p.id, p.title, theme, p.stage, tuple(p.tags or ()), p.grant_year,
                        places.get(p.municipality_id, ""), p.description, p.can_share,
                        p.needs_help, slugs.get(p.theme_id, ""),
                        tuple(contacts.get(p.id, ())), p.municipality_id)
            for p, theme in rows]


async def projects_of(sessions: async_sessionmaker, person: Person) -> list[ProjectView]:
    """The projects the person keeps as a participant (their municipality's)."""
    if person.municipality_id is None:
        return []
    async with sessions() as session:
        return await _views(session, _editable(person).order_by(
            Theme.name, Project.grant_year.desc(), Project.title))


async def theme_projects(sessions: async_sessionmaker, theme_id: int) -> list[ProjectView]:
    """Every project of the theme, by municipality."""
    async with sessions() as session:
        query = (select(Project, Theme.name).join(Theme, Theme.id == Project.theme_id)
                 .join(Municipality, Municipality.id == Project.municipality_id)
                 .where(Project.theme_id == theme_id)
                 .order_by(Municipality.name, Project.grant_year.desc(), Project.title))
        return await _views(session, query)


async def project(sessions: async_sessionmaker, project_id: int) -> ProjectView | None:
    async with sessions() as session:
        found = await _views(session, select(Project, Theme.name)
                             .join(Theme, Theme.id == Project.theme_id)
                             .where(Project.id == project_id))
        return found[0] if found else None


async def theme_of(sessions: async_sessionmaker, project_id: int) -> int | None:
    async with sessions() as session:
        return await session.scalar(select(Project.theme_id).where(Project.id == project_id))


async def editable_fields(sessions: async_sessionmaker, person: Person,
                          project_id: int) -> frozenset[str]:
    """What the person may change on the project: every field, a participant's, or none."""
    theme_id = await theme_of(sessions, project_id)
    if theme_id is None:
        return frozenset()
    if await may_manage(sessions, person, theme_id):
        return ALL_FIELDS
    if person.municipality_id is None:
        return frozenset()
    async with sessions() as session:
        row = (await session.execute(_editable(person).where(Project.id == project_id))).first()
    return PARTICIPANT_FIELDS if row is not None else frozenset()


async def history(sessions: async_sessionmaker, project_id: int) -> list[StageChangeView]:
    """The project's stages, newest first."""
    async with sessions() as session:
        rows = await session.execute(
            select(ProjectStageChange, Person.name)
            .outerjoin(Person, Person.id == ProjectStageChange.person_id)
            .where(ProjectStageChange.project_id == project_id)
            .order_by(ProjectStageChange.changed_at.desc(), ProjectStageChange.id.desc()))
        return [StageChangeView(c.stage, c.changed_at, name) for c, name in rows]


async def _set_contacts(session: AsyncSession, project: Project,
                        contacts: tuple[int, ...]) -> None:
    """Contacts are people of the project's municipality; others are refused."""
    allowed = set(await session.scalars(select(Person.id).where(
        Person.municipality_id == project.municipality_id, Person.id.in_(contacts))))
    if set(contacts) - allowed:
        raise NotAllowed("a contact must be a person of the project's municipality")
    await session.execute(delete(ProjectContact).where(
        ProjectContact.project_id == project.id))
    session.add_all(ProjectContact(project_id=project.id, person_id=c) for c in contacts)


def _stage_change(project: Project, person: Person) -> ProjectStageChange:
    return ProjectStageChange(project_id=project.id, stage=project.stage,
                              changed_at=datetime.now(UTC), person_id=person.id)


async def create_project(sessions: async_sessionmaker, person: Person, *, theme_id: int,
                         municipality_id: int, title: str, stage: str,
                         tags: tuple[str, ...] = (), grant_year: int, description: str = "",
                         can_share: str = "", needs_help: str = "",
                         contacts: tuple[int, ...] = ()) -> int:
    if not await may_manage(sessions, person, theme_id):
        raise NotAllowed("only the theme's facilitator and the programme lead add projects")
    async with sessions() as session:
        if await session.get(Municipality, municipality_id) is None:
            raise NotAllowed("no such municipality")
        created = Project(theme_id=theme_id, municipality_id=municipality_id, title=title,
                          stage=stage, tags=list(tags), grant_year=grant_year,
                          description=description, can_share=can_share,
                          needs_help=needs_help)
        session.add(created)
        await session.flush()
        session.add(_stage_change(created, person))
        await _set_contacts(session, created, contacts)
        await session.commit()
        return created.id


async def update_project(sessions: async_sessionmaker, person: Person, project_id: int,
                         **changes: object) -> bool:
    """Change the given fields; False (and nothing changed) when the person may not change
    one of them. A new stage is written to the project's history."""
    allowed = await editable_fields(sessions, person, project_id)
    if not allowed or not set(changes) <= allowed:
        return False
    async with sessions() as session:
        found = await session.get(Project, project_id)
        if found is None:
            return False
        contacts = changes.pop("contacts", None)
        stage_before = found.stage
        for name, value in changes.items():
            setattr(found, name, list(value) if name == "tags" else value)  # type: ignore[call-overload]
        if contacts is not None:
            await _set_contacts(session, found, tuple(contacts))  # type: ignore[arg-type]
        if found.stage != stage_before:
            session.add(_stage_change(found, person))
        await session.commit()
        return True


async def delete_project(sessions: async_sessionmaker, person: Person, project_id: int) -> bool:
    theme_id = await theme_of(sessions, project_id)
    if theme_id is None or not await may_manage(sessions, person, theme_id):
        return False
    async with sessions() as session:
        await session.execute(delete(ProjectContact).where(
            ProjectContact.project_id == project_id))
        await session.execute(delete(ProjectStageChange).where(
            ProjectStageChange.project_id == project_id))
        await session.execute(delete(Project).where(Project.id == project_id))
        await session.commit()
        return True


async def municipalities(sessions: async_sessionmaker) -> list[Municipality]:
    async with sessions() as session:
        return list(await session.scalars(select(Municipality).order_by(Municipality.name)))


async def municipality_people(sessions: async_sessionmaker,
                              municipality_id: int) -> list[tuple[int, str]]:
    async with sessions() as session:
        rows = await session.execute(select(Person.id, Person.name).where(
            Person.municipality_id == municipality_id).order_by(Person.name))
        return [(i, n) for i, n in rows]


async def add_municipality(sessions: async_sessionmaker, person: Person, *, name: str,
                           county: bool, county_name: str) -> Municipality:
    """The programme lead adds a municipality (or a county municipality)."""
    if not person.is_programme_lead:
        raise NotAllowed("only the programme lead adds municipalities")
    written = " ".join(name.split())
    async with sessions() as session:
        for known in await session.scalars(select(Municipality)):
            if municipality_key(known.name) == municipality_key(written):
                raise NotAllowed(f"{known.name} is already there")
        place = Municipality(name=written, county=county, county_name=county_name.strip())
        session.add(place)
        await session.commit()
        return place


async def current_stages(sessions: async_sessionmaker, theme_id: int,
                         person_ids: set[int]) -> dict[int, tuple[str, tuple[str, ...]]]:
    """Each person's stage and tags in the theme now: their municipality's newest project
    there (as rooms/directory.py `project_of`). People without one are left out."""
    if not person_ids:
        return {}
    async with sessions() as session:
        rows = await session.execute(
            select(Person.id, Project)
            .join(Project, Project.municipality_id == Person.municipality_id)
            .where(Person.id.in_(person_ids), Project.theme_id == theme_id)
            .order_by(Project.grant_year, Project.id))
        # the newest project comes last and wins
        return {person_id: (p.stage, tuple(p.tags or ())) for person_id, p in rows}
