"""Announcements over real HTTP, with mail to a real SMTP server in the test process: a
facilitator announces to the theme (the members get the mail, one who stopped such mail
does not), or to chosen municipalities (no one else sees it or gets it); participants
cannot announce but reply; a text too long is refused and kept in the form; the lead writes
to every theme; Markdown is rendered safely; posting is rate-limited; the archive indexes
each announcement and reply with its audience."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestServer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.forum_models import Announcement, AnnouncementReply, SearchDoc
from rooms.models import Person
from server.pages.announcements import LIMITS
from tests.factories import World
from tests.mailbox import Inbox, parts
from tests.server.browsing import Browser
from tests.server.test_pages import signed_in

NEW = "/themes/mat/announcements/new"
BODY = "Vi har **nye tall** fra skolekjøkkenene.\n\n- Askvik: 12 %\n- Brekke: 9 %"


async def announce(browser: Browser, page: str = NEW, action: str = NEW,
                   **fields: str | list[str]) -> tuple[int, str, str]:
    data = {"title": "Nye tall om matsvinn", "body": BODY, **fields}
    status, html, response = await browser.submit(page, action, data,  # type: ignore[arg-type]
                                                   allow_redirects=False)
    return status, html, response.headers.get("Location", "")


async def stored(sessions: async_sessionmaker) -> list[Announcement]:
    async with sessions() as session:
        return list(await session.scalars(select(Announcement).order_by(Announcement.id)))


async def docs(sessions: async_sessionmaker, kind: str) -> list[SearchDoc]:
    async with sessions() as session:
        return list(await session.scalars(select(SearchDoc).where(SearchDoc.kind == kind)))


async def stop_mail(sessions: async_sessionmaker, person: Person) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(Person).where(Person.id == person.id)
                              .values(mail_opt_out=True))


async def forged(browser: Browser, path: str, data: dict[str, str] | None = None) -> int:
    """A post to `path` from someone whose pages have no such form (with a valid token)."""
    _, page, _ = await browser.get("/themes/mat")
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert token, "no form token on the theme page"
    status, _, _ = await browser.post(path, {"csrf_token": token.group(1), **(data or {})})
    return status


def recipients(inbox: Inbox) -> set[str]:
    return {m["To"].addresses[0].addr_spec for m in inbox.messages}


async def test_a_facilitator_announces_to_the_theme_and_its_members_get_the_mail(
        mail_server: TestServer, inbox: tuple[Inbox, int], sessions: async_sessionmaker,
        world: World) -> None:
    await stop_mail(sessions, world.bjorn)
    async with await signed_in(mail_server, sessions, world.facilitator) as frida:
        status, _, location = await announce(frida, email="1")
        [made] = await stored(sessions)
        assert status == 303
        assert location == f"/themes/mat/announcements/{made.id}?posted=1&mailed=4"
        status, page, _ = await frida.get(location)
        assert status == 200 and "<strong>nye tall</strong>" in page
        assert "sendt på e-post til 4 personer" in page
    # everyone in the theme but its author and the one who stopped such mail; no one
    # outside the theme (the lead is in no theme as a member)
    mails = await inbox[0].wait_for(4)
    assert recipients(inbox[0]) == {world.cofacilitator.email, world.alice.email,
                                    world.expert.email, world.observer.email}
    assert made.emailed is True and made.municipality_ids == []
    text, html = parts(inbox[0].to(world.alice.email)[0])
    text = text.replace("\r\n", "\n")
    assert mails[0]["Subject"] == "Kunngjøring: Nye tall om matsvinn"
    assert BODY in text and "Frida Fasilitator" in text  # the Markdown as written
    assert "<strong>nye tall</strong>" in html and "<li>Askvik: 12 %</li>" in html
    assert f"https://forum.example.org/themes/mat/announcements/{made.id}" in text
    assert mails[0]["List-Unsubscribe"]  # not essential: one click stops it
    [doc] = await docs(sessions, "announcement")
    assert (doc.theme_id, doc.audience) == (world.theme.id, [])
    assert doc.url == f"/themes/mat/announcements/{made.id}#announcement-{made.id}"
    async with await signed_in(mail_server, sessions, world.alice) as alice:
        status, page, _ = await alice.get("/themes/mat/announcements")
        assert status == 200 and "Nye tall om matsvinn" in page and "Sendt på e-post." in page
    async with await signed_in(mail_server, sessions, world.outsider) as ulf:
        assert (await ulf.get("/themes/mat/announcements"))[0] == 403
        assert (await ulf.get(f"/themes/mat/announcements/{made.id}"))[0] == 403
        _, page, _ = await ulf.get("/themes/areal/announcements")
        assert "Nye tall om matsvinn" not in page
        assert (await ulf.get(f"/themes/areal/announcements/{made.id}"))[0] == 404


async def test_an_announcement_to_chosen_municipalities_reaches_no_one_else(
        mail_server: TestServer, inbox: tuple[Inbox, int], sessions: async_sessionmaker,
        world: World) -> None:
    askvik = world.alice.municipality_id
    assert askvik is not None
    async with await signed_in(mail_server, sessions, world.facilitator) as frida:
        _, page, _ = await frida.get(NEW)
        assert "Askvik kommune" in page and "Brekke kommune" in page
        status, _, location = await announce(frida, title="Bare for Askvik", audience="chosen",
                                             municipalities=[str(askvik)], email="1")
        assert status == 303 and location.endswith("mailed=2")
        # "chosen" with none chosen: said, and nothing kept back
        status, page, _ = await announce(frida, title="Til ingen", audience="chosen")
        assert status == 400 and "Velg minst én av temaets kommuner." in page
        assert 'value="Til ingen"' in page
    [made] = await stored(sessions)
    assert made.municipality_ids == [askvik]
    await inbox[0].wait_for(2)
    assert recipients(inbox[0]) == {world.alice.email, world.cofacilitator.email}
    async with await signed_in(mail_server, sessions, world.bjorn) as bjorn:
        _, page, _ = await bjorn.get("/themes/mat/announcements")
        assert "Bare for Askvik" not in page
        url = f"/themes/mat/announcements/{made.id}"
        assert (await bjorn.get(url))[0] == 404
        assert await forged(bjorn, NEW, {"title": "Hei", "body": "Hei"}) == 403
    async with await signed_in(mail_server, sessions, world.alice) as alice:
        status, page, _ = await alice.get(f"/themes/mat/announcements/{made.id}")
        assert status == 200 and "Bare til: Askvik kommune." in page
        status, _, _ = await alice.submit(f"/themes/mat/announcements/{made.id}",
                                          f"/themes/mat/announcements/{made.id}/replies",
                                          {"body": "Takk!"}, allow_redirects=False)
        assert status == 303
    [announced] = await docs(sessions, "announcement")
    [replied] = await docs(sessions, "reply")
    assert announced.audience == replied.audience == [askvik]
    async with await signed_in(mail_server, sessions, world.bjorn) as bjorn:
        assert await forged(bjorn, f"/themes/mat/announcements/{made.id}/replies",
                            {"body": "Jeg også"}) == 404


async def test_a_participant_cannot_announce_but_replies_and_deletes_their_own_reply(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    async with await signed_in(server, sessions, world.facilitator) as frida:
        assert (await announce(frida))[0] == 303
    [made] = await stored(sessions)
    page = f"/themes/mat/announcements/{made.id}"
    async with await signed_in(server, sessions, world.alice) as alice:
        assert (await alice.get(NEW))[0] == 403
        assert (await alice.get("/announcements/new"))[0] == 403
        assert await forged(alice, NEW, {"title": "Min", "body": "Min tekst"}) == 403
        _, html, _ = await alice.get("/themes/mat/announcements")
        assert f'href="{NEW}"' not in html and "1 svar" not in html
        status, _, response = await alice.submit(
            page, f"{page}/replies", {"body": "Vi måler *alt* i **kilo**. <script>x()</script>"},
            allow_redirects=False)
        assert status == 303
        async with sessions() as session:
            [reply] = list(await session.scalars(select(AnnouncementReply)))
        assert response.headers["Location"] == f"{page}?replied=1#reply-{reply.id}"
        _, html, _ = await alice.get(page)
        assert "<em>alt</em>" in html and "&lt;script&gt;x()&lt;/script&gt;" in html
        assert "<script>x()" not in html and "Slett svaret" in html
        assert "Slett kunngjøringen" not in html
        [doc] = await docs(sessions, "reply")
        assert doc.url == f"{page}#reply-{reply.id}" and doc.title == made.title
    async with await signed_in(server, sessions, world.bjorn) as bjorn:
        _, html, _ = await bjorn.get(page)
        assert "Vi måler" in html and "Slett svaret" not in html
        _, html, _ = await bjorn.get("/themes/mat/announcements")
        assert "1 svar" in html
        status, _, _ = await bjorn.submit(page, f"{page}/replies",
                                          {"body": "."}, allow_redirects=False)
        assert status == 303
        assert await forged(bjorn, f"{page}/replies/{reply.id}/delete") == 403
    async with await signed_in(server, sessions, world.alice) as alice:
        status, _, _ = await alice.submit(page, f"{page}/replies/{reply.id}/delete",
                                          allow_redirects=False)
        assert status == 303
    assert [d.ref for d in await docs(sessions, "reply")] != [str(reply.id)]
    async with await signed_in(server, sessions, world.facilitator) as frida:
        status, _, response = await frida.submit(page, f"{page}/delete", allow_redirects=False)
        assert status == 303 and response.headers["Location"].endswith("deleted=1")
    assert await stored(sessions) == []
    assert await docs(sessions, "reply") == [] and await docs(sessions, "announcement") == []


async def test_a_text_too_long_is_refused_and_kept_in_the_form(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    long_body = "Mange ord om matsvinn. " * 870 + "<b>slutt</b>"  # over 20 000 characters
    assert len(long_body) > 20_000
    async with await signed_in(server, sessions, world.facilitator) as frida:
        status, page, _ = await announce(frida, title="Lang tekst", body=long_body)
        assert status == 400
        assert "Skriv kunngjøringen: 1 til 20 000 tegn." in page
        assert 'value="Lang tekst"' in page and "&lt;b&gt;slutt&lt;/b&gt;</textarea>" in page
        assert 'aria-invalid="true"' in page and 'href="#field-body"' in page
        status, page, _ = await announce(frida, title="  ", body=BODY)
        assert status == 400 and "Skriv en tittel på 1 til 200 tegn." in page
        assert await stored(sessions) == []
        assert (await announce(frida))[0] == 303
    [made] = await stored(sessions)
    page_url = f"/themes/mat/announcements/{made.id}"
    async with await signed_in(server, sessions, world.alice) as alice:
        status, page, _ = await alice.submit(page_url, f"{page_url}/replies",
                                             {"body": "x" * 5001})
        assert status == 400 and "Skriv et svar på 1 til 5 000 tegn." in page
        assert "x" * 5001 + "</textarea>" in page


async def test_a_preview_shows_the_rendered_text_and_publishes_nothing(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    async with await signed_in(server, sessions, world.facilitator) as frida:
        status, page, _ = await announce(
            frida, preview="1",
            body="# Overskrift\n<img src=x onerror=alert(1)> [lenke](javascript:alert(1))")
        assert status == 200 and "<h4>Overskrift</h4>" in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        assert 'href="javascript:' not in page and "<img" not in page
    assert await stored(sessions) == []


async def test_the_lead_writes_to_every_theme(server: TestServer, sessions: async_sessionmaker,
                                              world: World) -> None:
    async with await signed_in(server, sessions, world.lead) as lead:
        _, page, _ = await lead.get("/themes/mat/announcements")
        assert 'href="/announcements/new"' in page
        status, _, location = await announce(lead, "/announcements/new", "/announcements/new",
                                             title="Til alle temaene", audience="chosen",
                                             municipalities=["1"])
        [made] = await stored(sessions)
        assert status == 303 and location == f"/announcements/{made.id}?posted=1"
        # the lead reads it in their first theme by name
        status, page, response = await lead.get(location)
        assert status == 200 and str(response.url).endswith(
            f"/themes/areal/announcements/{made.id}?posted=1")
        assert "Til alle temaene." in page
    assert made.theme_id is None and made.municipality_ids == []  # no narrowing
    [doc] = await docs(sessions, "announcement")
    assert doc.theme_id is None and doc.url == f"/announcements/{made.id}#announcement-{made.id}"
    for person, theme in ((world.alice, "mat"), (world.outsider, "areal"),
                          (world.facilitator, "mat")):
        async with await signed_in(server, sessions, person) as browser:
            _, page, _ = await browser.get(f"/themes/{theme}/announcements")
            assert "Til alle temaene" in page, person.name
            status, page, _ = await browser.get(f"/announcements/{made.id}")
            assert status == 200 and "Svar" in page
    async with await signed_in(server, sessions, world.facilitator) as frida:
        assert (await frida.get("/announcements/new"))[0] == 403
        _, page, _ = await frida.get(f"/themes/mat/announcements/{made.id}")
        assert "Slett kunngjøringen" not in page  # the lead's, to every theme


async def test_posting_is_rate_limited_per_person(server: TestServer,
                                                  sessions: async_sessionmaker,
                                                  world: World) -> None:
    server.app[LIMITS].count = 2  # buckets are made at a person's first post
    async with await signed_in(server, sessions, world.facilitator) as frida:
        assert (await announce(frida))[0] == 303
        assert (await announce(frida))[0] == 303
        status, page, _ = await announce(frida, title="Den tredje")
        assert status == 429 and 'value="Den tredje"' in page
        assert "Vent noen minutter" in page
    made = (await stored(sessions))[0]
    page_url = f"/themes/mat/announcements/{made.id}"
    async with await signed_in(server, sessions, world.alice) as alice:  # her own budget
        for _ in range(2):
            status, _, _ = await alice.submit(page_url, f"{page_url}/replies", {"body": "Ja"},
                                              allow_redirects=False)
            assert status == 303
        status, page, _ = await alice.submit(page_url, f"{page_url}/replies",
                                             {"body": "Tredje svar"})
        assert status == 429 and "Tredje svar</textarea>" in page
    assert len(await stored(sessions)) == 2
