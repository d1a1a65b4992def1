"""The year's gatherings in real headless Chromium, by keyboard: the programme lead creates a
gathering with an agenda from a template (first with a mistake the form points out), moves
it and cancels it; the .ics follows each step; axe-core finds nothing on any page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from rooms.models import Gathering
from tests.e2e.conftest import LiveServer, chromium
from tests.e2e.test_live_room import assert_accessible, sign_in

pytestmark = pytest.mark.e2e
TITLE = "Vår: innkjøp og menyer"


async def follow(page: Any, name: str) -> None:
    """Go to a link the keyboard way: focus it, press Enter, wait for the page."""
    link = page.get_by_role("link", name=name, exact=True).first
    await link.focus()
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def event_of(page: Any, gathering_id: str) -> tuple[str, Any]:
    response = await page.request.get(f"/g/{gathering_id}.ics")
    assert response.ok
    calendar = Calendar.from_ical(await response.body())
    [event] = calendar.walk("VEVENT")
    return str(calendar["method"]), event


async def test_the_lead_plans_moves_and_cancels_a_gathering(live_server: LiveServer) -> None:
    async with chromium() as browser:
        per = await sign_in(browser, live_server, live_server.world.lead)
        page = per.page
        await follow(page, "Planlegg årets samlinger")
        await assert_accessible(page, "year's gatherings")
        await page.goto("/schedule?year=2027")
        await follow(page, "Ny samling i Mat og matsvinn")
        await page.get_by_role("heading", name="Ny samling", exact=True).wait_for()
        await assert_accessible(page, "new gathering form")

        # by keyboard: the number by type-ahead, the template by arrow key; no title yet
        await page.get_by_label("Nummer i året").focus()
        await page.keyboard.type("2")
        await page.get_by_label("Dato").fill("2027-03-28")  # the last Sunday in March
        await page.get_by_label("Starter kl.").fill("09:00")
        await page.get_by_label("Agenda", exact=True).focus()
        await page.keyboard.press("ArrowDown")
        assert await page.get_by_label("Agenda", exact=True).input_value() == "workshop"
        await page.get_by_label("Planlagt varighet (minutter)").focus()
        await page.keyboard.press("Enter")  # submits the form
        await page.get_by_role("heading", name="Samlingen er ikke lagret ennå").wait_for()
        assert await page.get_by_label("Dato").input_value() == "2027-03-28"
        assert await page.get_by_label("Agenda", exact=True).input_value() == "workshop"
        await assert_accessible(page, "form with an error")
        await page.get_by_role("link", name="Skriv en tittel på 1 til 200 tegn.").focus()
        await page.keyboard.press("Enter")  # the error summary's link leads to the field
        await page.get_by_label("Tittel").focus()
        await page.keyboard.type(TITLE)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await page.get_by_text("Samlingen er opprettet.").wait_for()
        await page.get_by_text("søndag 28. mars 2027 kl. 09:00").wait_for()
        await assert_accessible(page, "year's gatherings with the new one")

        async with live_server.sessions() as session:
            gathering = await session.scalar(select(Gathering).where(Gathering.title == TITLE))
        assert gathering is not None
        assert gathering.starts_at == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)  # summer time
        method, first = await event_of(page, gathering.id)
        assert method == "PUBLISH" and str(first["status"]) == "CONFIRMED"
        assert first["dtstart"].dt == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)

        # the agenda came from the workshop template
        await page.goto(f"/g/{gathering.id}/plan")
        await page.get_by_role("rowheader", name="Verksted i blandede grupper").wait_for()

        # move it to the afternoon
        await page.goto("/schedule?year=2027")
        await follow(page, "Endre eller flytt")
        await assert_accessible(page, "edit form")
        assert await page.get_by_label("Starter kl.").input_value() == "09:00"
        await page.get_by_label("Starter kl.").fill("13:00")
        await page.get_by_label("Tittel").focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await page.get_by_text("Samlingen er flyttet.").wait_for()
        await page.get_by_text("er flyttet fra søndag 28. mars 2027 kl. 09:00 til søndag "
                               "28. mars 2027 kl. 13:00").wait_for()
        await assert_accessible(page, "year's gatherings with a notice")
        method, moved = await event_of(page, gathering.id)
        assert str(moved["uid"]) == str(first["uid"])
        assert int(moved["sequence"]) > int(first["sequence"])
        assert moved["dtstart"].dt == datetime(2027, 3, 28, 11, 0, tzinfo=UTC)

        # cancel it, after the confirmation
        await follow(page, "Avlys samlingen")
        await page.get_by_text("Dette kan ikke angres.").wait_for()
        await assert_accessible(page, "cancel confirmation")
        await page.get_by_role("button", name="Avlys samlingen").focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await page.get_by_text("Samlingen er avlyst.", exact=False).first.wait_for()
        await assert_accessible(page, "year's gatherings with a cancelled one")
        method, cancelled = await event_of(page, gathering.id)
        assert method == "CANCEL" and str(cancelled["status"]) == "CANCELLED"
        assert int(cancelled["sequence"]) > int(moved["sequence"])
        await page.goto("/themes/mat")
        await page.get_by_text("er avlyst.").first.wait_for()
        await assert_accessible(page, "theme page with notices")
