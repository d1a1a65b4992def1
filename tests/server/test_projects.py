"""A municipality's people keep its project's stage and tags current; breakouts use them."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import create_invitation
from rooms.models import Project
from tests.conftest import Connect, send
from tests.factories import World
from tests.server.browsing import Browser, csrf_of


@pytest.fixture
async def projects(world: World, sessions: async_sessionmaker) -> dict[str, int]:
    async with sessions() as s:
        askvik = Project(municipality_id=world.alice.municipality_id, theme_id=world.theme.id,
                         title="Mindre matsvinn i kantina", stage="oppstart", tags=["kantine"],
                         grant_year=2025)
        brekke = Project(municipality_id=world.bjorn.municipality_id, theme_id=world.theme.id,
                         title="<b>Brekke</b> skolemat", stage="gjennomforing", tags=[],
                         grant_year=2024)
        s.add_all([askvik, brekke])
        await s.commit()
        return {"askvik": askvik.id, "brekke": brekke.id}


async def signed_in_browser(server: TestServer, sessions: async_sessionmaker,
                            person_id: int) -> Browser:
    browser = Browser(server)
    token = await create_invitation(sessions, person_id, days=1)
    await browser.sign_in(token)
    return browser


async def test_a_participant_updates_their_projects_stage_and_breakouts_see_it(
        world: World, projects: dict[str, int], server: TestServer,
        sessions: async_sessionmaker, connect: Connect) -> None:
    async with await signed_in_browser(server, sessions, world.alice.id) as alice:
        status, html, _ = await alice.get("/projects")
        assert status == 200
        assert "Mindre matsvinn i kantina" in html
        assert "Brekke" not in html  # another municipality's project
        assert 'value="oppstart" selected' in html
        status, html, response = await alice.post(
            f"/projects/{projects['askvik']}",
            {"csrf_token": csrf_of(html), "stage": "videreforing",
             "tags": "Kantine, innkjøp, kantine,  "},
            allow_redirects=False)
        saved = f"/projects?saved={projects['askvik']}"
        assert (status, response.headers["Location"]) == (303, saved)
        status, html, _ = await alice.get(saved)
        assert 'value="videreforing" selected' in html
        assert 'value="kantine, innkjøp"' in html
        assert "Lagret." in html
    client = await connect(world.alice)
    you = (await send(client, world.gathering.id, "room.join"))["snapshot"]["you"]
    assert (you["stage"], you["tags"]) == ("videreforing", ["kantine", "innkjøp"])


@pytest.mark.parametrize("form", [
    {"stage": "ukjent", "tags": ""},
    {"stage": "oppstart", "tags": ",".join(f"t{n}" for n in range(9))},
    {"stage": "oppstart", "tags": "x" * 41},
    {"tags": "a"},
])
async def test_bad_project_forms_are_refused_and_change_nothing(
        form: dict[str, str], world: World, projects: dict[str, int], server: TestServer,
        sessions: async_sessionmaker) -> None:
    async with await signed_in_browser(server, sessions, world.alice.id) as alice:
        _, html, _ = await alice.get("/projects")
        status, html, _ = await alice.post(f"/projects/{projects['askvik']}",
                                           {"csrf_token": csrf_of(html), **form})
        assert status == 400
        assert 'role="alert"' in html
    async with sessions() as s:
        project = await s.get(Project, projects["askvik"])
        assert project is not None and (project.stage, project.tags) == ("oppstart", ["kantine"])


async def test_another_municipalitys_project_cannot_be_changed(
        world: World, projects: dict[str, int], server: TestServer,
        sessions: async_sessionmaker) -> None:
    async with await signed_in_browser(server, sessions, world.alice.id) as alice:
        _, html, _ = await alice.get("/projects")
        status, _, _ = await alice.post(f"/projects/{projects['brekke']}",
                                        {"csrf_token": csrf_of(html), "stage": "oppstart",
                                         "tags": ""})
        assert status == 403
    async with sessions() as s:
        project = await s.get(Project, projects["brekke"])
        assert project is not None and project.stage == "gjennomforing"


async def test_the_project_page_needs_a_sign_in(server: TestServer) -> None:
    async with Browser(server) as anonymous:
        status, _, response = await anonymous.get("/projects", allow_redirects=False)
        assert (status, response.headers["Location"]) == (303, "/")
