"""The programme lead edits and deletes municipalities on `/municipalities/{id}/edit`: a
name matching another municipality's is refused, a municipality people or projects belong to
is not deleted, and nobody else may do either."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.models import Municipality, Project
from tests.factories import World
from tests.server.browsing import csrf_of
from tests.server.test_project_pages import browser_of


async def _add(sessions: async_sessionmaker, name: str) -> int:
    async with sessions() as s:
        place = Municipality(name=name)
        s.add(place)
        await s.commit()
        return place.id


async def test_the_lead_edits_a_municipality(
        world: World, server: TestServer, sessions: async_sessionmaker) -> None:
    place = await _add(sessions, "Dalen kommune")
    edit = f"/municipalities/{place}/edit"
    async with await browser_of(server, sessions, world.lead) as lead:
        html = (await lead.get("/municipalities"))[1]
        assert f'href="{edit}"' in html
        status, html, _ = await lead.submit(edit, edit, {
            "name": "Dalen  fylkeskommune", "county": "1", "county_name": "Telemark"})
        assert status == 200 and 'role="status"' in html
        assert 'value="Dalen fylkeskommune"' in html and 'value="Telemark"' in html
        # the same name by the rule used when adding: "askvik" is "Askvik kommune"
        status, html, _ = await lead.submit(edit, edit, {
            "name": "ASKVIK", "county_name": "Vestland"})
        assert status == 400 and "Askvik kommune" in html
        assert 'value="ASKVIK"' in html and 'value="Vestland"' in html  # what was typed
        status, html, _ = await lead.submit(edit, edit, {"name": "D", "county_name": "x"})
        assert status == 400 and 'value="D"' in html and 'aria-invalid="true"' in html
        # its own name, written otherwise, is not another's
        status, _, _ = await lead.submit(edit, edit, {"name": "dalen fylkeskommune"})
        assert status == 200
        assert (await lead.get("/municipalities/999999/edit"))[0] == 404
    async with sessions() as s:
        saved = await s.get(Municipality, place)
        assert saved is not None and saved.name == "dalen fylkeskommune"
        assert not saved.county and saved.county_name == ""


async def test_the_lead_deletes_an_unused_municipality_after_confirming(
        world: World, server: TestServer, sessions: async_sessionmaker) -> None:
    place = await _add(sessions, "Tomme kommune")
    edit, delete = f"/municipalities/{place}/edit", f"/municipalities/{place}/delete"
    async with await browser_of(server, sessions, world.lead) as lead:
        status, html, _ = await lead.submit(edit, delete, {})  # the box not ticked
        assert status == 400 and 'role="alert"' in html
        async with sessions() as s:
            assert await s.get(Municipality, place) is not None
        status, html, _ = await lead.submit(edit, delete, {"confirm": "yes"})
        assert status == 200 and "Tomme kommune" not in html and 'role="status"' in html
    async with sessions() as s:
        assert await s.get(Municipality, place) is None


async def test_a_municipality_in_use_is_not_deleted(
        world: World, server: TestServer, sessions: async_sessionmaker) -> None:
    askvik = world.alice.municipality_id
    assert askvik is not None
    async with sessions() as s:
        s.add_all([Project(municipality_id=askvik, theme_id=world.theme.id, title=title,
                           stage="oppstart", tags=[], grant_year=2025)
                   for title in ("Kompost", "Sykkel")])
        await s.commit()
    edit, delete = f"/municipalities/{askvik}/edit", f"/municipalities/{askvik}/delete"
    async with await browser_of(server, sessions, world.lead) as lead:
        status, html, _ = await lead.get(edit)
        assert status == 200 and f'action="{delete}"' not in html
        assert "1 person" in html and "2 prosjekter" in html
        csrf = csrf_of(html)
        status, html, _ = await lead.post(delete, {"csrf_token": csrf, "confirm": "yes"})
        assert status == 400 and "1 person" in html and "2 prosjekter" in html
    async with sessions() as s:
        assert await s.get(Municipality, askvik) is not None


async def test_only_the_lead_edits_or_deletes(
        world: World, server: TestServer, sessions: async_sessionmaker) -> None:
    place = await _add(sessions, "Dalen kommune")
    edit, delete = f"/municipalities/{place}/edit", f"/municipalities/{place}/delete"
    for person in (world.facilitator, world.alice):
        async with await browser_of(server, sessions, person) as someone:
            status, html, _ = await someone.get(edit)
            assert status == 403
            csrf = csrf_of((await someone.get("/projects"))[1])
            for path, form in ((edit, {"name": "Kapret"}), (delete, {"confirm": "yes"})):
                assert (await someone.post(path, {"csrf_token": csrf, **form}))[0] == 403
    async with await browser_of(server, sessions, world.lead) as lead:
        # without the form's token, nothing is done
        status, _, _ = await lead.post(delete, {"confirm": "yes"})
        assert status in (400, 403)
    async with sessions() as s:
        names = set(await s.scalars(select(Municipality.name)))
        assert "Dalen kommune" in names and "Kapret" not in names
