"""Who may add, change and remove projects and municipalities; the stage history. On SQLite
and PostgreSQL (the `database_url` fixture)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.models import Municipality, Project, ProjectContact, ProjectStageChange
from rooms.projects import (
    NotAllowed,
    add_municipality,
    create_project,
    current_stages,
    delete_project,
    editable_fields,
    history,
    theme_projects,
    update_project,
)
from tests.factories import World


@pytest.fixture
def sessions(db: async_sessionmaker) -> async_sessionmaker:
    """Here the world is built once on SQLite and once on PostgreSQL."""
    return db


async def _project(sessions: async_sessionmaker, world: World, who: object = None,
                   place: int | None = None) -> int:
    return await create_project(
        sessions, who or world.facilitator, theme_id=world.theme.id,  # type: ignore[arg-type]
        municipality_id=place or world.alice.municipality_id, title="Skolemat",
        stage="oppstart", tags=("skole",), grant_year=2025)


async def test_the_facilitator_and_the_lead_manage_a_themes_projects(
        world: World, sessions: async_sessionmaker) -> None:
    made = await _project(sessions, world)
    by_lead = await _project(sessions, world, world.lead, world.bjorn.municipality_id)
    assert [p.id for p in await theme_projects(sessions, world.theme.id)] == [made, by_lead]
    assert await update_project(sessions, world.facilitator, made, title="Skolemat 2",
                                grant_year=2024, contacts=(world.alice.id,))
    async with sessions() as s:
        contact = await s.scalar(select(ProjectContact.person_id))
        assert contact == world.alice.id
    with pytest.raises(NotAllowed):  # a contact from another municipality
        await update_project(sessions, world.facilitator, made, contacts=(world.bjorn.id,))
    assert await delete_project(sessions, world.lead, by_lead)
    async with sessions() as s:
        assert await s.get(Project, by_lead) is None


@pytest.mark.parametrize("who", ["alice", "bjorn", "expert", "outsider"])
async def test_others_do_not_create_or_delete(who: str, world: World,
                                              sessions: async_sessionmaker) -> None:
    with pytest.raises(NotAllowed):
        await _project(sessions, world, getattr(world, who))
    made = await _project(sessions, world)
    assert not await delete_project(sessions, getattr(world, who), made)


async def test_a_participant_edits_only_their_municipalitys_project_and_only_its_details(
        world: World, sessions: async_sessionmaker) -> None:
    mine = await _project(sessions, world)
    theirs = await _project(sessions, world, place=world.bjorn.municipality_id)
    assert await editable_fields(sessions, world.alice, mine) == {
        "stage", "tags", "description", "can_share", "needs_help"}
    assert await editable_fields(sessions, world.alice, theirs) == frozenset()
    assert await update_project(sessions, world.alice, mine, stage="gjennomforing",
                                needs_help="Innkjøp")
    assert not await update_project(sessions, world.alice, mine, title="Nytt navn")
    assert not await update_project(sessions, world.alice, theirs, stage="videreforing")
    assert not await update_project(sessions, world.outsider, theirs, stage="videreforing")
    async with sessions() as s:
        project = await s.get(Project, mine)
        assert project is not None
        assert (project.stage, project.needs_help, project.title) == (
            "gjennomforing", "Innkjøp", "Skolemat")


async def test_every_stage_change_is_in_the_history_with_when_and_who(
        world: World, sessions: async_sessionmaker) -> None:
    made = await _project(sessions, world)
    await update_project(sessions, world.alice, made, stage="gjennomforing")
    await update_project(sessions, world.alice, made, tags=("skole", "innkjøp"))  # no stage
    await update_project(sessions, world.facilitator, made, stage="videreforing")
    changes = await history(sessions, made)
    assert [(c.stage, c.by) for c in changes] == [
        ("videreforing", "Frida Fasilitator"), ("gjennomforing", "Alice Askvik"),
        ("oppstart", "Frida Fasilitator")]
    assert changes[0].changed_at.tzinfo is not None
    assert await delete_project(sessions, world.facilitator, made)
    async with sessions() as s:
        assert list(await s.scalars(select(ProjectStageChange))) == []


async def test_current_stages_follow_the_newest_project(
        world: World, sessions: async_sessionmaker) -> None:
    made = await _project(sessions, world)
    people = {world.alice.id, world.bjorn.id}
    assert await current_stages(sessions, world.theme.id, people) == {
        world.alice.id: ("oppstart", ("skole",))}
    await update_project(sessions, world.alice, made, stage="videreforing")
    assert (await current_stages(sessions, world.theme.id, people))[world.alice.id][0] == \
        "videreforing"


async def test_only_the_lead_adds_municipalities_once(
        world: World, sessions: async_sessionmaker) -> None:
    with pytest.raises(NotAllowed):
        await add_municipality(sessions, world.facilitator, name="Dalvik", county=False,
                               county_name="")
    await add_municipality(sessions, world.lead, name=" Vestland  fylkeskommune", county=True,
                           county_name="Vestland")
    with pytest.raises(NotAllowed):
        await add_municipality(sessions, world.lead, name="askvik", county=False,
                               county_name="")
    async with sessions() as s:
        county = await s.scalar(select(Municipality).where(Municipality.county))
        assert county is not None
        assert (county.name, county.county_name) == ("Vestland fylkeskommune", "Vestland")
