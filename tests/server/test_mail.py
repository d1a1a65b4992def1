"""E-mail through a real SMTP server in this process (aiosmtpd): what arrives, in which
language, with which headers; retries; the choice to stop notices, and its page."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import start_session
from rooms.db import create_engine, sessionmaker
from rooms.migrate import upgrade
from rooms.models import Person
from server.keys import POSTBOX
from server.mail import GATHERING_CANCELLED, GATHERING_RESCHEDULED, Postbox, Recipient
from server.mail.tokens import person_of_token, unsubscribe_url
from server.settings import SESSION_COOKIE, Settings
from tests.conftest import WAIT
from tests.factories import World, build_world
from tests.mailbox import Inbox, parts, with_smtp
from tests.server.browsing import Browser
from tests.server.live_helpers import eventually

STARTS = datetime(2027, 3, 4, 9, 0, tzinfo=UTC)  # 10:00 in Oslo
BEFORE = datetime(2027, 3, 1, 12, 30, tzinfo=UTC)


async def test_a_sign_in_link_arrives_in_norwegian_with_both_parts_after_the_answer(
        mail_server: TestServer, world: World, inbox: tuple[Inbox, int]) -> None:
    box, _ = inbox
    box.gate.clear()  # the SMTP server holds the mail: the page must answer without it
    async with Browser(mail_server) as visitor:
        status, page, _ = await visitor.submit("/", "/signin/request",
                                               {"email": world.alice.email})
        assert status == 200 and "Sjekk e-posten din" in page
        assert box.messages == []
        box.gate.set()
        [message] = await box.wait_for(1)

    assert message["Subject"] == "Din innloggingslenke til Klimasats-forum"
    assert message["From"] == "forum@example.org"
    assert world.alice.email in message["To"]
    assert message["Content-Language"] == "nb"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] and message["Date"]
    assert "List-Unsubscribe" not in message  # sign-in links are essential
    text, html = parts(message)
    link = re.search(r"https://forum\.example\.org/signin/[A-Za-z0-9_-]+", text)
    assert link is not None
    assert "Hei," in text and "Åpne lenken nedenfor for å logge inn" in text
    assert "gyldig i 14 dager" in text
    assert "<html lang=\"nb\">" in html and f'href="{link.group(0)}"' in html
    assert "Logg inn" in html and "Stopp varsler" not in html
    assert box.envelopes[0].rcpt_tos == [world.alice.email]

    async with Browser(mail_server) as alice:  # the link in the mail signs Alice in
        assert (await alice.sign_in(link.group(0).rsplit("/", 1)[1])).status == 303


async def test_a_refused_mail_is_retried_with_one_log_line_per_failed_attempt(
        mail_server: TestServer, world: World, inbox: tuple[Inbox, int],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.mail")
    box, _ = inbox
    box.refuse = 1
    postbox = mail_server.app[POSTBOX]
    assert postbox.post(GATHERING_CANCELLED, world.alice, theme="Mat og matsvinn",
                        title="Samling 2", starts_at=STARTS)
    [message] = await box.wait_for(1)
    assert box.refused == 1
    assert message["Subject"] == "Avlyst: Samling 2"
    await postbox.close()
    failures = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(failures) == 1
    assert "attempt 1 of 4" in failures[0].getMessage()
    assert "451" in failures[0].getMessage() and "\n" not in failures[0].getMessage()
    assert "trying again in 0.05 s" in failures[0].getMessage()


async def test_a_permanent_refusal_is_not_retried(
        mail_server: TestServer, world: World, inbox: tuple[Inbox, int],
        caplog: pytest.LogCaptureFixture) -> None:
    box, _ = inbox
    box.refuse, box.refusal = 5, "550 5.1.1 No such user"
    postbox = mail_server.app[POSTBOX]
    postbox.post_sign_in_link(world.bjorn.email, "https://forum.example.org/signin/x")
    await postbox.close()
    assert (box.refused, box.messages) == (1, [])
    assert "giving up" in caplog.text


async def test_close_sends_mail_in_backoff_at_once_and_waits_for_it(
        settings: Settings, world: World, inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    box.refuse = 1
    postbox = Postbox(with_smtp(settings, port), first_delay=600)  # a long backoff...
    postbox.post_sign_in_link(world.bjorn.email, "https://forum.example.org/signin/abc")
    await eventually(lambda: box.refused > 0, what="the first refusal")
    await asyncio.wait_for(postbox.close(), WAIT)  # ...cut short by the shutdown
    assert len(box.messages) == 1


async def test_without_smtp_a_notice_goes_to_the_log(
        settings: Settings, world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.mail")
    postbox = Postbox(settings)
    assert postbox.post(GATHERING_RESCHEDULED, world.alice, theme="Mat og matsvinn",
                        title="Samling 2", starts_at=STARTS, previous_starts_at=BEFORE,
                        url="/g/1")
    assert "no SMTP_HOST set, so not e-mailed" in caplog.text
    assert "Nytt tidspunkt: Samling 2" in caplog.text
    assert "torsdag 4. mars 2027 kl. 10:00" in caplog.text
    assert not postbox.post(GATHERING_CANCELLED, Recipient("not an address"), theme="Mat",
                            title="S", starts_at=STARTS)  # logged, and nothing raised
    assert "cannot e-mail gathering_cancelled mail to 'not an address'" in caplog.text
    with pytest.raises(TypeError, match="previous_starts_at"):  # caught at the caller
        postbox.post(GATHERING_RESCHEDULED, world.alice, theme="Mat", title="S",
                     starts_at=STARTS, url="/g/1")


@pytest.fixture
async def any_db(database_url: str) -> AsyncIterator[tuple[async_sessionmaker, World, str]]:
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = sessionmaker(engine)
    yield sessions, await build_world(sessions), database_url
    await engine.dispose()


async def set_person(sessions: async_sessionmaker, person: Person, **values: Any) -> None:
    async with sessions() as session, session.begin():
        row = await session.get(Person, person.id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)


async def opted_out(sessions: async_sessionmaker, person: Person) -> bool:
    async with sessions() as session:
        row = await session.get(Person, person.id)
        assert row is not None
        return row.mail_opt_out


async def test_a_theme_hears_of_a_new_time_in_each_ones_language_but_not_who_opted_out(
        any_db: tuple[async_sessionmaker, World, str], inbox: tuple[Inbox, int],
        settings: Settings) -> None:
    sessions, world, database_url = any_db
    box, port = inbox
    await set_person(sessions, world.alice, language="nn")
    await set_person(sessions, world.bjorn, mail_opt_out=True)
    mail_settings = with_smtp(replace(settings, database_url=database_url), port)
    postbox = Postbox(mail_settings, sessions, first_delay=0.05)
    queued = await postbox.post_to_theme(
        world.theme.id, GATHERING_RESCHEDULED, theme="Mat & matsvinn", title="Samling <2>",
        starts_at=STARTS, previous_starts_at=BEFORE, url="/g/7")
    members = [world.facilitator, world.cofacilitator, world.alice, world.expert,
               world.observer]  # Bjørn opted out; the outsider is in another theme
    assert queued == len(members)
    await box.wait_for(len(members))
    await postbox.close()
    assert sorted(e.rcpt_tos[0] for e in box.envelopes) == sorted(p.email for p in members)
    assert box.to(world.bjorn.email) == [] and box.to(world.outsider.email) == []

    [to_frida] = box.to(world.facilitator.email)
    assert to_frida["Subject"] == "Nytt tidspunkt: Samling <2>"
    text, html = parts(to_frida)
    assert "Hei Frida Fasilitator," in text
    assert "Samlingen Samling <2> i temaet Mat & matsvinn har fått nytt tidspunkt." in text
    assert "Nytt tidspunkt: torsdag 4. mars 2027 kl. 10:00" in text
    assert "Tidligere tidspunkt: mandag 1. mars 2027 kl. 13:30" in text
    assert "https://forum.example.org/g/7" in text
    assert "Samling &lt;2&gt; i temaet Mat &amp; matsvinn" in html  # escaped in HTML
    unsubscribe = unsubscribe_url(mail_settings, world.facilitator.id)
    assert to_frida["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert to_frida["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in text and f'href="{unsubscribe}"' in html
    assert "Stopp varsler på e-post" in html

    [to_alice] = box.to(world.alice.email)  # nynorsk
    assert to_alice["Content-Language"] == "nn"
    text, html = parts(to_alice)
    assert "Samlinga Samling <2> i temaet Mat & matsvinn har fått nytt tidspunkt." in text
    assert '<html lang="nn">' in html
    assert unsubscribe_url(mail_settings, world.alice.id) in text


def test_unsubscribe_tokens_are_signed_per_person() -> None:
    settings = Settings(secret_key="one", public_url="https://forum.example.org")
    token = unsubscribe_url(settings, 42).rsplit("/", 1)[1]
    assert person_of_token(settings, token) == 42
    assert person_of_token(replace(settings, secret_key="two"), token) is None
    forged = "43-" + token.split("-", 1)[1]
    assert person_of_token(settings, forged) is None
    assert person_of_token(settings, "x-abc") is None


def choice_path(server: TestServer, person: Person) -> str:
    return unsubscribe_url(server.app[POSTBOX].settings, person.id).split(
        "https://forum.example.org", 1)[1]


async def test_the_choice_page_stops_and_resumes_notices_without_signing_in(
        mail_server: TestServer, sessions: async_sessionmaker, world: World,
        inbox: tuple[Inbox, int]) -> None:
    box, _ = inbox
    path = choice_path(mail_server, world.alice)
    async with Browser(mail_server) as visitor:
        status, page, _ = await visitor.get(path)
        assert status == 200
        assert "E-post fra Klimasats-forum" in page and world.alice.email in page
        assert "Stopp varsler på e-post" in page and 'name="notices" value="off"' in page
        status, page, response = await visitor.submit(path, path, {"notices": "off"})
        assert status == 200 and response.url.query.get("saved") == "1"
        assert await opted_out(sessions, world.alice)
        assert 'role="status"' in page and "Send meg varsler på e-post igjen" in page
        assert 'name="notices" value="on"' in page

        postbox = mail_server.app[POSTBOX]
        alice = await person(sessions, world.alice.id)
        assert not postbox.post(GATHERING_CANCELLED, alice, theme="Mat", title="S",
                                starts_at=STARTS)
        postbox.post_sign_in_link(alice.email, "https://forum.example.org/signin/abc")
        [message] = await box.wait_for(1)  # essential mail still comes
        assert "Logg inn" in parts(message)[0]

        await visitor.submit(path, path, {"notices": "on"})  # turned on again
        assert not await opted_out(sessions, world.alice)
        assert postbox.post(GATHERING_CANCELLED, await person(sessions, world.alice.id),
                            theme="Mat", title="S", starts_at=STARTS)
        await box.wait_for(2)

        status, _, _ = await visitor.post(path, {"notices": "off"})  # no CSRF token
        assert status == 403
        status, page, _ = await visitor.submit(path, path, {"notices": "maybe"})
        assert status == 400 and "Velg en av knappene." in page
        status, page, _ = await visitor.get(path[:-3] + "abc")
        assert status == 404 and "ikke gyldig" in page
    assert not await opted_out(sessions, world.alice)


async def person(sessions: async_sessionmaker, person_id: int) -> Person:
    async with sessions() as session:
        row = await session.get(Person, person_id)
        assert row is not None
        return row


async def test_one_click_unsubscribe_works_without_cookies(
        mail_server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    path = choice_path(mail_server, world.bjorn)
    async with aiohttp.ClientSession() as provider, provider.post(  # no cookies, no Origin
            mail_server.make_url(path), data={"List-Unsubscribe": "One-Click"},
            allow_redirects=False) as response:
        assert response.status == 303
    assert await opted_out(sessions, world.bjorn)
    async with aiohttp.ClientSession() as forger:  # another body still needs the CSRF token
        async with forger.post(mail_server.make_url(path), data={"notices": "on"}) as response:
            assert response.status == 403
        bad = path[:-4] + "AAAA"
        async with forger.post(mail_server.make_url(bad),
                               data={"List-Unsubscribe": "One-Click"}) as response:
            assert response.status == 404
    assert await opted_out(sessions, world.bjorn)


async def test_a_signed_in_person_finds_their_choice_at_mail(
        mail_server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    token = await start_session(sessions, world.bjorn.id, days=1)
    async with aiohttp.ClientSession(cookies={SESSION_COOKIE: token}) as bjorn, bjorn.get(
            mail_server.make_url("/mail"), allow_redirects=False) as response:
        assert response.headers["Location"] == choice_path(mail_server, world.bjorn)
    async with aiohttp.ClientSession() as nobody, nobody.get(
            mail_server.make_url("/mail"), allow_redirects=False) as response:
        assert response.headers["Location"] == "/"
