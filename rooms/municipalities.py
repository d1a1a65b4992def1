"""The programme lead edits and deletes municipalities (adding is `rooms.projects
.add_municipality`). A name must not match another municipality's by `municipality_key`
(the rule used when adding and importing); a municipality is deleted only while no person
and no project belongs to it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rooms.models import Municipality, Person, Project
from rooms.projects import NotAllowed
from rooms.roster import municipality_key


@dataclass(frozen=True)
class MunicipalityUse:
    """How many people and projects belong to a municipality."""

    people: int
    projects: int

    @property
    def used(self) -> bool:
        return bool(self.people or self.projects)


class NameTaken(NotAllowed):
    """Another municipality has this name (by `municipality_key`)."""

    def __init__(self, other: str) -> None:
        super().__init__(f"{other} is already there")
        self.other = other


class InUse(NotAllowed):
    """People or projects still belong to the municipality."""

    def __init__(self, use: MunicipalityUse) -> None:
        super().__init__(f"{use.people} people and {use.projects} projects belong to it")
        self.use = use


def _lead_only(person: Person) -> None:
    if not person.is_programme_lead:
        raise NotAllowed("only the programme lead manages municipalities")


async def municipality(sessions: async_sessionmaker, municipality_id: int) -> Municipality | None:
    async with sessions() as session:
        return await session.get(Municipality, municipality_id)


async def municipality_use(sessions: async_sessionmaker, municipality_id: int) -> MunicipalityUse:
    async with sessions() as session:
        return await _use(session, municipality_id)


async def _use(session: AsyncSession, municipality_id: int) -> MunicipalityUse:
    people = await session.scalar(select(func.count()).select_from(Person).where(
        Person.municipality_id == municipality_id))
    projects = await session.scalar(select(func.count()).select_from(Project).where(
        Project.municipality_id == municipality_id))
    return MunicipalityUse(people or 0, projects or 0)


async def update_municipality(sessions: async_sessionmaker, person: Person, municipality_id: int,
                              *, name: str, county: bool, county_name: str) -> bool:
    """Rename and re-county a municipality; False when there is none. NameTaken when the
    name matches another municipality's."""
    _lead_only(person)
    written = " ".join(name.split())
    async with sessions() as session:
        place = await session.get(Municipality, municipality_id)
        if place is None:
            return False
        for known in await session.scalars(select(Municipality).where(
                Municipality.id != municipality_id)):
            if municipality_key(known.name) == municipality_key(written):
                raise NameTaken(known.name)
        place.name, place.county = written, county
        place.county_name = " ".join(county_name.split())
        await session.commit()
        return True


async def delete_municipality(sessions: async_sessionmaker, person: Person,
                              municipality_id: int) -> bool:
    """Delete a municipality nobody and no project belongs to; False when there is none,
    InUse while some do."""
    _lead_only(person)
    async with sessions() as session:
        place = await session.get(Municipality, municipality_id, with_for_update=True)
        if place is None:
            return False
        use = await _use(session, municipality_id)
        if use.used:
            raise InUse(use)
        await session.delete(place)
        await session.commit()
        return True
