"""The grant list against the forum's database: a dry run, or the import in one transaction.

The rules are `rooms.grant_import`'s; here the forum is read into its `Known` and a plan's
good rows are written: municipalities (with their county), projects (a new one at the first
project stage, with that first stage in its history), contact people, their contact role
on the project and a participant's membership in the project's theme. Broken rows are left
out; the rest go in together or not at all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rooms.grant_import import (
    FIELDS,
    GrantRow,
    Known,
    Plan,
    ProjectKey,
    is_county,
    make_plan,
    municipality_key,
    municipality_name,
    title_key,
)
from rooms.models import (
    ImportMapping,
    Membership,
    Municipality,
    Person,
    Project,
    ProjectContact,
    ProjectStage,
    ProjectStageChange,
    Theme,
)


class NoStages(LookupError):
    def __init__(self) -> None:
        super().__init__("the forum has no project stages: a new project needs a first stage")


class UnknownMapping(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no saved mapping {name!r}; saved: {', '.join(known) or 'none'}")


@dataclass
class _Forum:
    """The rows of the forum an import touches, by the keys the rules use."""

    themes: dict[str, Theme]
    municipalities: dict[str, Municipality]
    projects: dict[ProjectKey, Project]
    people: dict[str, Person]
    contacts: set[tuple[int, int]]
    memberships: set[tuple[int, int]]

    def known(self) -> Known:
        themes_by_id = {t.id: slug for slug, t in self.themes.items()}
        places = {m.id: key for key, m in self.municipalities.items()}
        project_keys = {p.id: key for key, p in self.projects.items()}
        emails = {p.id: email for email, p in self.people.items()}
        return Known(
            themes={slug: t.name for slug, t in self.themes.items()},
            municipalities={key: m.county_name for key, m in self.municipalities.items()},
            projects={key: (p.grant_year, p.amount) for key, p in self.projects.items()},
            contacts={(project_keys[p], emails[person]) for p, person in self.contacts
                      if p in project_keys and person in emails},
            people={email: places.get(p.municipality_id) if p.municipality_id else None
                    for email, p in self.people.items()},
            memberships={(emails[person], themes_by_id[theme])
                         for person, theme in self.memberships
                         if person in emails and theme in themes_by_id})


async def _read_forum(session: AsyncSession) -> _Forum:
    themes = {t.slug: t for t in await session.scalars(select(Theme))}
    municipalities: dict[str, Municipality] = {}
    for m in await session.scalars(select(Municipality).order_by(Municipality.id)):
        municipalities.setdefault(municipality_key(m.name), m)
    places = {m.id: key for key, m in municipalities.items()}
    slugs = {t.id: slug for slug, t in themes.items()}
    projects: dict[ProjectKey, Project] = {}
    for p in await session.scalars(select(Project).order_by(Project.id)):
        if p.municipality_id in places and p.theme_id in slugs:
            projects.setdefault((places[p.municipality_id], slugs[p.theme_id],
                                 title_key(p.title)), p)
    people = {p.email.lower(): p for p in await session.scalars(select(Person))}
    contacts = {(c.project_id, c.person_id) for c in await session.scalars(
        select(ProjectContact))}
    memberships = {(m.person_id, m.theme_id) for m in await session.scalars(
        select(Membership))}
    return _Forum(themes, municipalities, projects, people, contacts, memberships)


async def saved_mapping(sessions: async_sessionmaker, name: str) -> dict[str, str]:
    async with sessions() as session:
        mapping = await session.scalar(select(ImportMapping).where(ImportMapping.name == name))
        if mapping is None:
            raise UnknownMapping(name, list(await session.scalars(
                select(ImportMapping.name).order_by(ImportMapping.name))))
        return {f: h for f, h in (mapping.columns or {}).items() if f in FIELDS}


async def save_mapping(sessions: async_sessionmaker, name: str,
                       columns: Mapping[str, str]) -> None:
    """Keep a mapping (field -> header as written) under a name, replacing one of that name."""
    async with sessions() as session:
        mapping = await session.scalar(select(ImportMapping).where(ImportMapping.name == name))
        if mapping is None:
            mapping = ImportMapping(name=name)
            session.add(mapping)
        mapping.columns = {f: h for f, h in columns.items() if f in FIELDS}
        mapping.updated_at = datetime.now(UTC)
        await session.commit()


async def import_grants(sessions: async_sessionmaker, data: bytes, *,
                        mapping: Mapping[str, str] | None = None, apply: bool = False,
                        by: int | None = None) -> Plan:
    """The plan for the file; with `apply`, its good rows written in one transaction (read
    and written in it, so the plan applied is the plan returned). FileProblem when the file
    cannot be read; NoStages when a new project would have no stage to start at."""
    async with sessions() as session:
        forum = await _read_forum(session)
        plan = make_plan(data, forum.known(), mapping)
        if not apply or not any(r.action != "skip" for r in plan.rows):
            return plan
        await _write(session, forum, plan, by)
        await session.commit()
        return plan


async def _write(session: AsyncSession, forum: _Forum, plan: Plan, by: int | None) -> None:
    """The plan's rows that change something, written in a few batches (one flush each), in
    the caller's transaction."""
    rows = [step.row for step in plan.rows if step.action != "skip"]
    first_stage = await session.scalar(
        select(ProjectStage.slug).order_by(ProjectStage.position).limit(1))
    if first_stage is None and any(r.project_key not in forum.projects for r in rows):
        raise NoStages
    for row in rows:
        place = forum.municipalities.get(row.municipality_key)
        if place is None:
            place = Municipality(name=municipality_name(row.municipality),
                                 county=is_county(row.municipality),
                                 county_name=row.county_name)
            session.add(place)
            forum.municipalities[row.municipality_key] = place
        elif row.county_name:
            place.county_name = row.county_name
    await session.flush()
    created = []
    for row in rows:
        place = forum.municipalities[row.municipality_key]
        project = forum.projects.get(row.project_key)
        if project is None:
            project = Project(municipality_id=place.id, theme_id=forum.themes[row.theme].id,
                              title=row.title, stage=first_stage, tags=[],
                              grant_year=row.grant_year, amount=row.amount)
            session.add(project)
            forum.projects[row.project_key] = project
            created.append(project)
        else:
            project.grant_year = row.grant_year
            if row.amount is not None:
                project.amount = row.amount
        if row.contact_email:
            person = forum.people.get(row.contact_email)
            if person is None:
                person = Person(email=row.contact_email, name=row.contact_name,
                                municipality_id=place.id)
                session.add(person)
                forum.people[row.contact_email] = person
            elif person.municipality_id is None:
                person.municipality_id = place.id
    await session.flush()
    now = datetime.now(UTC)
    session.add_all(ProjectStageChange(project_id=p.id, stage=p.stage, changed_at=now,
                                       person_id=by) for p in created)
    for row in rows:
        if row.contact_email:
            await _contact(session, forum, row)


async def _contact(session: AsyncSession, forum: _Forum, row: GrantRow) -> None:
    """The row's contact person on its project, and a participant in its theme."""
    person = forum.people[row.contact_email]
    project = forum.projects[row.project_key]
    theme = forum.themes[row.theme]
    if (project.id, person.id) not in forum.contacts:
        session.add(ProjectContact(project_id=project.id, person_id=person.id))
        forum.contacts.add((project.id, person.id))
    if (person.id, theme.id) not in forum.memberships:
        session.add(Membership(person_id=person.id, theme_id=theme.id, role="participant"))
        forum.memberships.add((person.id, theme.id))
