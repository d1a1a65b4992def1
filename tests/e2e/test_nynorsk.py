"""Nynorsk in real headless Chromium: a participant switches to nynorsk from the keyboard on
a page and in the room, and back; the pages say so (`<html lang>`), the room's browser code
speaks nynorsk too, and axe-core finds nothing in either language."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, chromium
from tests.e2e.test_live_room import assert_accessible, sign_in

pytestmark = pytest.mark.e2e

SWITCH = 'form.language-switch button[name="language"][value="{}"]'


async def switch_by_keyboard(page: Any, language: str) -> None:
    """Tab from the top of the page to the switch's button for `language`, press Enter, and
    wait for the page to come back in it."""
    await page.locator("body").focus()
    await page.evaluate("() => document.activeElement && document.activeElement.blur()")
    target = SWITCH.format(language)
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await page.evaluate("(sel) => document.activeElement.matches(sel)", target):
            break
    else:
        pytest.fail(f"Tab never reached the {language} button of the language switch")
    await page.keyboard.press("Enter")
    await page.locator(f'html[lang="{language}"]').wait_for(state="attached")
    assert await page.locator(target).get_attribute("aria-pressed") == "true"


async def test_a_participant_switches_to_nynorsk_on_a_page_and_in_the_room(
        live_server: LiveServer) -> None:
    gathering = live_server.world.gathering.id
    async with chromium() as browser:
        alice = await sign_in(browser, live_server, live_server.world.alice, check_a11y=True)
        page = alice.page
        await page.get_by_role("heading", name="Mine samlinger").wait_for()

        await switch_by_keyboard(page, "nn")
        assert page.url == f"{live_server.url}/gatherings"
        await page.get_by_role("heading", name="Mine samlingar").wait_for()
        assert await page.get_by_text("Rolla di: Deltakar").count() == 1
        await assert_accessible(page, "gatherings page in nynorsk")

        await page.goto(f"/g/{gathering}")
        assert await page.get_attribute("html", "lang") == "nn"
        # the browser code speaks nynorsk: the phase, and the hand to raise
        await page.locator("#phase").filter(has_text="Ikkje starta enno").wait_for()
        await page.get_by_role("button", name="Rekk opp handa").wait_for()
        await assert_accessible(page, "room in nynorsk")

        await switch_by_keyboard(page, "nb")
        assert page.url == f"{live_server.url}/g/{gathering}"
        await page.locator("#phase").filter(has_text="Ikke startet ennå").wait_for()
        await page.get_by_role("button", name="Rekk opp hånden").wait_for()
        await assert_accessible(page, "room in bokmål")

        await switch_by_keyboard(page, "nn")
        await page.locator("#phase").filter(has_text="Ikkje starta enno").wait_for()
        assert alice.errors == []
        await alice.context.close()

        # a new device: the saved language wins
        again = await sign_in(browser, live_server, live_server.world.alice)
        await again.page.get_by_role("heading", name="Mine samlingar").wait_for()
        assert await again.page.get_attribute("html", "lang") == "nn"
        await again.context.close()
