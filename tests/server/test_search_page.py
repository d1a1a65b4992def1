"""The archive's search over a real server: a gathering's harvest becomes findable when its
summary is published and leaves when it is taken back; the page finds, escapes, links to
the exact place, keeps what was typed when a filter is wrong, and stops a flood."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp.test_utils import TestServer
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.forum_models import SearchDoc
from rooms.harvest import reharvest
from rooms.models import Person
from rooms.search import Findable, index
from server.pages.search import SEARCH_LIMIT
from server.pages.summary import summaries
from tests.conftest import Connect
from tests.factories import World
from tests.server.browsing import Browser, PageOutline
from tests.server.test_pages import XSS, signed_in
from tests.server.test_summary import ESCAPED, mallory, script  # noqa: F401  (fixture)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def test_a_published_gatherings_notes_and_questions_are_found_until_taken_back(
        server: TestServer, sessions: async_sessionmaker, world: World,
        mallory: Person, connect: Connect) -> None:  # noqa: F811  (the fixture)
    run = await script(world, mallory, connect, server)
    summary = f"/g/{run.gid}/summary"
    async with await signed_in(server, sessions, world.alice) as alice, \
            await signed_in(server, sessions, world.facilitator) as frida:
        _, page, _ = await alice.get("/search?q=skrev")
        assert "Ingen treff" in page  # a draft's notes are not in the archive
        await frida.submit(summary, summary, {"intro": "Vi snakket om innkjøpsmaler.",
                                              "action": "publish"})
        _, page, _ = await alice.get("/search?q=skrev")
        # each group's notes, linked to the group in the summary, with the gathering's name
        groups = [g for g, text in run.group_notes.items() if "skrev" in text]
        assert groups and page.count(f'href="{summary}#group-1-') == len(groups)
        assert "Gruppenotater" in page and "Samling 1" in page and "2026" in page
        assert "<mark>skrev</mark>" in page and XSS not in page
        _, page, _ = await alice.get("/search?q=innkjøpsmalene")  # the intro and plenary
        assert f'href="{summary}"' in page and f'href="{summary}#plenary-heading"' in page
        _, page, _ = await alice.get("/search?q=innkjøpsmaler&kind=summary")
        assert f'href="{summary}#plenary-heading"' not in page
        async with await signed_in(server, sessions, world.outsider) as ulf:
            assert "Ingen treff" in (await ulf.get("/search?q=skrev"))[1]

        # `forum search reindex` builds the same harvest again from the sources
        async with sessions() as session:
            await session.execute(delete(SearchDoc))
            await session.commit()
        assert "Ingen treff" in (await alice.get("/search?q=skrev"))[1]
        assert await reharvest(sessions, summaries(server.app)) == 1
        _, page, _ = await alice.get("/search?q=skrev")
        assert page.count(f'href="{summary}#group-1-') == len(groups)

        await frida.submit(summary, summary, {"intro": "Vi snakket om innkjøpsmaler.",
                                              "action": "unpublish"})
        _, page, _ = await alice.get("/search?q=skrev")
        assert "Ingen treff" in page and f"{summary}#group" not in page


async def test_the_search_page_finds_escapes_and_links_to_the_place(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    async with sessions() as session:
        await index(session, Findable(
            kind="help", ref="1", title=f"Kjøkkenet {XSS}", body=f"Vekta på kjøkkenet {XSS}",
            url="/themes/mat/help/1#top", year=2026, created_at=NOW, theme_id=world.theme.id,
            stage="oppstart", state="open"))
        await session.commit()
    async with await signed_in(server, sessions, world.alice) as alice:
        status, page, _ = await alice.get("/search?q=kjøkkenene&theme=mat&stage=oppstart")
        assert status == 200
        assert 'href="/themes/mat/help/1#top"' in page
        assert f"Kjøkkenet {ESCAPED}" in page and XSS not in page
        assert "<mark>kjøkkenet</mark>" in page
        assert "Spørsmål om hjelp" in page and "Mat og matsvinn" in page
        outline = PageOutline(page)
        assert len(outline.all("h1")) == 1 and not outline.unlabelled_inputs()
        _, page, _ = await alice.get("/search?q=kjøkkenene&stage=gjennomforing")
        assert "Ingen treff" in page

        # a wrong filter: a clear message, and what was typed is still there
        status, page, _ = await alice.get("/search?q=vekta+p%C3%A5&year=tjue")
        assert status == 400 and "Sjekk filtrene" in page and 'value="vekta på"' in page
        status, page, _ = await alice.get("/search?q=" + "ord+" * 60)
        assert status == 400 and "Søket er for langt" in page and "ord ord ord" in page
        status, page, _ = await alice.get("/search?q=vekta&theme=areal")  # not hers
        assert status == 400
    async with await signed_in(server, sessions, world.outsider) as ulf:
        assert "Ingen treff" in (await ulf.get("/search?q=kjøkkenet"))[1]
    async with Browser(server) as stranger:
        status, _, response = await stranger.get("/search?q=kjøkkenet", allow_redirects=False)
    assert status == 303 and response.headers["Location"] == "/"


async def test_searching_too_often_is_refused_for_a_while(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    server.app[SEARCH_LIMIT].count = 3  # of 30 a minute
    async with await signed_in(server, sessions, world.alice) as alice:
        for _ in range(3):
            assert (await alice.get("/search?q=kjøkken"))[0] == 200
        status, page, _ = await alice.get("/search?q=kjøkken")
        assert status == 429 and "Vent et minutt" in page
        assert (await alice.get("/search"))[0] == 200  # the empty form costs nothing
    async with await signed_in(server, sessions, world.bjorn) as bjorn:
        assert (await bjorn.get("/search?q=kjøkken"))[0] == 200  # per person
