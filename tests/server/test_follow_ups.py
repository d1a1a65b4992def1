"""Follow-ups from a gathering: the facilitator turns a line of the notes into a follow-up
for a municipality, its owner tells how it went, nobody else may; the reminder goes out once
before the next gathering from two workers on one database; the live room gets the list of
follow-ups due at its gathering."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestServer
from pycrdt import Doc, Text
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation.follow_ups import REMINDER_DAYS
from rooms.forum_models import FollowUp, OnceJob, SearchDoc
from rooms.models import Gathering, Person
from server.app import create_app
from server.i18n import using_locale
from server.keys import NOTES, POSTBOX
from server.mail.compose import FOLLOW_UP_REMINDER, KINDS
from server.mail.jobs import JOBS
from server.pages.follow_ups import remind_follow_ups
from server.settings import Settings
from tests.factories import World, add_gathering, add_participant
from tests.mailbox import Inbox, parts, with_smtp
from tests.server.browsing import Browser, csrf_of
from tests.server.test_projects import signed_in_browser

NEXT_START = datetime(2027, 1, 14, 9, 0, tzinfo=UTC)  # after the server's own clock's window
LINES = ("Askvik prøver kompost i kantina før neste samling", "Brekke måler matsvinn i to uker")


@pytest.fixture
async def next_gathering(world: World, sessions: async_sessionmaker) -> Gathering:
    """The theme's gathering after the world's (and a cancelled one between them)."""
    cancelled = await add_gathering(sessions, world.theme, 2, NEXT_START - timedelta(days=20))
    async with sessions() as s, s.begin():
        row = await s.get(Gathering, cancelled.id)
        assert row is not None
        row.cancelled_at = datetime(2026, 12, 1, tzinfo=UTC)
    return await add_gathering(sessions, world.theme, 3, NEXT_START, agenda=[
        ("welcome", "Velkommen", 10), ("plenary", "Hvordan gikk det?", 20)])


async def write_plenary_notes(server: TestServer, gathering_id: str, text: str) -> None:
    doc: Doc = Doc()
    doc.get("text", type=Text).insert(0, text)
    await server.app[NOTES].apply(gathering_id, "plenary", doc.get_update(), person_id=None)


async def browser_of(server: TestServer, sessions: async_sessionmaker, person: Person) -> Browser:
    return await signed_in_browser(server, sessions, person.id)


async def make(browser: Browser, gathering_id: str, fields: dict[str, str]
               ) -> tuple[int, str]:
    page = f"/g/{gathering_id}/follow-ups"
    status, html, _ = await browser.submit(page, page, fields, allow_redirects=False)
    return status, html


async def test_a_note_line_becomes_a_follow_up_that_its_owner_updates_and_no_one_else(
        world: World, server: TestServer, sessions: async_sessionmaker,
        next_gathering: Gathering) -> None:
    gid = world.gathering.id
    askvik, brekke = str(world.alice.municipality_id), str(world.bjorn.municipality_id)
    await write_plenary_notes(server, gid, "\n".join(LINES) + "\n\n")
    async with await browser_of(server, sessions, world.facilitator) as frida:
        status, html, _ = await frida.get(f"/g/{gid}/follow-ups")
        assert status == 200
        assert all(f'name="source" value="{line}"' in html for line in LINES)
        assert 'name="municipality_id"' in html and "Brekke kommune" in html
        status, html = await make(frida, gid, {"source": LINES[0], "municipality_id": "",
                                               "text": "Kompost i kantina"})
        assert status == 400 and 'role="alert"' in html
        assert "Kompost i kantina" in html  # nothing typed is lost
        status, _html = await make(frida, gid, {"source": LINES[0], "municipality_id": askvik,
                                                "text": "Kompost i kantina, <b>alle</b> skoler"})
        assert status == 303
    async with sessions() as s:
        made = await s.scalar(select(FollowUp))
        assert made is not None
        assert (made.municipality_id, made.status, made.source) == (
            world.alice.municipality_id, "open", LINES[0])
        assert made.due_gathering_id == next_gathering.id  # the cancelled one passed over
        found = await s.scalar(select(SearchDoc).where(SearchDoc.kind == "follow_up"))
        assert found is not None and found.url == f"/follow-ups/{made.id}"
    page = f"/follow-ups/{made.id}"

    async with await browser_of(server, sessions, world.alice) as alice:
        html = (await alice.get("/themes/mat/follow-ups"))[1]
        mine = html.split('id="mine-heading"')[1].split('id="all-heading"')[0]
        assert "Kompost i kantina, &lt;b&gt;alle&lt;/b&gt; skoler" in mine
        assert "Samling 3" in mine
        status, html, _ = await alice.submit(page, page, {
            "status": "doing", "report": "Startet i to skoler", "link": "javascript:alert(1)"})
        assert status == 400 and 'role="alert"' in html and "https://" in html
        assert "Startet i to skoler" in html  # the report typed is kept
        status, html, _ = await alice.submit(page, page, {
            "status": "doing", "report": "Startet i to skoler",
            "link": "https://askvik.kommune.no/kompost.pdf"})
        assert status == 200 and "Startet i to skoler" in html
        assert 'href="https://askvik.kommune.no/kompost.pdf"' in html
        # a participant proposes from the notes for their own municipality only
        status, _html = await make(alice, gid, {"source": LINES[1], "municipality_id": brekke,
                                                "text": LINES[1]})
        assert status == 403

    async with await browser_of(server, sessions, world.bjorn) as bjorn:
        html = (await bjorn.get(page))[1]
        assert 'action="/follow-ups/' not in html  # no form for another municipality
        status, _html = await make(bjorn, gid, {"source": LINES[1], "municipality_id": brekke,
                                                "text": LINES[1]})
        assert status == 303
        status, _html, _ = await bjorn.post(page, {
            "csrf_token": csrf_of(html), "status": "done", "report": "Ikke vår", "link": ""})
        assert status == 403
    async with sessions() as s:
        row = await s.get(FollowUp, made.id)
        assert row is not None
        assert (row.status, row.report) == ("doing", "Startet i to skoler")
        assert row.updated_by == world.alice.id

    async with await browser_of(server, sessions, world.outsider) as outsider:
        assert (await outsider.get(page))[0] == 403
        assert (await outsider.get(f"/g/{gid}/follow-ups"))[0] == 403


@pytest.fixture
async def workers(settings: Settings, world: World, inbox: tuple[Inbox, int]
                  ) -> AsyncIterator[tuple[TestServer, TestServer]]:
    """Two workers of one forum on one database, mailing to the test's SMTP server."""
    servers = []
    for _ in range(2):
        app = create_app(with_smtp(settings, inbox[1]))
        app[POSTBOX].first_delay = 0.05
        servers.append(TestServer(app, host="127.0.0.1"))
        await servers[-1].start_server()
    yield servers[0], servers[1]
    for server in servers:
        await server.close()


