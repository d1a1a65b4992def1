"""Planning, the published agenda, the theme page and the summary in real headless
Chromium, by keyboard-friendly forms; axe-core finds nothing on any of these pages."""

from __future__ import annotations

import pytest

from rooms.accounts import start_session
from tests.conftest import connect_client, send
from tests.e2e.conftest import LiveServer, chromium
from tests.e2e.test_live_room import assert_accessible, sign_in

pytestmark = pytest.mark.e2e


async def test_plan_publish_and_read(live_server: LiveServer) -> None:
    world = live_server.world
    gid = world.gathering.id
    async with chromium() as browser:
        frida = await sign_in(browser, live_server, world.facilitator)
        page = frida.page
        await page.get_by_role("link", name="Planlegg agendaen").first.click()
        await page.wait_for_url(f"**/g/{gid}/plan")
        await assert_accessible(page, "planner")

        await page.get_by_label("Type punkt").select_option("break")
        await page.get_by_label("Tittel").fill("Kaffepause")
        await page.get_by_label("Planlagte minutter").fill("10")
        await page.get_by_label("Plassering").select_option(label="Før «Oppsummering»")
        await page.get_by_role("button", name="Legg til punktet").click()
        row = page.locator("table.plan tbody tr").nth(3)
        await row.get_by_role("rowheader", name="Kaffepause").wait_for()
        await page.get_by_text("Planen går ikke opp").wait_for()
        await assert_accessible(page, "planner with a plan that does not fit")

        await page.get_by_role("link", name="Endre Kaffepause").click()
        await assert_accessible(page, "item editor")
        await page.get_by_label("Planlagte minutter").fill("5")
        await page.get_by_role("button", name="Lagre punktet").click()
        await page.get_by_text("Planen går ikke opp: 65 minutter planlagt").wait_for()
        await page.get_by_role("button", name="Flytt Kaffepause opp").click()
        await page.locator("table.plan tbody tr").nth(2).get_by_role(
            "rowheader", name="Kaffepause").wait_for()

        # a template: first what it changes, then, confirmed, the agenda keeps her break
        await page.get_by_label("Mal", exact=True).select_option(
            label="Standard samling (to timer)")
        await page.get_by_role("button", name="Se hva malen endrer").click()
        await page.get_by_role(
            "heading", name="Bruk malen «Standard samling (to timer)»?").wait_for()
        await page.get_by_text("«Kaffepause» tar plassen til malens «Pause»").wait_for()
        await page.get_by_role("heading", name="Lagt til fra malen: 2 punkter").wait_for()
        await assert_accessible(page, "template confirmation")
        await page.get_by_role("button", name="Bruk malen").focus()
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"**/g/{gid}/plan#agenda")
        titles = await page.locator("table.plan tbody th[scope=row]").all_inner_texts()
        assert [t.splitlines()[0].strip() for t in titles] == [
            "Velkommen og innsjekk", "Innlegg: matsvinn i skolen", "Spørsmål og svar",
            "Kaffepause", "Grupperom etter prosjektfase", "Deling i plenum", "Oppsummering"]

        await page.goto(f"/g/{gid}/agenda")
        await assert_accessible(page, "published agenda")
        await page.goto("/themes/mat")
        await assert_accessible(page, "theme page")

        # the gathering ends (over the protocol), and the facilitator publishes the summary
        token = await start_session(live_server.sessions, world.facilitator.id, days=1)
        client = await connect_client(live_server.url, token)
        try:
            assert (await send(client, gid, "gathering.end"))["ok"]
        finally:
            await client.disconnect()
        await page.goto(f"/g/{gid}/summary")
        await assert_accessible(page, "summary draft")
        await page.get_by_label("En kort innledning til deltakerne").fill("Takk for sist!")
        await page.get_by_role("button", name="Publiser til deltakerne i temaet").click()
        await page.get_by_text("Publisert").wait_for()

        alice = await sign_in(browser, live_server, world.alice)
        await alice.page.goto("/themes/mat")
        await alice.page.get_by_role("link", name="Les oppsummeringen").click()
        await alice.page.get_by_text("Takk for sist!").wait_for()
        # the ended gathering's room and agenda lead to it too
        for page_of_gathering in (f"/g/{gid}", f"/g/{gid}/agenda"):
            await alice.page.goto(page_of_gathering)
            await alice.page.get_by_role("link", name="Les oppsummeringen").click()
            await alice.page.wait_for_url(f"**/g/{gid}/summary")
        await assert_accessible(alice.page, "published summary")
        await alice.page.get_by_role("link", name="Utskriftsversjon").click()
        await alice.page.get_by_role("heading", name="Oppsummering: Samling 1").wait_for()
        await assert_accessible(alice.page, "print version")
        assert frida.errors == [] and alice.errors == []
