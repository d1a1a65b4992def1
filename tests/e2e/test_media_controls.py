"""Who is muted, who has the camera off, and the facilitator's mute, on the plenary stage and
in a breakout group, in real headless Chromium.

The facilitator goes on stage from the console and gives Alice the floor, so both publish;
Bjørn watches. Alice's own mute and camera show on the others' tiles as words; the
facilitator's "Mute Alice Askvik" button mutes Alice's microphone on her page (her mute
button is pressed, and she is told); a person who opens the room later learns the states
already set; a participant has no mute buttons; axe-core finds nothing with the indicators
shown. In a group of two, Alice's mute shows on Bjørn's tile of her, and a facilitator's
mute (sent from a python-socketio client) mutes Bjørn's page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import WAIT
from tests.e2e.conftest import LiveServer, announced, chromium
from tests.e2e.test_live_room import (
    assert_accessible,
    enter_room,
    gathered,
    open_panel,
    open_the_room,
    sign_in,
)
from tests.e2e.test_media_mesh import alice_and_bjorn_in_a_group

pytestmark = pytest.mark.e2e

MIC_OFF = "mikrofon av"
CAMERA_OFF = "kamera av"


def tile(page: Any, person_id: int) -> Any:
    return page.locator(f'#stage-video-tiles li[data-publisher="{person_id}"]')


def flag(page: Any, person_id: int, text: str) -> Any:
    return tile(page, person_id).locator(".media-flag").filter(has_text=text)


async def test_mute_indicators_and_the_facilitators_mute(
        live_server: LiveServer, loopback_ice: None) -> None:
    world = live_server.world
    gathering = world.gathering.id
    alice_id = world.alice.id
    async with chromium() as browser:
        frida, alice, bjorn = await gathered(browser, live_server, gathering, world.facilitator,
                                             world.alice, world.bjorn)
        console = frida.page

        # the facilitator opens the room, goes on stage, and gives Alice the floor
        await open_the_room(console)
        await open_panel(console, "Scene og opptak")
        await console.get_by_role("button", name="Gå på scenen med kamera og mikrofon").click()
        await console.locator("#stage-video-tiles li").filter(has_text="(deg)").wait_for()
        await alice.page.get_by_role("button", name="Rekk opp hånden").click()
        await open_panel(console, "Folk og talerliste")
        await console.locator("#hands li").filter(has_text=world.alice.name).wait_for()
        await console.get_by_role("button", name="Gi ordet til neste").click()
        await open_panel(console, "Scene og opptak")
        await alice.page.wait_for_function("() => window.forumStage.publisher() !== null")
        await tile(bjorn.page, alice_id).wait_for()
        alice_mute = alice.page.locator("#stage-video-mute")
        await alice_mute.wait_for()

        # Alice mutes herself and turns her camera off: the others read it on her tile
        await alice_mute.click()
        assert await alice_mute.get_attribute("aria-pressed") == "true"
        await flag(bjorn.page, alice_id, MIC_OFF).wait_for()
        await flag(console, alice_id, MIC_OFF).wait_for()
        await alice.page.locator("#stage-video-camera").click()
        await flag(bjorn.page, alice_id, CAMERA_OFF).wait_for()
        assert await flag(bjorn.page, world.facilitator.id, MIC_OFF).is_hidden()

        # someone who opens the room now learns the states already set
        late = await sign_in(browser, live_server, world.expert)
        await enter_room(late, f"/g/{gathering}")
        await flag(late.page, alice_id, MIC_OFF).wait_for()
        await flag(late.page, alice_id, CAMERA_OFF).wait_for()

        # she turns both on again: the words go
        await alice_mute.click()
        await alice.page.locator("#stage-video-camera").click()
        await flag(bjorn.page, alice_id, MIC_OFF).wait_for(state="hidden")
        await flag(bjorn.page, alice_id, CAMERA_OFF).wait_for(state="hidden")
        assert await alice_mute.get_attribute("aria-pressed") == "false"

        # the facilitator mutes Alice from her tile in the console, by keyboard
        mute_alice = console.get_by_role("button", name=f"Demp {world.alice.name}")
        await mute_alice.focus()
        await console.keyboard.press("Enter")
        await alice.page.locator('#stage-video-mute[aria-pressed="true"]').wait_for()
        await announced(alice.page, "Temalederen dempet mikrofonen din.")
        assert await alice.page.evaluate(
            "() => window.forumStage.local.track('audio').enabled") is False
        await flag(bjorn.page, alice_id, MIC_OFF).wait_for()
        await announced(console, f"Du dempet {world.alice.name}.")

        # a participant has no mute buttons for others; nobody but Alice unmutes her
        assert await bjorn.page.locator(".media-mute-other").count() == 0
        await alice_mute.click()
        await flag(bjorn.page, alice_id, MIC_OFF).wait_for(state="hidden")

        # indicators shown again for the accessibility check
        await alice_mute.click()
        await flag(bjorn.page, alice_id, MIC_OFF).wait_for()
        await flag(console, alice_id, MIC_OFF).wait_for()
        await assert_accessible(bjorn.page, "room with the mute indicators")
        await assert_accessible(console, "console with the mute indicators and buttons")

        for who in (frida, alice, bjorn, late):
            assert who.errors == [], who.errors


async def test_mute_indicators_and_the_facilitators_mute_in_a_group(
        live_server: LiveServer) -> None:
    world = live_server.world
    gathering = world.gathering.id
    async with alice_and_bjorn_in_a_group(live_server) as (frida, alice, bjorn):

        def mesh_flag(who: Any, name: str, text: str) -> Any:
            return who.page.locator("#media-tiles li.media-tile").filter(
                has_text=name).locator(".media-flag").filter(has_text=text)

        alice_mute = alice.page.locator("#media-mute")
        for who in (alice, bjorn):  # enabled once the microphone has started
            await who.page.locator("#media-mute:enabled").wait_for()
        await bjorn.page.locator("#media-tiles li").filter(has_text=world.alice.name
                                                           ).wait_for()
        await alice_mute.click()
        await mesh_flag(bjorn, world.alice.name, MIC_OFF).wait_for()
        assert await alice.page.locator(".media-mute-other").count() == 0

        answer = await frida.call("media.mute", {"gathering": gathering,
                                                 "person_id": world.bjorn.id}, timeout=WAIT)
        assert answer == {"ok": True}
        await bjorn.page.locator('#media-mute[aria-pressed="true"]').wait_for()
        await announced(bjorn.page, "Temalederen dempet mikrofonen din.")
        await mesh_flag(alice, world.bjorn.name, MIC_OFF).wait_for()
        await assert_accessible(alice.page, "group video with the mute indicators")
        for who in (alice, bjorn):
            assert who.errors == [], who.errors