async def test_the_reminder_goes_once_per_owner_some_days_before_the_next_gathering(
        world: World, sessions: async_sessionmaker, next_gathering: Gathering,
        workers: tuple[TestServer, TestServer], inbox: tuple[Inbox, int]) -> None:
    mailbox = inbox[0]
    colleague = await add_participant(sessions, world.theme, "kari@askvik.no", "Kari Askvik",
                                      world.alice.municipality_id)
    quiet = await add_participant(sessions, world.theme, "stille@askvik.no", "Stille Askvik",
                                  world.alice.municipality_id)
    async with sessions() as s, s.begin():
        quiet_row = await s.get(Person, quiet.id)
        assert quiet_row is not None
        quiet_row.notify = "never"  # they chose never to hear by e-mail
        made = datetime(2026, 12, 3, 12, tzinfo=UTC)
        for owner, text, status in [(world.alice, "Kompost i kantina", "open"),
                                    (world.alice, "Måle svinn", "doing"),
                                    (world.bjorn, "Ferdig allerede", "done")]:
            s.add(FollowUp(theme_id=world.theme.id, gathering_id=world.gathering.id,
                           due_gathering_id=next_gathering.id,
                           municipality_id=owner.municipality_id, text=text, status=status,
                           created_at=made, updated_at=made))
    apps = [w.app for w in workers]
    remind_at = NEXT_START - timedelta(days=REMINDER_DAYS)

    assert remind_follow_ups in JOBS

    async def both(now: datetime) -> None:  # the job as each worker's loop runs it
        await asyncio.gather(*(remind_follow_ups(app, now) for app in apps))

    await both(remind_at - timedelta(minutes=1))
    async with sessions() as s:  # too early: nothing claimed, so nothing sent
        assert await s.scalar(select(OnceJob).where(OnceJob.kind == FOLLOW_UP_REMINDER)) is None
    await both(remind_at + timedelta(minutes=1))
    await both(remind_at + timedelta(minutes=2))
    for app in apps:
        await app[POSTBOX].close()  # every mail queued is delivered (or given up)
    with using_locale("nb"):
        subject = KINDS[FOLLOW_UP_REMINDER].subject({"title": next_gathering.title})
    reminded = [m for m in mailbox.messages if m["Subject"] == subject]  # other jobs mail too
    assert sorted(m["To"].addresses[0].addr_spec for m in reminded) == [
        "alice@example.org", colleague.email]
    text, html = parts(next(m for m in reminded if m["To"].addresses[0].addr_spec
                            == "alice@example.org"))
    assert "Kompost i kantina" in text and "Måle svinn" in text and "Ferdig" not in text
    assert "https://forum.example.org/follow-ups/" in html
    assert reminded[0]["List-Unsubscribe"]  # not essential: one click stops it


