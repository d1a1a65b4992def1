"""The breakout mesh in real headless Chromium: three participants in one open breakout
group all see each other's video.

Each participant has their own browser context with Chromium's fake camera and
microphone. The facilitator (a socket client here: the console is tested elsewhere)
opens the room and one group of three. Every page then joins the mesh through the real
signaling server (`media.join`, `signal`), and `getStats()` on each of its
RTCPeerConnections shows decoded video from both others. The group's video tiles carry
each person's name; mute and camera are toggle buttons; axe-core finds nothing. When the
facilitator calls everyone back, the links close and the camera stops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import socketio

from tests.conftest import WAIT, send
from tests.e2e.conftest import LiveServer, announced, chromium
from tests.e2e.test_live_room import (
    Person,
    assert_accessible,
    enter_room,
    facilitator_by_socket,
    in_the_room,
)

pytestmark = pytest.mark.e2e


# For every RTCPeerConnection of the page: how many video frames it decoded, and its state.
DECODED = """async () => {
  const out = [];
  for (const pc of window.forumMedia.links()) {
    let frames = 0;
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0;
    });
    out.push({ frames, state: pc.connectionState, signaling: pc.signalingState,
      ice: pc.iceConnectionState, local: pc.localDescription && pc.localDescription.type,
      remote: pc.remoteDescription && pc.remoteDescription.type });
  }
  return out;
}"""


async def decoded_from_everyone(page: Any, others: int, log: list[str]) -> list[dict[str, Any]]:
    """The page's links once it has one to each of the `others`, each connected and with
    video decoded (seen under load: a link whose first frame was decoded still reading
    "connecting" for a moment)."""
    deadline = time.monotonic() + WAIT
    links: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        links = await page.evaluate(DECODED)
        if len(links) == others and all(link["frames"] > 0 and link["state"] == "connected"
                                        for link in links):
            return links
        await asyncio.sleep(0.25)
    traces = await page.evaluate("() => window.forumMedia.mesh.traces()")
    raise AssertionError(f"not decoding video from {others} others: {links}; console: {log}; "
                         f"negotiation: {traces}")


async def open_random_groups_of(frida: socketio.AsyncClient, gathering: str, size: int) -> None:
    """Open the room and random breakout groups of `size`, as the facilitator's client."""
    assert (await send(frida, gathering, "room.open"))["ok"]
    answer = await send(frida, gathering, "breakouts.propose", rule="random",
                        group_size=size, spread_municipalities=False)
    assert answer["ok"], answer
    assert (await send(frida, gathering, "breakouts.open", minutes=10))["ok"]


@asynccontextmanager
async def alice_and_bjorn_in_a_group(
        live: LiveServer) -> AsyncIterator[tuple[socketio.AsyncClient, Person, Person]]:
    """Alice and Bjørn in the room, each in a browser of their own, in one breakout group of
    two that the facilitator (a socket client) opened."""
    world = live.world
    gathering = world.gathering.id
    async with facilitator_by_socket(live, gathering) as frida, chromium() as browser:
        alice, bjorn = await in_the_room(browser, live, gathering, world.alice, world.bjorn)
        await open_random_groups_of(frida, gathering, 2)
        yield frida, alice, bjorn


