"""Calendars over real HTTP: a gathering's .ics event and a theme's feed, parsed back with
the `icalendar` package; who may fetch them, with the session cookie or a feed token."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestServer
from icalendar import Calendar
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.keys import SETTINGS
from server.pages.calendar import feed_token
from tests.conftest import Connect, send
from tests.factories import World, add_gathering
from tests.server.browsing import Browser
from tests.server.test_pages import signed_in


def events_of(body: bytes) -> list[object]:
    calendar = Calendar.from_ical(body)
    return list(calendar.walk("VEVENT"))


async def test_a_gathering_downloads_as_an_icalendar_event(
        server: TestServer, sessions: async_sessionmaker, world: World, connect: Connect) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    ids = [s["id"] for s in (await send(frida, gid, "room.join"))["snapshot"]["agenda"]]
    await send(frida, gid, "agenda.update_item", item_id=ids[1], planned_minutes=25)
    async with await signed_in(server, sessions, world.alice) as alice, \
            alice.http.get(alice.url(f"/g/{gid}.ics")) as response:
        assert response.status == 200
        assert response.content_type == "text/calendar"
        assert "attachment" in response.headers["Content-Disposition"]
        body = await response.read()
    [event] = events_of(body)
    assert event["dtstart"].dt == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # type: ignore[index]
    assert event["dtend"].dt == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # type: ignore[index]
    assert str(event["summary"]) == "Mat og matsvinn: Samling 1"  # type: ignore[index]
    assert str(event["uid"]).startswith(gid)  # type: ignore[index]
    assert str(event["url"]).endswith(f"/g/{gid}")  # type: ignore[index]
    description = str(event["description"])  # type: ignore[index]
    # the planned clock, in Oslo time, with the change just made
    assert re.findall(r"^(\d\d:\d\d) (.+) \((\d+) min\)$", description, re.M) == [
        ("10:00", "Velkommen og innsjekk", "10"), ("10:10", "Innlegg: matsvinn i skolen", "25"),
        ("10:35", "Grupperom etter prosjektfase", "25"), ("11:00", "Oppsummering", "5")]


async def test_only_members_get_a_gatherings_event(server: TestServer,
                                                   sessions: async_sessionmaker,
                                                   world: World) -> None:
    gid = world.gathering.id
    async with await signed_in(server, sessions, world.outsider) as ulf:
        assert (await ulf.get(f"/g/{gid}.ics"))[0] == 403
    async with await signed_in(server, sessions, world.alice) as alice:
        assert (await alice.get(f"/g/{'0' * 32}.ics"))[0] == 404
    async with Browser(server) as visitor:
        _, _, response = await visitor.get(f"/g/{gid}.ics", allow_redirects=False)
        assert response.status == 303


async def test_the_theme_feed_lists_its_gatherings(server: TestServer,
                                                   sessions: async_sessionmaker,
                                                   world: World) -> None:
    base = world.gathering.starts_at
    second = await add_gathering(sessions, world.theme, 2, starts_at=base + timedelta(days=90),
                                 planned_minutes=120)
    third = await add_gathering(sessions, world.theme, 3, starts_at=base + timedelta(days=180))
    async with await signed_in(server, sessions, world.alice) as alice:
        status, _, response = await alice.get("/themes/mat/calendar.ics")
        assert status == 200 and response.content_type == "text/calendar"
        async with alice.http.get(alice.url("/themes/mat/calendar.ics")) as fetched:
            body = await fetched.read()
    calendar = Calendar.from_ical(body)
    assert str(calendar["x-wr-calname"]) == "Klimasats-forum: Mat og matsvinn"
    events = {str(e["uid"]).split("@")[0]: e for e in calendar.walk("VEVENT")}
    assert set(events) == {world.gathering.id, second.id, third.id}  # not the other theme's
    event = events[second.id]
    assert event["dtstart"].dt == (base + timedelta(days=90)).astimezone(UTC)
    assert event["dtend"].dt - event["dtstart"].dt == timedelta(minutes=120)
    async with await signed_in(server, sessions, world.outsider) as ulf:
        assert (await ulf.get("/themes/mat/calendar.ics"))[0] == 403
        assert (await ulf.get("/themes/areal/calendar.ics"))[0] == 200
        assert (await ulf.get("/themes/nope/calendar.ics"))[0] == 404


async def test_a_calendar_app_uses_the_private_feed_address(server: TestServer,
                                                            sessions: async_sessionmaker,
                                                            world: World) -> None:
    settings = server.app[SETTINGS]
    async with await signed_in(server, sessions, world.alice) as alice:
        _, page, _ = await alice.get("/themes/mat")
    token = feed_token(settings, world.alice.id, "mat")
    assert f"calendar.ics?person={world.alice.id}&amp;token={token}" in page
    async with Browser(server) as calendar_app:  # no cookies at all
        path = f"/themes/mat/calendar.ics?person={world.alice.id}&token={token}"
        status, body, _ = await calendar_app.get(path)
        assert status == 200 and "BEGIN:VEVENT" in body
        for wrong in (f"/themes/mat/calendar.ics?person={world.alice.id}&token={'0' * 40}",
                      f"/themes/mat/calendar.ics?person={world.bjorn.id}&token={token}",
                      f"/themes/areal/calendar.ics?person={world.alice.id}&token={token}",
                      "/themes/mat/calendar.ics"):
            assert (await calendar_app.get(wrong))[0] == 403, wrong
        # a valid token of someone who is not in the theme opens nothing
        ulf_token = feed_token(settings, world.outsider.id, "mat")
        path = f"/themes/mat/calendar.ics?person={world.outsider.id}&token={ulf_token}"
        assert (await calendar_app.get(path))[0] == 403