async def test_the_live_room_gets_the_follow_ups_due_at_its_gathering(
        world: World, server: TestServer, sessions: async_sessionmaker,
        next_gathering: Gathering) -> None:
    made = datetime(2026, 12, 3, 12, tzinfo=UTC)
    async with sessions() as s, s.begin():
        for owner, text in [(world.bjorn, "Måle svinn"), (world.alice, "Kompost")]:
            s.add(FollowUp(theme_id=world.theme.id, gathering_id=world.gathering.id,
                           due_gathering_id=None,  # worked out when read
                           municipality_id=owner.municipality_id, text=text,
                           status="open", report="", created_at=made, updated_at=made))
    async with sessions() as s:
        gathering = await s.get(Gathering, next_gathering.id)
        assert gathering is not None
        item = next(i for i in gathering.items if i.kind == "plenary")
    plan = f"/g/{next_gathering.id}/plan/{item.id}"
    async with await browser_of(server, sessions, world.facilitator) as frida:
        html = (await frida.get(plan))[1]
        assert 'name="follow_ups"' in html and "checked" not in html.split(
            'name="follow_ups"')[1].split(">")[0]
        status, _html, _ = await frida.submit(plan, plan, {  # the plenary item brings them up
            "kind": "plenary", "title": item.title, "planned_minutes": "20",
            "follow_ups": "on"}, allow_redirects=False)
        assert status == 303
    alice = await browser_of(server, sessions, world.alice)
    async with alice, alice.http.get(alice.url(f"/g/{next_gathering.id}/follow-ups.json")) as r:
        assert r.status == 200
        listed = await r.json()
    assert listed["items"] == [item.id]
    assert [(f["municipality"], f["text"], f["status"]) for f in listed["follow_ups"]] == [
        ("Askvik kommune", "Kompost", "open"), ("Brekke kommune", "Måle svinn", "open")]
    async with await browser_of(server, sessions, world.outsider) as outsider:
        assert (await outsider.get(f"/g/{next_gathering.id}/follow-ups.json"))[0] == 403