async def test_three_in_a_group_see_each_other(live_server: LiveServer) -> None:
    world = live_server.world
    gathering = world.gathering.id
    cecilie = await live_server.add_participant("Cecilie <b>Celle</b>", "cecilie@example.org")
    people = [world.alice, world.bjorn, cecilie]
    async with facilitator_by_socket(live_server, gathering) as frida, chromium() as browser:
        signed_in = await in_the_room(browser, live_server, gathering, *people)
        pages = [who.page for who in signed_in]
        logs: list[list[str]] = [[] for _ in pages]
        for page, log in zip(pages, logs, strict=True):
            page.on("console", lambda message, log=log: log.append(
                f"{message.type}: {message.text}") if message.type in ("warning", "error")
                else None)

        await open_random_groups_of(frida, gathering, 3)

        # every page: the group's video, a tile for each person with their name as text
        for page in pages:
            await page.locator("#media-box").wait_for(state="visible")
            tiles = page.locator("#media-tiles li.media-tile")
            for person in people:
                await tiles.filter(has_text=person.name).wait_for()
            await tiles.filter(has_text="(deg)").wait_for()
            assert await page.locator("#media-tiles b").count() == 0
            assert await tiles.count() == 3

        # every page decodes video from both others
        for page, log in zip(pages, logs, strict=True):
            links = await decoded_from_everyone(page, others=2, log=log)
            assert all(link["state"] == "connected" for link in links), links

        # mute and camera off are toggle buttons, the devices a labelled choice
        alice = pages[0]
        mute = alice.get_by_role("button", name="Demp mikrofonen")
        assert await mute.get_attribute("aria-pressed") == "false"
        await mute.click()
        assert await mute.get_attribute("aria-pressed") == "true"
        muted = await alice.evaluate(
            "() => window.forumMedia.local.stream.getAudioTracks().every(t => !t.enabled)")
        assert muted
        # the others' fake microphones beep: their tiles light up as speaking, in text too
        speaking = alice.locator("#media-tiles li.media-tile.is-speaking")
        await speaking.locator(".media-speaking").filter(has_text="snakker").first.wait_for()
        assert await speaking.filter(has_text="(deg)").count() == 0
        camera = alice.get_by_role("button", name="Slå av kameraet")
        await camera.click()
        assert await camera.get_attribute("aria-pressed") == "true"
        await alice.get_by_label("Kamera", exact=True).wait_for()
        await alice.get_by_label("Mikrofon", exact=True).wait_for()

        await assert_accessible(alice, "room with the group's video")

        # called back: the links close and the camera stops
        assert (await send(frida, gathering, "breakouts.recall"))["ok"]
        for page in pages:
            await page.locator("#media-box").wait_for(state="hidden")
            await page.wait_for_function("() => window.forumMedia.links().length === 0")
            assert await page.evaluate("() => window.forumMedia.local.stream === null")
        for who in signed_in:
            assert who.errors == [], who.errors


# the page's camera and microphone tracks, kept so they can be checked after the page let go
KEEP_TRACKS = "() => { window.keptTracks = window.forumMedia.local.stream.getTracks(); " \
              "return window.keptTracks.length; }"
TRACKS_ENDED = "() => window.keptTracks.every((t) => t.readyState === 'ended')"
MY_PEER = "() => window.forumMedia.mesh.me"
# the other member's tiles: theirs and exactly one of Alice's, that of the peer `arg`
ONE_TILE_OF = """(peer) => {
  const tiles = [...document.querySelectorAll('#media-tiles li.media-tile')];
  return tiles.length === 2 && tiles.some((t) => t.dataset.peer === peer)
    && window.forumMedia.links().length === 1;
}"""


async def holds_the_video(tab: Any, other: Any, log: list[str]) -> str:
    """`tab` sends and receives video with `other`, who sees it as the one tile of its
    person; answers the tab's peer id."""
    await tab.locator("#media-replaced").wait_for(state="hidden")
    await decoded_from_everyone(tab, others=1, log=log)
    peer = str(await tab.evaluate(MY_PEER))
    await other.wait_for_function(ONE_TILE_OF, arg=peer)
    await decoded_from_everyone(other, others=1, log=log)
    return peer


async def was_replaced(tab: Any) -> None:
    """`tab` says its video moved, sends nothing and has stopped its devices."""
    notice = tab.locator("#media-replaced")
    await notice.wait_for(state="visible")
    await notice.filter(has_text="flyttet til en annen fane").wait_for()
    await announced(tab, "flyttet til en annen fane")
    await tab.wait_for_function(TRACKS_ENDED)
    assert await tab.evaluate("() => window.forumMedia.links().length === 0")
    assert await tab.evaluate("() => window.forumMedia.local.stream === null")


async def test_alices_second_tab_takes_over_her_video_and_the_first_takes_it_back(
        live_server: LiveServer) -> None:
    world = live_server.world
    gathering = world.gathering.id
    async with alice_and_bjorn_in_a_group(live_server) as (_, alice, bjorn):
        log: list[str] = []
        laptop = alice.page
        await holds_the_video(laptop, bjorn.page, log)
        assert await laptop.evaluate(KEEP_TRACKS) == 2

        # the same person opens the room in a second tab: it takes the video over
        tab = Person(alice.context, await alice.context.new_page())
        await enter_room(tab, f"/g/{gathering}")
        phone = tab.page
        await holds_the_video(phone, bjorn.page, log)
        await was_replaced(laptop)
        await assert_accessible(laptop, "room whose video moved to another tab")

        # taken back: the first tab joins again, the second one lets go in turn
        assert await phone.evaluate(KEEP_TRACKS) == 2
        await laptop.get_by_role("button", name="Bruk videoen i denne fanen").click()
        assert await laptop.evaluate("() => document.activeElement.id") == "media-heading"
        await holds_the_video(laptop, bjorn.page, log)
        await was_replaced(phone)
        for who in (alice, bjorn, tab):
            assert who.errors == [], who.errors
