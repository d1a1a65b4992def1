"""The room's shared notes in real browsers: a participant and the facilitator write the
plenary notes together; the facilitators' private notes are on the console only; the notes
editor is a chunk of its own that the room loads on demand, under the real CSP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import WAIT
from tests.e2e.conftest import LiveServer, chromium
from tests.e2e.test_live_room import assert_accessible, enter_room, gathered, open_panel, sign_in
from tests.e2e.test_notes_editor import CSP_WATCH

pytestmark = pytest.mark.e2e

PLENARY = "#plenary-notes .cm-content"
PRIVATE = "#facilitator-notes .cm-content"


async def test_plenary_notes_are_shared_and_private_notes_stay_on_the_console(
        live_server: LiveServer) -> None:
    world = live_server.world
    gathering = world.gathering.id
    async with chromium() as browser:
        frida, alice = await gathered(browser, live_server, gathering, world.facilitator,
                                      world.alice)

        await open_panel(frida.page, "Notater")
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
        await open_panel(kari.page, "Notater")
        await kari.page.locator(PRIVATE).filter(has_text="Følg opp Askvik").wait_for()
        assert await alice.page.locator("#facilitator-notes").count() == 0
        assert "Følg opp" not in (await alice.page.content())

        await assert_accessible(frida.page, "console with notes")
        await assert_accessible(alice.page, "room with notes")
        for person in (frida, alice):
            assert person.errors == [], person.errors


async def test_the_room_runs_before_the_notes_editor_is_loaded(live_server: LiveServer) -> None:
    """The room page (an ES module and its chunks, all from /static/) shows the room while the
    notes editor's chunk is held back; released, the notes open as before. No CSP bypass."""
    world = live_server.world
    async with chromium() as browser:
        context = await browser.new_context(base_url=live_server.url, locale="nb-NO")
        await context.add_init_script(CSP_WATCH)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        scripts: list[str] = []
        page.on("request", lambda request: scripts.append(request.url)
                if request.resource_type == "script" else None)
        held = asyncio.Event()
        release = asyncio.Event()

        async def hold(route: Any) -> None:
            held.set()
            await release.wait()
            await route.continue_()

        await page.route("**/static/chunks/notes-*.js", hold)
        await page.goto(await live_server.sign_in_link(world.alice))
        await page.get_by_role("button", name="Logg inn").click()
        await page.wait_for_url(f"{live_server.url}/gatherings")
        await page.goto(f"/g/{world.gathering.id}")
        await asyncio.wait_for(held.wait(), WAIT)
        # the room is up without the editor: joined, the agenda shown, the notes waiting
        await page.locator("#phase").filter(has_not_text="Kobler til").wait_for()
        await page.locator("#agenda li").first.wait_for()
        await page.locator("#plenary-notes .note-loading").filter(has_text="Kobler til").wait_for()
        assert await page.locator("#plenary-notes .cm-content").count() == 0
        release.set()
        editor = page.get_by_role("textbox", name="Felles notater", exact=True)
        await editor.click()
        await page.keyboard.type("Lastet ved behov")
        await page.locator("#plenary-notes .note-state").filter(
            has_text="Alle endringer er lagret").wait_for()
        assert await page.locator("#plenary-notes .note-loading").count() == 0
        assert await page.evaluate("window.cspViolations || []") == []
        assert errors == [], errors
        origin = f"{live_server.url}/static/"
        assert scripts and all(url.startswith(origin) for url in scripts), scripts
        notes = [url for url in scripts if "/static/chunks/notes-" in url]
        assert len(notes) == 1, scripts
        assert scripts.index(notes[0]) > scripts.index(f"{origin}room.js")
        await context.close()
