"""The speaking queue in real headless Chromium: someone who raised a hand and closed their
tab stays in the queue, marked as not here in the console and in the room, and the console's
"Call next hand" names the next person who is here and gives them the floor."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import LiveServer, announced, chromium
from tests.e2e.test_live_room import assert_accessible, gathered, open_panel, open_the_room

pytestmark = pytest.mark.e2e


async def test_the_console_marks_who_left_the_queue_and_calls_who_is_here(
        live_server: LiveServer) -> None:
    world = live_server.world
    gid = world.gathering.id
    async with chromium() as browser:
        frida, alice, bjorn = await gathered(browser, live_server, gid, world.facilitator,
                                             world.alice, world.bjorn)
        console = frida.page
        await open_the_room(console, alice.page, bjorn.page)
        for who in (alice, bjorn):
            await who.page.get_by_role("button", name="Rekk opp hånden").click()
            await who.page.get_by_role("button", name="Ta ned hånden").wait_for()
        await open_panel(console, "Folk og talerliste")
        queue = console.locator("#hands li")
        await queue.filter(has_text="Bjørn Brekke").wait_for()
        call = console.get_by_role("button", name="Gi ordet til neste: Alice Askvik")
        await call.wait_for()

        # Alice closes her tab: she keeps her place, marked in words, and is passed over
        await alice.page.close()
        await queue.filter(has_text="Alice Askvik").filter(has_text="ikke til stede").wait_for()
        assert await queue.filter(has_text="Bjørn Brekke").filter(
            has_text="ikke til stede").count() == 0
        await bjorn.page.locator("#hands li").filter(has_text="Alice Askvik").filter(
            has_text="ikke til stede").wait_for()
        await assert_accessible(console, "console with someone in the queue who left")
        await console.get_by_role("button", name="Gi ordet til neste: Bjørn Brekke").click()
        await bjorn.page.locator("#speaker").filter(has_text="Bjørn Brekke").wait_for()
        await announced(bjorn.page, "Du har ordet.")

        # nobody left in the queue is here: the button says so and cannot be pressed
        waiting = console.get_by_role(
            "button", name="Gi ordet til neste (ingen i køen er til stede)")
        await waiting.wait_for()
        assert await waiting.is_disabled()
        assert await queue.count() == 1
        for who in (frida, bjorn):
            assert who.errors == [], who.errors
