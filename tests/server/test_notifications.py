"""Notification choices and the forum's mail: the settings page, the weekly digest made
once across workers (two apps on one database, each running the job), instant mail for
those who chose it and none for those who did not, and the one-click page that changes
the choice without signing in. Mail arrives at a real SMTP server in this process."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.forum_models import Announcement, HelpAnswer, HelpRequest, OnceJob
from rooms.models import Person
from server.app import create_app
from server.keys import ENGINE, POSTBOX
from server.mail.jobs import run_jobs_once
from server.mail.tokens import unsubscribe_url
from server.settings import Settings
from tests.factories import World
from tests.mailbox import Inbox, parts, with_smtp
from tests.server.browsing import Browser
from tests.server.test_pages import signed_in
from tests.server.test_theme_home import add

# Monday 8 March 2027, 07:30 in Oslo: the digest of week 10 is due (from 07:00)
MONDAY = datetime(2027, 3, 8, 6, 30, tzinfo=UTC)
DIGEST_SUBJECT = "Denne uken i Klimasats-forum (uke 10)"


async def set_people(sessions: async_sessionmaker, people: list[Person], **values: Any) -> None:
    async with sessions() as session, session.begin():
        for person in people:
            row = await session.get(Person, person.id)
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)


async def fresh(sessions: async_sessionmaker, person: Person) -> Person:
    async with sessions() as session:
        row = await session.get(Person, person.id)
        assert row is not None
        return row


def of_subject(box: Inbox, start: str) -> list[EmailMessage]:
    return [m for m in box.messages if str(m["Subject"]).startswith(start)]


async def settle(*apps: web.Application) -> None:
    """Every mail the apps queued has been delivered (or given up)."""
    for app in apps:
        await app[POSTBOX].close()


@pytest.fixture
async def second_worker(settings: Settings, inbox: tuple[Inbox, int],
                        mail_server: TestServer) -> AsyncIterator[web.Application]:
    """Another worker's app on the same database, as `forum serve` runs several."""
    app = create_app(with_smtp(settings, inbox[1]))
    app[POSTBOX].first_delay = 0.05
    yield app
    await app[POSTBOX].close()
    await app[ENGINE].dispose()


