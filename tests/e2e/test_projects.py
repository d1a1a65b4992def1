"""Projects in real headless Chromium: a participant moves their project to the next stage
by keyboard and sees it in the history; axe-core finds nothing on the project pages, the
theme's people page and the municipalities page."""

from __future__ import annotations

import pytest

from rooms.models import Project
from tests.e2e.conftest import LiveServer, chromium
from tests.e2e.test_live_room import assert_accessible, sign_in

pytestmark = pytest.mark.e2e


async def test_a_participant_moves_their_project_on_by_keyboard(live_server: LiveServer) -> None:
    world = live_server.world
    async with live_server.sessions() as s:
        project = Project(municipality_id=world.alice.municipality_id, theme_id=world.theme.id,
                          title="Mindre matsvinn i kantina", stage="oppstart",
                          tags=["kantine"], grant_year=2025)
        s.add(project)
        await s.commit()
    async with chromium() as browser:
        alice = await sign_in(browser, live_server, world.alice)
        page = alice.page
        await page.get_by_role("link", name="Mine prosjekter").click()
        await page.wait_for_url("**/projects")
        await assert_accessible(page, "my projects")
        await page.get_by_role(
            "link", name="Detaljer og fasehistorikk for Mindre matsvinn i kantina").click()
        await page.wait_for_url(f"**/projects/{project.id}")
        await assert_accessible(page, "project page")

        stage = page.get_by_label("Prosjektfase")
        await stage.focus()
        await page.keyboard.press("ArrowDown")
        assert await stage.input_value() == "gjennomforing"
        await page.get_by_label("Dette trenger vi hjelp til").focus()
        await page.keyboard.type("Innkjøp av kjøkkenutstyr")
        await page.keyboard.press("Tab")
        save = page.get_by_role("button", name="Lagre")
        assert await save.evaluate("button => button === document.activeElement")
        await page.keyboard.press("Enter")
        await page.get_by_role("status").filter(has_text="Lagret.").wait_for()
        history = page.locator("ol.stage-history li")
        assert await history.count() == 1  # the stage it had before this page kept history
        await history.filter(has_text="Gjennomføring").filter(
            has_text="av Alice Askvik").wait_for()
        await page.get_by_text("Innkjøp av kjøkkenutstyr").first.wait_for()
        await assert_accessible(page, "project page after a save")

        await page.get_by_role("link", name="Prosjekter i Mat og matsvinn").click()
        await page.get_by_role("cell", name="Gjennomføring").wait_for()
        await assert_accessible(page, "theme's projects")

        lead = await sign_in(browser, live_server, world.lead)
        await lead.page.goto("/themes/mat/people")
        await assert_accessible(lead.page, "theme's people")
        await lead.page.get_by_label("Folk, én per linje").fill("Kari <kari@x.no>; Atlantis")
        await lead.page.get_by_role("button", name="Inviter og send lenkene med e-post").click()
        await lead.page.get_by_role("alert").filter(has_text="Linje 1").wait_for()
        await assert_accessible(lead.page, "theme's people with a wrong list")
        await lead.page.goto("/themes/mat/projects")
        await assert_accessible(lead.page, "theme's projects with the new-project form")
        await lead.page.goto("/municipalities")
        await assert_accessible(lead.page, "municipalities")
