"""The room's shared notes in real browsers: a participant and the facilitator write the
plenary notes together; the facilitators' private notes are on the console only."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import LiveServer, chromium
from tests.e2e.test_live_room import assert_accessible, enter_room, sign_in

pytestmark = pytest.mark.e2e

PLENARY = "#plenary-notes .cm-content"
PRIVATE = "#facilitator-notes .cm-content"


async def test_plenary_notes_are_shared_and_private_notes_stay_on_the_console(
        live_server: LiveServer) -> None:
    world = live_server.world
    gathering = world.gathering.id
    async with chromium() as browser:
        frida = await sign_in(browser, live_server, world.facilitator)
        alice = await sign_in(browser, live_server, world.alice)
        await enter_room(frida, f"/g/{gathering}/console")
        await enter_room(alice, f"/g/{gathering}")

        await alice.page.locator(PLENARY).click()
        await alice.page.keyboard.type("Askvik deler innkjøpsmalen")
        await frida.page.locator(PLENARY).filter(has_text="Askvik deler innkjøpsmalen").wait_for()
        await frida.page.locator(PLENARY).click()
        await frida.page.keyboard.press("End")
        await frida.page.keyboard.type(" – takk!")
        await alice.page.locator(PLENARY).filter(has_text="takk!").wait_for()

        await frida.page.locator(PRIVATE).click()
        await frida.page.keyboard.type("Følg opp Askvik etter samlingen")
        kari = await sign_in(browser, live_server, world.cofacilitator)
        await enter_room(kari, f"/g/{gathering}/console")  # a fellow facilitator reads it
        await kari.page.locator(PRIVATE).filter(has_text="Følg opp Askvik").wait_for()
        assert await alice.page.locator("#facilitator-notes").count() == 0
        assert "Følg opp" not in (await alice.page.content())

        await assert_accessible(frida.page, "console with notes")
        await assert_accessible(alice.page, "room with notes")
        for person in (frida, alice):
            assert person.errors == [], person.errors
