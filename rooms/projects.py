"""Municipal projects: their stage and tags place people in breakout groups, so the people
of a municipality keep them up to date."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.models import Membership, Person, Project, ProjectStage, Theme


@dataclass(frozen=True)
class ProjectView:
    id: int
    title: str
    theme: str
    stage: str
    tags: tuple[str, ...]
    grant_year: int


async def stages(sessions: async_sessionmaker) -> list[ProjectStage]:
    async with sessions() as session:
        return list(await session.scalars(select(ProjectStage).order_by(ProjectStage.position)))


def _editable(person: Person) -> Select[Project, str]:
    """Projects of the person's municipality in the themes they belong to."""
    return (
        select(Project, Theme.name)
        .join(Theme, Theme.id == Project.theme_id)
        .join(Membership, (Membership.theme_id == Project.theme_id)
              & (Membership.person_id == person.id))
        .where(Project.municipality_id == person.municipality_id)
    )


async def projects_of(sessions: async_sessionmaker, person: Person) -> list[ProjectView]:
    if person.municipality_id is None:
        return []
    async with sessions() as session:
        rows = await session.execute(
            _editable(person).order_by(Theme.name, Project.grant_year.desc(), Project.title))
        return [ProjectView(p.id, p.title, theme, p.stage, tuple(p.tags or ()), p.grant_year)
                for p, theme in rows]


async def update_project(sessions: async_sessionmaker, person: Person, project_id: int, *,
                         stage: str, tags: tuple[str, ...]) -> bool:
    """Set a project's stage (a known slug) and tags; False when the person may not."""
    if person.municipality_id is None:
        return False
    async with sessions() as session:
        row = (await session.execute(
            _editable(person).where(Project.id == project_id))).first()
        if row is None:
            return False
        project = row[0]
        project.stage = stage
        project.tags = list(tags)
        await session.commit()
        return True
