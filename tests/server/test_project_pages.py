"""Projects and municipalities in the browser, with each role's rights; a stage changed on
the page reaches a gathering its people are connected to."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.models import Municipality, Person, Project, ProjectContact
from tests.conftest import Connect, send
from tests.factories import World, add_participant
from tests.server import test_projects
from tests.server.browsing import Browser, csrf_of

projects = test_projects.projects  # the fixture: Askvik's and Brekke's projects
BREKKE = "&lt;b&gt;Brekke&lt;/b&gt; skolemat"  # its title, shown as text


async def browser_of(server: TestServer, sessions: async_sessionmaker, person: Person) -> Browser:
    return await test_projects.signed_in_browser(server, sessions, person.id)


async def test_my_projects_says_the_right_thing_to_each_role(
        world: World, projects: dict[str, int], server: TestServer,
        sessions: async_sessionmaker) -> None:
    nobody = await add_participant(sessions, world.theme, "ny@example.org", "Nina Ny")
    ask = "Ask your facilitator"
    async with await browser_of(server, sessions, world.facilitator) as frida:
        html = (await frida.get("/projects"))[1]
        assert 'href="/themes/mat/projects"' in html and "/municipalities" not in html
        assert "Spør" not in html and ask not in html
    async with await browser_of(server, sessions, world.lead) as lead:
        html = (await lead.get("/projects"))[1]
        assert 'href="/themes/areal/projects"' in html and 'href="/municipalities"' in html
        assert "Spør" not in html
    async with await browser_of(server, sessions, world.alice) as alice:
        html = (await alice.get("/projects"))[1]
        assert "Mindre matsvinn i kantina" in html and "Brekke" not in html
        assert f'href="/projects/{projects["askvik"]}"' in html
    async with await browser_of(server, sessions, nobody) as nina:
        html = (await nina.get("/projects"))[1]
        assert "ingen kommune" in html


async def test_the_facilitator_adds_edits_and_removes_a_project(
        world: World, projects: dict[str, int], server: TestServer,
        sessions: async_sessionmaker) -> None:
    async with await browser_of(server, sessions, world.facilitator) as frida:
        status, html, _ = await frida.submit("/themes/mat/projects", "/themes/mat/projects", {
            "municipality_id": str(world.alice.municipality_id), "title": "",
            "grant_year": "2025", "stage": "oppstart", "tags": "skolemat",
            "description": "Beholdes når skjemaet er feil"})
        assert status == 400 and 'role="alert"' in html
        assert "Beholdes når skjemaet er feil" in html  # nothing typed is lost
        status, _, response = await frida.submit(
            "/themes/mat/projects", "/themes/mat/projects", {
                "municipality_id": str(world.alice.municipality_id), "title": "Kompost",
                "grant_year": "2026", "stage": "oppstart", "tags": "kompost, Kompost",
                "description": "Kompost i skolen", "can_share": "Maler",
                "needs_help": "Innkjøp"}, allow_redirects=False)
        assert status == 303
        page = response.headers["Location"].split("?")[0]
        project_id = int(page.rsplit("/", 1)[1])
        status, html, _ = await frida.submit(page, page, {
            "back": "project", "title": "Kompost i skolen", "grant_year": "2026",
            "stage": "gjennomforing", "tags": "kompost", "description": "Ny",
            "can_share": "", "needs_help": "", "contacts_shown": "1",
            "contacts": str(world.alice.id)})
        assert status == 200 and "Kompost i skolen" in html and "Alice Askvik" in html
        assert html.count("<li><time") == 2  # the first stage and the change
        async with sessions() as s:
            assert await s.scalar(select(ProjectContact.person_id)) == world.alice.id
        html = (await frida.get("/themes/mat/projects"))[1]
        assert "Kompost i skolen" in html and BREKKE in html
        status, html, _ = await frida.submit(page, f"{page}/delete")
        assert status == 200 and "Kompost i skolen" not in html
        async with sessions() as s:
            assert await s.get(Project, project_id) is None


async def test_a_participant_edits_only_their_own_and_reads_the_theme(
        world: World, projects: dict[str, int], server: TestServer,
        sessions: async_sessionmaker) -> None:
    mine, theirs = f"/projects/{projects['askvik']}", f"/projects/{projects['brekke']}"
    async with await browser_of(server, sessions, world.alice) as alice:
        html = (await alice.get("/themes/mat/projects"))[1]
        assert BREKKE in html and 'action="/themes/mat/projects"' not in html
        status, html, _ = await alice.submit(mine, mine, {
            "back": "project", "stage": "videreforing", "tags": "kantine",
            "description": "Vi deler", "can_share": "Menyer", "needs_help": "Leverandører"})
        assert status == 200 and "Menyer" in html
        assert "Videreføring" in html and "Alice Askvik" in html  # history: who
        html = (await alice.get(theirs))[1]
        assert 'action="/projects/' not in html  # read only
        csrf = csrf_of((await alice.get(mine))[1])
        for path, form in [(theirs, {"stage": "oppstart"}),
                           (mine, {"stage": "oppstart", "title": "Kapret"}),
                           (f"{mine}/delete", {}),
                           ("/themes/mat/projects", {"municipality_id": "1", "title": "X",
                                                     "grant_year": "2025",
                                                     "stage": "oppstart"})]:
            status, _, _ = await alice.post(path, {"csrf_token": csrf, **form})
            assert status == 403, path
        assert (await alice.get("/municipalities"))[0] == 403
    async with sessions() as s:
        kept = await s.get(Project, projects["brekke"])
        assert kept is not None and kept.stage == "gjennomforing"
        assert len(list(await s.scalars(select(Project)))) == 2
    async with await browser_of(server, sessions, world.outsider) as ulf:
        assert (await ulf.get("/themes/mat/projects"))[0] == 403
        assert (await ulf.get(mine))[0] == 403


async def test_the_lead_adds_a_county_municipality(
        world: World, server: TestServer, sessions: async_sessionmaker) -> None:
    async with await browser_of(server, sessions, world.facilitator) as frida:
        assert (await frida.get("/municipalities"))[0] == 403
    async with await browser_of(server, sessions, world.lead) as lead:
        status, html, _ = await lead.submit("/municipalities", "/municipalities", {
            "name": "askvik", "county_name": ""})
        assert status == 400 and 'value="askvik"' in html
        status, html, _ = await lead.submit("/municipalities", "/municipalities", {
            "name": "Vestland fylkeskommune", "county": "1", "county_name": "Vestland"})
        assert status == 200 and "Vestland fylkeskommune (Vestland)" in html
    async with sessions() as s:
        county = await s.scalar(select(Municipality).where(Municipality.county))
        assert county is not None and county.county_name == "Vestland"


async def test_a_stage_changed_on_the_page_places_a_connected_person_by_it(
        world: World, projects: dict[str, int], server: TestServer,
        sessions: async_sessionmaker, connect: Connect) -> None:
    """Alice (oppstart) and Bjørn (gjennomføring) are in the room with Carl (gjennomføring)
    and Dina (oppstart). While connected, Alice's project moves to gjennomføring and Carl's to
    oppstart: the facilitator's next proposal by stage pairs Alice with Bjørn."""
    async with sessions() as s:
        places = [Municipality(name="Cvik kommune"), Municipality(name="Dvik kommune")]
        s.add_all(places)
        await s.flush()
        carl_project = Project(municipality_id=places[0].id, theme_id=world.theme.id,
                               title="C", stage="gjennomforing", tags=[], grant_year=2025)
        s.add_all([carl_project, Project(municipality_id=places[1].id, theme_id=world.theme.id,
                                         title="D", stage="oppstart", tags=[],
                                         grant_year=2025)])
        await s.commit()
        ids = [p.id for p in places] + [carl_project.id]
    carl = await add_participant(sessions, world.theme, "c@example.org", "Carl", ids[0])
    dina = await add_participant(sessions, world.theme, "d@example.org", "Dina", ids[1])
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    for person in (world.alice, world.bjorn, carl, dina):
        assert (await send(await connect(person), gid, "room.join"))["ok"]
    await send(frida, gid, "room.join")
    await send(frida, gid, "room.open")

    async def pairs() -> set[frozenset[str]]:
        assert (await send(frida, gid, "breakouts.propose", rule="same_stage",
                           group_size=2))["ok"]
        snapshot = (await send(frida, gid, "room.sync", since=10**6))["snapshot"]
        return {frozenset(m["name"] for m in g["members"])
                for g in snapshot["breakouts"]["groups"]}

    assert pairs_before(await pairs())
    mine = f"/projects/{projects['askvik']}"
    async with await browser_of(server, sessions, world.alice) as alice:
        status, _, _ = await alice.submit(mine, mine, {"back": "project",
                                                       "stage": "gjennomforing"})
        assert status == 200
    page = f"/projects/{ids[2]}"
    async with await browser_of(server, sessions, world.facilitator) as browser:
        assert (await browser.submit(page, page, {"back": "project", "stage": "oppstart"}))[0] \
            == 200
    assert await pairs() == {frozenset({"Alice Askvik", "Bjørn Brekke"}),
                             frozenset({"Carl", "Dina"})}


def pairs_before(groups: set[frozenset[str]]) -> bool:
    return groups == {frozenset({"Alice Askvik", "Dina"}), frozenset({"Bjørn Brekke", "Carl"})}
