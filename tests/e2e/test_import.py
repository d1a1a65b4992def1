"""The programme lead imports the grant list in headless Chromium: upload, dry run with the
broken rows, import, result; axe-core finds nothing on any of these pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rooms.models import Person, Project, Theme
from tests.e2e.conftest import LiveServer, chromium
from tests.e2e.test_live_room import assert_accessible, sign_in

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parents[1] / "data"


async def projects(live: LiveServer) -> int:
    async with live.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Project)) or 0)


async def test_the_lead_imports_the_grant_list(live_server: LiveServer) -> None:
    async with live_server.sessions() as session:
        session.add(Theme(slug="sirkular", name="Sirkulærøkonomi"))
        await session.commit()
    async with chromium() as browser:
        lead = await sign_in(browser, live_server, live_server.world.lead)
        page = lead.page
        await page.get_by_role("link", name="Importer tilskuddslisten").click()
        await page.wait_for_url("**/import")
        await assert_accessible(page, "upload page")

        # a broken list first: the dry run lists every broken row with its line and why
        await page.get_by_label("Tilskuddsliste").set_input_files(DATA / "tilskudd_feil.csv")
        await page.get_by_role("button", name="Vis hva importen vil gjøre").click()
        await page.get_by_role("heading", name="Hva importen vil gjøre").wait_for()
        broken = page.get_by_role("table", name="Rader med feil, med linjen i filen og hvorfor")
        line_8 = broken.get_by_role("row").filter(has=page.get_by_role("rowheader", name="8"))
        await line_8.get_by_text("ingen tema passer til kategorien «Transport»").wait_for()
        assert await broken.locator("tbody tr").count() == 12
        await assert_accessible(page, "dry run with broken rows")

        # then the clean one, as .xlsx: dry run, import, result
        await page.get_by_role("link", name="Last opp en annen fil").click()
        await page.get_by_label("Tilskuddsliste").set_input_files(DATA / "tilskudd_2026.xlsx")
        await page.get_by_label("Tilskuddsliste").focus()
        await page.keyboard.press("Tab")  # the mapping
        await page.keyboard.press("Tab")  # the button
        await page.keyboard.press("Enter")
        await page.get_by_text("10 prosjekter opprettes").wait_for()
        await page.get_by_role("table", name="Prosjekter som opprettes").get_by_role(
            "rowheader", name="Regional plan for arealbruk").wait_for()
        await assert_accessible(page, "dry run")
        assert await projects(live_server) == 0
        await page.get_by_role("button", name="Importer", exact=True).click()
        await page.get_by_role("heading", name="Tilskuddslisten er importert").wait_for()
        await page.get_by_text("10 prosjekter opprettet").wait_for()
        await assert_accessible(page, "import result")
        assert await projects(live_server) == 10

        # the result links to inviting the contacts; there, one button e-mails them all
        link = page.get_by_role("link", name="Send innloggingslenker til kontaktpersonene i "
                                             "Mat og matsvinn")
        people = await page.context.new_page()
        await people.goto(str(await link.get_attribute("href")))
        await assert_accessible(people, "people page with contacts waiting")
        await people.get_by_role("button", name=re.compile(
            r"^Send innloggingslenker til disse \d+ personene")).focus()
        await people.keyboard.press("Enter")
        await people.get_by_role("status").filter(has_text="Inviterte").wait_for()
        await people.get_by_text("Alle i temaet har logget inn eller har en åpen lenke.").wait_for()
        await assert_accessible(people, "people page after inviting the contacts")
        await people.close()

        # the same file again: nothing to import
        await page.get_by_role("link", name="Importer en annen fil").click()
        await page.get_by_label("Tilskuddsliste").set_input_files(DATA / "tilskudd_2026.csv")
        await page.get_by_role("button", name="Vis hva importen vil gjøre").click()
        await page.get_by_text("10 rader uendret (hoppes over)").wait_for()
        assert await page.get_by_role("button", name="Importer", exact=True).count() == 0
        await page.get_by_text("Vis de 10 uendrede radene").click()  # opens the details
        await assert_accessible(page, "dry run with nothing to do")
    assert await projects(live_server) == 10


async def test_the_import_pages_in_nynorsk(live_server: LiveServer) -> None:
    async with live_server.sessions() as session:
        lead = await session.get(Person, live_server.world.lead.id)
        assert lead is not None
        lead.language = "nn"  # the person's saved language wins on every device
        await session.commit()
    async with chromium() as browser:
        page = (await sign_in(browser, live_server, live_server.world.lead)).page
        await page.goto("/import")
        assert await page.locator("html").get_attribute("lang") == "nn"
        await page.get_by_role("heading", name="Importer tilskotslista").wait_for()
        await assert_accessible(page, "upload page in nynorsk")
        await page.get_by_label("Tilskotsliste").set_input_files(DATA / "tilskudd_feil.csv")
        await page.get_by_role("button", name="Vis kva importen vil gjere").click()
        await page.get_by_text("«tjuetjueseks» er ikkje eit tilskotsår").wait_for()
        await page.get_by_text("12 rader med feil, blir ikkje importerte").wait_for()
        await assert_accessible(page, "dry run in nynorsk")
        await page.get_by_role("button", name="Importer", exact=True).click()
        await page.get_by_role("heading", name="Tilskotslista er importert").wait_for()
        await assert_accessible(page, "import result in nynorsk")
    assert await projects(live_server) == 2  # the two good rows
