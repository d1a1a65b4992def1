"""The theme's page as its home between gatherings: what is next, what is new since the
last visit (and the count in the menu), and only what the reader may read."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.forum_models import (
    AdvanceQuestion,
    AdvanceVote,
    Announcement,
    FollowUp,
    HelpAnswer,
    HelpRequest,
    SignUp,
)
from tests.factories import World, add_gathering
from tests.server.browsing import PageOutline
from tests.server.test_pages import signed_in

NEXT_AGENDA = [("welcome", "Innsjekk og runde", 10), ("expert_talk", "Innlegg om kjøkkensvinn", 25),
               ("breakout", "Grupper etter fase", 30)]


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


async def add(sessions: async_sessionmaker, *rows: Any) -> list[Any]:
    async with sessions() as session, session.begin():
        session.add_all(rows)
    return list(rows)


def new_count(page: str) -> str:
    found = re.search(r'<p id="news-count">([^<]*)</p>', page)
    assert found, "the page has no count of new items"
    return found.group(1)


def nav_entry(page: str, slug: str) -> str:
    nav = page.split('<nav class="site-nav"', 1)[1].split("</nav>", 1)[0]
    found = re.search(rf'<a href="/themes/{slug}">(.*?)</a>', nav, re.S)
    assert found, f"no link to {slug} in the menu"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


async def test_a_member_sees_the_next_gathering_its_agenda_draft_and_questions(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    past = await add_gathering(sessions, world.theme, 2, starts_at=ago(days=30))
    cancelled = await add_gathering(sessions, world.theme, 3, starts_at=ago(days=-5),
                                    title="Avlyst samling")
    async with sessions() as session, session.begin():
        row = await session.get(type(cancelled), cancelled.id)
        assert row is not None
        row.cancelled_at = ago(days=1)
    upcoming = await add_gathering(sessions, world.theme, 4, starts_at=ago(days=-12),
                                   agenda=NEXT_AGENDA, title="Vårsamlingen")
    popular, lonely = await add(
        sessions,
        AdvanceQuestion(gathering_id=upcoming.id, author_id=world.bjorn.id,
                        text="Hvordan veier dere matsvinnet?", created_at=ago(days=2)),
        AdvanceQuestion(gathering_id=upcoming.id, author_id=world.alice.id,
                        text="Hva med <b>frukt</b>?", created_at=ago(days=3)))
    await add(sessions,
              AdvanceVote(question_id=popular.id, person_id=world.alice.id),
              AdvanceVote(question_id=popular.id, person_id=world.facilitator.id),
              SignUp(gathering_id=upcoming.id, person_id=world.alice.id, answer="coming",
                     updated_at=ago(days=1)),
              SignUp(gathering_id=upcoming.id, person_id=world.bjorn.id, answer="coming",
                     updated_at=ago(days=1)),
              SignUp(gathering_id=upcoming.id, person_id=world.observer.id,
                     answer="not_coming", updated_at=ago(days=1)))

    async with await signed_in(server, sessions, world.alice) as alice:
        status, page, _ = await alice.get("/themes/mat")
    assert status == 200
    next_part = page.split('id="next-heading"', 1)[1].split("</section>", 1)[0]
    assert "Vårsamlingen" in next_part and f'href="/g/{upcoming.id}"' in next_part
    assert "Avlyst samling" not in next_part and past.title not in next_part
    assert [t in next_part for t in ("Innsjekk og runde", "Innlegg om kjøkkensvinn",
                                     "Grupper etter fase")] == [True] * 3
    assert "25 min" in next_part
    # the question with most votes first; what people typed is shown as text
    assert next_part.index("Hvordan veier dere") < next_part.index("Hva med")
    assert "Hva med &lt;b&gt;frukt&lt;/b&gt;?" in next_part and "2 stemmer" in next_part
    assert "2 kommer, 1 kommer ikke, 0 sender en kollega" in next_part
    assert f'href="/gatherings/{upcoming.id}/signup"' in next_part
    assert f"/gatherings/{upcoming.id}/expected" not in next_part  # for runners only
    # the thread of gatherings: a past one links to what I bring home
    assert f'href="/g/{past.id}/take-home"' in page
    assert f'href="/g/{upcoming.id}/take-home"' not in page
    for link in ("/themes/mat/peers", "/search?theme=mat", "/themes/mat/announcements",
                 "/themes/mat/follow-ups"):
        assert f'href="{link}"' in page
    outline = PageOutline(page)
    assert not outline.unlabelled_inputs()
    assert [h["id"] for h in outline.all("h2")][:5] == [
        "next-heading", "news-heading", "follow-ups-heading", "help-heading",
        "announcements-heading"]

    async with await signed_in(server, sessions, world.facilitator) as frida:
        _, page, _ = await frida.get("/themes/mat")
    assert f'href="/gatherings/{upcoming.id}/expected"' in page


async def test_unread_marks_appear_and_clear_on_the_next_visit(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    old, request = await add(
        sessions,
        HelpRequest(theme_id=world.theme.id, author_id=world.bjorn.id, title="Gammelt spørsmål",
                    body="...", created_at=ago(days=20)),
        HelpRequest(theme_id=world.theme.id, author_id=world.bjorn.id,
                    title="Hvordan måler dere svinn i skolekjøkken?", body="...",
                    created_at=ago(days=2)))
    await add(sessions,
              HelpRequest(theme_id=world.theme.id, author_id=world.alice.id,
                          title="Alices eget spørsmål", body="...", created_at=ago(hours=1)),
              FollowUp(theme_id=world.theme.id, municipality_id=world.bjorn.municipality_id,
                       text="Prøve veiing i to uker", created_at=ago(days=3),
                       updated_at=ago(hours=5), updated_by=world.bjorn.id, status="doing"))

    async with await signed_in(server, sessions, world.alice) as alice:
        _, page, _ = await alice.get("/gatherings")
        assert nav_entry(page, "mat") == "Mat og matsvinn (2 nye)"
        _, page, _ = await alice.get("/themes/mat")  # the first visit: the last 14 days
        assert new_count(page) == "2 nye saker"
        news = page.split('id="news-heading"', 1)[1].split("</section>", 1)[0]
        assert "Hvordan måler dere svinn" in news and "Prøve veiing" in news
        assert f'href="/themes/mat/help/{request.id}"' in news
        assert "Gammelt spørsmål" not in news and "Alices eget" not in news
        assert nav_entry(page, "mat") == "Mat og matsvinn"  # counted as seen on this page
        # open follow-ups and help requests, whatever is new
        assert "Prøve veiing i to uker" in page.split('id="follow-ups-heading"', 1)[1]
        helps = page.split('id="help-heading"', 1)[1].split("</section>", 1)[0]
        assert "Gammelt spørsmål" in helps and f'href="/themes/mat/help/{old.id}"' in helps

        _, page, _ = await alice.get("/themes/mat")  # seen: nothing new any more
        assert new_count(page) == "0 nye saker"
        assert 'class="new"' not in page

        await add(sessions, HelpAnswer(request_id=request.id, author_id=world.bjorn.id,
                                       body="Vi veier hver fredag.", created_at=ago(seconds=0)))
        _, page, _ = await alice.get("/projects")
        assert nav_entry(page, "mat") == "Mat og matsvinn (1 ny)"
        _, page, _ = await alice.get("/themes/mat")
        assert new_count(page) == "1 ny sak"
        assert f"/themes/mat/help/{request.id}#answer-" in page


async def test_an_announcement_to_one_municipality_is_invisible_to_the_others(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    askvik = world.alice.municipality_id
    assert askvik is not None
    await add(sessions,
              Announcement(theme_id=world.theme.id, author_id=world.facilitator.id,
                           title="Bare for Askvik", body="Hei Askvik", municipality_ids=[askvik],
                           created_at=ago(hours=3)),
              Announcement(theme_id=world.theme.id, author_id=world.facilitator.id,
                           title="Til hele temaet", body="Hei alle", created_at=ago(hours=2)),
              Announcement(theme_id=None, author_id=world.lead.id, title="Til alle temaer",
                           body="Hei", created_at=ago(hours=1)))

    async def theme_page(who: Any) -> str:
        async with await signed_in(server, sessions, who) as browser:
            _, page, _ = await browser.get("/gatherings")
            count = nav_entry(page, "mat")
            status, page, _ = await browser.get("/themes/mat")
            assert status == 200
            return count + "\n" + page

    alice, bjorn, frida = [await theme_page(p) for p in (world.alice, world.bjorn,
                                                          world.facilitator)]
    assert "Bare for Askvik" in alice and "(3 nye)" in alice.split("\n", 1)[0]
    assert "Bare for Askvik" not in bjorn and "(2 nye)" in bjorn.split("\n", 1)[0]
    assert "Til hele temaet" in bjorn and "Til alle temaer" in bjorn
    assert "/themes/mat/announcements/" in bjorn  # the every-theme one opens in his theme
    assert "Bare for Askvik" in frida  # the facilitator reads every audience
    async with await signed_in(server, sessions, world.outsider) as ulf:
        status, page, _ = await ulf.get("/themes/mat")
        assert status == 403
        _, page, _ = await ulf.get("/gatherings")
        assert nav_entry(page, "areal") == "Arealplanlegging (1 ny)"  # the every-theme one
        assert '<a href="/themes/mat">' not in page
