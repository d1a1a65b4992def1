"""Privacy in real headless Chromium, by keyboard: a participant opens "Mine data" from the
footer, downloads their data as JSON and deletes themselves after confirming; the programme
lead's list of people and its confirmation page; the privacy page in both languages.
axe-core finds nothing on any of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.models import Person
from rooms.privacy import DELETED_NAME
from tests.e2e.conftest import LiveServer, chromium
from tests.e2e.test_live_room import assert_accessible, sign_in
from tests.factories import World

pytestmark = pytest.mark.e2e


async def press(page: object, locator: object, key: str = "Enter") -> None:
    await locator.focus()  # type: ignore[attr-defined]
    await page.keyboard.press(key)  # type: ignore[attr-defined]


async def test_download_my_data_and_delete_me_by_keyboard(
        live_server: LiveServer, sessions: async_sessionmaker, world: World,
        tmp_path: Path) -> None:
    async with chromium() as browser:
        alice = await sign_in(browser, live_server, world.alice)
        page = alice.page
        await press(page, page.get_by_role("contentinfo").get_by_role("link", name="Mine data"))
        await page.get_by_role("heading", name="Mine data", level=1).wait_for()
        assert "alice@example.org" in await page.locator("main").inner_text()
        await assert_accessible(page, "my data page")

        async with page.expect_download() as download_info:
            await press(page, page.get_by_role("link", name="Last ned alle dataene mine (JSON)"))
        download = await download_info.value
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        data = json.loads(saved.read_text(encoding="utf-8"))
        assert data["profile"]["name"] == "Alice Askvik"
        assert data["memberships"][0]["theme"] == "mat"

        await press(page, page.get_by_role("link", name="Slett meg fra Klimasats-forum"))
        await page.get_by_role("heading", name="Slett meg", level=1).wait_for()
        await assert_accessible(page, "delete me page")
        await press(page, page.get_by_role("checkbox", name="Ja, slett meg og alt om meg"),
                    "Space")
        await press(page, page.get_by_role("button", name="Slett meg"))
        await page.wait_for_url(f"{live_server.url}/privacy?deleted=1")
        await page.get_by_role("status").filter(has_text="Du er slettet").wait_for()
        await page.get_by_role("heading", name="Personvern i Klimasats-forum").wait_for()
        await assert_accessible(page, "privacy page after deleting myself")
        async with sessions() as s:
            gone = await s.get(Person, world.alice.id)
            assert gone is not None and gone.name == DELETED_NAME
        await page.goto("/me/data")
        await page.wait_for_url(f"{live_server.url}/")  # signed out


async def test_the_lead_deletes_a_person_and_the_privacy_page_in_nynorsk(
        live_server: LiveServer, world: World) -> None:
    async with chromium() as browser:
        lead = await sign_in(browser, live_server, world.lead)
        page = lead.page
        await page.goto("/privacy/people")
        await page.get_by_role("heading", name="Personer og dataene deres").wait_for()
        await assert_accessible(page, "people and their data")
        await press(page, page.get_by_role("link", name="Slett Bjørn Brekke"))
        await page.get_by_role("heading", name="Slett Bjørn Brekke").wait_for()
        await assert_accessible(page, "delete a person page")
        await press(page, page.get_by_role("checkbox"), "Space")
        await press(page, page.get_by_role("button", name="Slett personen"))
        await page.get_by_role("status").filter(has_text="Personen er slettet.").wait_for()
        assert "Bjørn Brekke" not in await page.locator("main").inner_text()

        await page.goto("/privacy")
        await page.get_by_role("heading", name="Personvern i Klimasats-forum").wait_for()
        await press(page, page.get_by_role("button", name="Nynorsk"))
        await page.get_by_text("Kva som blir lagra, og kvifor").wait_for()
        assert await page.get_attribute("html", "lang") == "nn"
        assert "365 dagar" in await page.locator("main").inner_text()
        await assert_accessible(page, "privacy page in nynorsk")
        await page.goto("/privacy/people")
        await assert_accessible(page, "people and their data in nynorsk")
