"""The schedule pages over real HTTP (`/schedule`): the lead and a facilitator create, edit,
reschedule and cancel gatherings; forms keep what was typed and say what is wrong; rights;
the .ics files and the theme's feed after a reschedule and a cancellation (parsed back with
`icalendar`); the notices on the theme page; a cancelled gathering's room stays shut."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestServer
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.models import Gathering, Notice
from tests.conftest import Connect, send
from tests.factories import World
from tests.server.browsing import Browser, PageOutline
from tests.server.test_pages import signed_in

FORM = {"theme": "mat", "number": "2", "title": "Våren: innkjøp og menyer",
        "date": "2027-03-04", "time": "09:00", "minutes": "120", "template": "standard"}


async def gatherings_titled(sessions: async_sessionmaker, title: str) -> list[Gathering]:
    async with sessions() as session:
        return list(await session.scalars(select(Gathering).where(Gathering.title == title)))


async def create(browser: Browser, **changes: str) -> tuple[int, str, str]:
    status, page, response = await browser.submit("/schedule/new", "/schedule/new",
                                                  {**FORM, **changes}, allow_redirects=False)
    return status, page, response.headers.get("Location", "")


async def ics(browser: Browser, path: str) -> Calendar:
    async with browser.http.get(browser.url(path)) as response:
        assert response.status == 200, path
        return Calendar.from_ical(await response.read())


async def test_the_lead_creates_a_gathering_and_sees_it_in_norwegian(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    async with await signed_in(server, sessions, world.lead) as per:
        status, page, _ = await per.get("/schedule/new?theme=mat&year=2027")
        assert status == 200 and PageOutline(page).unlabelled_inputs() == []
        assert 'value="mat" selected' in page and "Standard gathering" not in page
        status, _, location = await create(per)
        assert status == 303 and location.startswith("/schedule?year=2027&done=created")
        [made] = await gatherings_titled(sessions, FORM["title"])
        assert made.starts_at == datetime(2027, 3, 4, 8, 0, tzinfo=UTC)
        assert (made.year, made.number, made.planned_minutes) == (2027, 2, 120)
        assert [i.kind for i in made.items][:3] == ["welcome", "expert_talk", "qa"]
        status, page, _ = await per.get(location)
        assert status == 200 and "Samlingen er opprettet." in page
        assert "torsdag 4. mars 2027 kl. 09:00" in page and "Planlagt" in page
        assert f"/schedule/{made.id}/edit" in page and f"/g/{made.id}/plan" in page
        # the year's other themes are the lead's too
        assert "Arealplanlegging" in page and "Ny samling i Arealplanlegging" in page


async def test_a_wrong_form_says_what_is_wrong_and_keeps_what_was_typed(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    async with await signed_in(server, sessions, world.facilitator) as frida:
        status, page, _ = await create(frida, title="Mitt utkast <b>", number="7",
                                       date="4. mars", minutes="10")
        assert status == 400
        assert 'value="Mitt utkast &lt;b&gt;"' in page and 'value="4. mars"' in page
        assert "Velg samlingens nummer i året, 1 til 4." in page
        assert "Skriv datoen, for eksempel 2027-03-04." in page
        assert "En samling varer 30 til 480 minutter." in page
        assert 'id="field-date" name="date" type="date" value="4. mars" ' \
               'aria-describedby="date-help error-date" aria-invalid="true"' in page
        assert 'href="#field-minutes"' in page and "Skriv en tittel" not in page
        for far in ("0001-01-01", "9999-12-31"):
            status, page, _ = await create(frida, date=far, time="00:30")
            assert status == 400 and "Skriv datoen" in page
        # the rules' refusals: a number taken, a time the clocks skip
        assert (await create(frida))[0] == 303
        status, page, _ = await create(frida, title="Igjen")
        assert status == 409
        assert "Temaet har allerede en samling nummer 2 i 2027." in page
        assert 'value="Igjen"' in page
        status, page, _ = await create(frida, number="3", date="2027-03-28", time="02:30")
        assert status == 409 and "klokka stilles fram" in page
        assert len(await gatherings_titled(sessions, FORM["title"])) == 1


async def test_who_may_plan_gatherings(server: TestServer, sessions: async_sessionmaker,
                                       world: World) -> None:
    async with await signed_in(server, sessions, world.facilitator) as frida:
        status, page, _ = await frida.get("/schedule")
        assert status == 200 and "Mat og matsvinn" in page and "Arealplanlegging" not in page
        # not in the other theme: neither a new gathering nor its existing one
        status, page, _ = await create(frida, theme="areal")
        assert status == 400 and "Velg et tema du planlegger samlingene i." in page
        other = world.other_gathering.id
        assert (await frida.get(f"/schedule/{other}/edit"))[0] == 403
        assert (await frida.get(f"/schedule/{other}/cancel"))[0] == 403
        _, page, _ = await frida.get("/gatherings")
        assert 'href="/schedule"' in page
    for person in (world.alice, world.expert, world.observer, world.outsider):
        async with await signed_in(server, sessions, person) as browser:
            for path in ("/schedule", "/schedule/new", f"/schedule/{world.gathering.id}/edit",
                         f"/schedule/{world.gathering.id}/cancel"):
                assert (await browser.get(path))[0] == 403, (person.name, path)
            _, page, _ = await browser.get("/gatherings")
            assert 'href="/schedule"' not in page
            _, page, _ = await browser.get("/")  # any page's form token
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
            if token:
                status, _, _ = await browser.post(f"/schedule/{world.gathering.id}/cancel",
                                                  {"csrf_token": token.group(1)})
                assert status == 403
    async with sessions() as session:
        stored = await session.get(Gathering, world.gathering.id)
        assert stored is not None and stored.cancelled_at is None


async def test_a_reschedule_changes_the_ics_and_tells_the_members(
        server: TestServer, sessions: async_sessionmaker, world: World,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.mail")
    gid = world.gathering.id  # 2026-12-03 09:00 UTC, 60 minutes
    async with await signed_in(server, sessions, world.alice) as alice:
        [before] = (await ics(alice, f"/g/{gid}.ics")).walk("VEVENT")
        assert str(before["status"]) == "CONFIRMED"
    async with await signed_in(server, sessions, world.facilitator) as frida:
        _, page, _ = await frida.get(f"/schedule/{gid}/edit")
        assert 'value="2026-12-03"' in page and 'value="10:00"' in page  # Norwegian time
        status, _, response = await frida.submit(
            f"/schedule/{gid}/edit", f"/schedule/{gid}/edit",
            {"number": "1", "title": "Samling 1", "date": "2026-12-10", "time": "12:30",
             "minutes": "90"}, allow_redirects=False)
        assert status == 303 and "done=rescheduled" in response.headers["Location"]
    # e-mail to every member of the theme (no SMTP here: the log), none outside it
    mailed = [r.getMessage() for r in caplog.records if r.name == "server.mail"]
    assert any("gathering_rescheduled mail to Alice Askvik <alice@example.org>" in m
               and "Nytt tidspunkt: Samling 1" in m for m in mailed)
    assert any("fasilitator@example.org" in m for m in mailed)
    assert not any("utenfor@example.org" in m for m in mailed)
    async with await signed_in(server, sessions, world.alice) as alice:
        calendar = await ics(alice, f"/g/{gid}.ics")
        [after] = calendar.walk("VEVENT")
        assert str(calendar["method"]) == "PUBLISH"
        assert str(after["uid"]) == str(before["uid"])
        assert int(after["sequence"]) > int(before["sequence"])
        assert after["dtstart"].dt == datetime(2026, 12, 10, 11, 30, tzinfo=UTC)
        assert after["dtend"].dt - after["dtstart"].dt == timedelta(minutes=90)
        assert "last-modified" in after and after["dtstamp"].dt >= after["last-modified"].dt
        _, page, _ = await alice.get("/themes/mat")
        assert ("Samling 1, «Samling 1», er flyttet fra torsdag 3. desember 2026 kl. 10:00 "
                "til torsdag 10. desember 2026 kl. 12:30.") in page
        assert "varer nå 90 minutter (før: 60)" in page
        _, page, _ = await alice.get("/gatherings")
        assert "er flyttet fra" in page
    async with await signed_in(server, sessions, world.outsider) as ulf:
        _, page, _ = await ulf.get("/gatherings")  # not his theme's news
        assert "er flyttet fra" not in page


async def test_a_cancellation_is_confirmed_shown_and_shuts_the_room(
        server: TestServer, sessions: async_sessionmaker, world: World,
        connect: Connect) -> None:
    gid = world.gathering.id
    async with await signed_in(server, sessions, world.lead) as per:
        status, page, _ = await per.get(f"/schedule/{gid}/cancel")
        assert status == 200 and "Dette kan ikke angres." in page
        assert (await gatherings_titled(sessions, "Samling 1"))[0].cancelled_at is None
        status, _, response = await per.submit(f"/schedule/{gid}/cancel",
                                               f"/schedule/{gid}/cancel",
                                               allow_redirects=False)
        assert status == 303 and "done=cancelled" in response.headers["Location"]
        _, page, _ = await per.get(response.headers["Location"])
        assert "<strong>Avlyst</strong>" in page and f"/schedule/{gid}/edit" not in page
        # a cancelled gathering is not changed any more
        status, page, _ = await per.get(f"/schedule/{gid}/edit")
        assert "Samlingen er avlyst: den kan ikke lenger endres." in page
        assert 'action="/schedule/' not in page
    async with await signed_in(server, sessions, world.alice) as alice:
        calendar = await ics(alice, f"/g/{gid}.ics")
        assert str(calendar["method"]) == "CANCEL"
        [event] = calendar.walk("VEVENT")
        assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) >= 1
        assert str(event["summary"]).startswith("Avlyst: ")
        feed = await ics(alice, "/themes/mat/calendar.ics")
        assert str(feed["method"]) == "PUBLISH"
        [listed] = [e for e in feed.walk("VEVENT") if str(e["uid"]).startswith(gid)]
        assert str(listed["status"]) == "CANCELLED"
        status, page, _ = await alice.get(f"/g/{gid}")
        assert status == 410 and "Denne samlingen ble avlyst." in page
        assert (await alice.get(f"/g/{gid}/console"))[0] in {403, 410}
        _, page, _ = await alice.get("/gatherings")
        assert "Samling 1: Samling 1 (avlyst)" in page and f'href="/g/{gid}"' not in page
        assert "Samling 1, «Samling 1», torsdag 3. desember 2026 kl. 10:00 er avlyst." in page
        _, page, _ = await alice.get("/themes/mat")
        assert "(avlyst)" in page and "er avlyst." in page
    async with sessions() as session:
        [notice] = list(await session.scalars(select(Notice)))
        assert notice.kind == "gathering_cancelled"
    frida = await connect(world.facilitator)
    answer = await send(frida, gid, "room.join")
    assert not answer["ok"]


async def test_a_live_gathering_is_not_moved(server: TestServer, sessions: async_sessionmaker,
                                             world: World, connect: Connect) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    await send(frida, gid, "room.join")
    assert (await send(frida, gid, "room.open"))["ok"]
    async with await signed_in(server, sessions, world.facilitator) as browser:
        status, page, _ = await browser.submit(
            f"/schedule/{gid}/edit", f"/schedule/{gid}/edit",
            {"number": "1", "title": "Samling 1", "date": "2026-12-10", "time": "10:00",
             "minutes": "60"})
        assert status == 409 and "Rommet til samlingen er åpnet" in page
        status, page, _ = await browser.submit(f"/schedule/{gid}/cancel",
                                               f"/schedule/{gid}/cancel")
        assert status == 409 and "Rommet til samlingen er åpnet" in page