async def test_a_person_saves_their_choices_and_a_bad_form_changes_nothing(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    async with await signed_in(server, sessions, world.alice) as alice:
        status, page, _ = await alice.get("/settings/notifications")
        assert status == 200 and "Varsler" in page
        assert 'id="notify-weekly" name="notify" value="weekly" ' in page  # the default
        assert re.search(r'value="weekly"[^>]*checked', page)
        assert re.search(r'id="show-email-no"[^>]*checked', page)
        status, page, response = await alice.submit(
            "/settings/notifications", "/settings/notifications",
            {"notify": "instant", "show_email": "yes"})
        assert status == 200 and response.url.query.get("saved") == "1"
        assert 'role="status"' in page
        assert re.search(r'value="instant"[^>]*checked', page)
        row = await fresh(sessions, world.alice)
        assert (row.notify, row.show_email) == ("instant", True)

        status, page, _ = await alice.submit("/settings/notifications",
                                             "/settings/notifications",
                                             {"notify": "hourly", "show_email": "no"})
        assert status == 400 and "Velg hvordan du vil høre om nye innlegg." in page
        assert re.search(r'id="show-email-no"[^>]*checked', page)  # as she typed it
        row = await fresh(sessions, world.alice)
        assert (row.notify, row.show_email) == ("instant", True)
        status, _, _ = await alice.post("/settings/notifications", {"notify": "never"})
        assert status == 403  # no form token
    async with Browser(server) as nobody:
        _, _, response = await nobody.get("/settings/notifications", allow_redirects=False)
        assert response.status == 303


async def test_the_weekly_digest_goes_once_across_two_workers_and_runs(
        mail_server: TestServer, second_worker: web.Application, sessions: async_sessionmaker,
        world: World, inbox: tuple[Inbox, int]) -> None:
    box, _ = inbox
    others = [world.facilitator, world.cofacilitator, world.expert, world.observer,
              world.outsider, world.lead]
    await set_people(sessions, others, notify="never")
    askvik = world.alice.municipality_id
    last_week = MONDAY - timedelta(days=5)
    asked, = await add(sessions, HelpRequest(
        theme_id=world.theme.id, author_id=world.alice.id, title="Måling av svinn?",
        body="...", created_at=last_week))
    await add(sessions,
              Announcement(theme_id=world.theme.id, author_id=world.facilitator.id,
                           title="Bare for Askvik", body="...", municipality_ids=[askvik],
                           emailed=True, created_at=last_week),
              HelpRequest(theme_id=world.theme.id, author_id=world.facilitator.id,
                          title="For gammelt", body="...", created_at=MONDAY - timedelta(days=9)),
              HelpRequest(theme_id=world.theme.id, author_id=world.facilitator.id,
                          title="For nytt", body="...", created_at=MONDAY - timedelta(minutes=5)))

    app = mail_server.app
    await run_jobs_once(app, now=MONDAY - timedelta(hours=1))  # 06:30 in Oslo: not yet
    await asyncio.gather(run_jobs_once(app, now=MONDAY), run_jobs_once(second_worker, now=MONDAY))
    await run_jobs_once(app, now=MONDAY + timedelta(minutes=1))
    await run_jobs_once(second_worker, now=MONDAY + timedelta(days=2))
    await settle(app, second_worker)

    digests = of_subject(box, DIGEST_SUBJECT)
    assert sorted(m["To"].addresses[0].addr_spec for m in digests) == sorted(
        [world.alice.email, world.bjorn.email])  # one each
    [to_bjorn] = [m for m in digests if world.bjorn.email in str(m["To"])]
    text, html = parts(to_bjorn)
    assert "Mat og matsvinn" in text and "Spørsmål til nettverket: Måling av svinn?" in text
    assert f"https://forum.example.org/themes/mat/help/{asked.id}" in text
    assert "Bare for Askvik" not in text  # not for Brekke
    assert "For gammelt" not in text and "For nytt" not in text  # other weeks
    assert f'href="https://forum.example.org/themes/mat/help/{asked.id}"' in html
    assert "https://forum.example.org/settings/notifications" in text
    assert to_bjorn["List-Unsubscribe"] == (
        f"<{unsubscribe_url(app[POSTBOX].settings, world.bjorn.id)}>")
    [to_alice] = [m for m in digests if world.alice.email in str(m["To"])]
    assert "Bare for Askvik" in parts(to_alice)[0]  # the week's whole picture
    assert "Måling av svinn" not in parts(to_alice)[0]  # her own

    async with sessions() as session:
        keys = set(await session.scalars(select(OnceJob.key).where(
            OnceJob.kind == "weekly_digest")))
    assert {f"{world.alice.id}:2027-W10", f"{world.bjorn.id}:2027-W10"} <= keys


async def test_instant_mail_for_those_who_chose_it_and_none_for_never(
        mail_server: TestServer, sessions: async_sessionmaker, world: World,
        inbox: tuple[Inbox, int]) -> None:
    box, _ = inbox
    everyone = [world.facilitator, world.cofacilitator, world.expert, world.observer,
                world.outsider, world.lead, world.bjorn]
    await set_people(sessions, everyone, notify="never")
    await set_people(sessions, [world.alice], notify="instant")
    request, = await add(sessions, HelpRequest(
        theme_id=world.theme.id, author_id=world.alice.id, title="Hvordan veier dere?",
        body="...", created_at=MONDAY - timedelta(hours=1)))
    answer, = await add(sessions, HelpAnswer(
        request_id=request.id, author_id=world.bjorn.id, body="Hver fredag.",
        created_at=MONDAY - timedelta(minutes=3)))
    await add(sessions, Announcement(
        theme_id=world.theme.id, author_id=world.facilitator.id, title="Allerede sendt",
        body="...", emailed=True, created_at=MONDAY - timedelta(minutes=2)))

    app = mail_server.app
    await run_jobs_once(app, now=MONDAY)
    await run_jobs_once(app, now=MONDAY + timedelta(minutes=1))
    await settle(app)
    news = of_subject(box, "Nytt i ")
    assert [m["To"].addresses[0].addr_spec for m in news] == [world.alice.email]
    [mail] = news
    assert mail["Subject"] == "Nytt i Mat og matsvinn: Hvordan veier dere?"
    text, _ = parts(mail)
    assert "Svar på spørsmål: Hvordan veier dere?" in text
    assert f"https://forum.example.org/themes/mat/help/{request.id}#answer-{answer.id}" in text
    assert mail["List-Unsubscribe"] and "Allerede sendt" not in text
    assert of_subject(box, DIGEST_SUBJECT) == []  # nobody chose the digest


async def test_the_one_click_page_changes_the_choice_without_signing_in(
        mail_server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    path = unsubscribe_url(mail_server.app[POSTBOX].settings, world.bjorn.id).split(
        "https://forum.example.org", 1)[1]
    async with Browser(mail_server) as visitor:  # no session: the signed link is the proof
        status, page, _ = await visitor.get(path)
        assert status == 200 and "Nye innlegg i temaene dine" in page
        assert re.search(r'value="weekly"[^>]*checked', page)
        status, page, _ = await visitor.submit(path, path, {"notify": "instant"})
        assert status == 200 and re.search(r'value="instant"[^>]*checked', page)
        assert (await fresh(sessions, world.bjorn)).notify == "instant"
        status, page, _ = await visitor.submit(path, path, {"notify": "often"})
        assert status == 400 and "Velg en av knappene." in page
        assert (await fresh(sessions, world.bjorn)).notify == "instant"
    async with aiohttp.ClientSession() as provider, provider.post(  # RFC 8058 one-click
            mail_server.make_url(path), data={"List-Unsubscribe": "One-Click"},
            allow_redirects=False) as response:
        assert response.status == 303
    assert (await fresh(sessions, world.bjorn)).mail_opt_out  # no forum mail either
    async with Browser(mail_server) as visitor:
        _, page, _ = await visitor.get(path)
        assert re.search(r'value="never"[^>]*checked', page)
        await visitor.submit(path, path, {"notify": "weekly"})  # wants the digest again
    bjorn = await fresh(sessions, world.bjorn)
    assert (bjorn.notify, bjorn.mail_opt_out) == ("weekly", False)
