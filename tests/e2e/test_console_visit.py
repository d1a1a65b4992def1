"""The facilitator joins a breakout group's video from the console, in real headless Chromium.

Alice and Bjørn (each in their own browser context, with Chromium's fake camera and
microphone) are in the group "Fjellet"; Cecilie and Dina (socket clients: no media) are in
"Fjorden". The facilitator's console presses "Bli med i gruppens video" for Fjellet, from
the keyboard: the console decodes both members' video and both members decode the
facilitator's, and the members keep the link when the gathering's state changes. axe-core
finds nothing on the console with the group's video shown. Joining Fjorden's video instead
closes the links to Fjellet (its members drop the facilitator's tile); leaving stops the
camera; joining again and calling everyone back closes every link."""

from __future__ import annotations

from typing import Any

import pytest
import socketio

from rooms.accounts import start_session
from tests.conftest import connect_client, send
from tests.e2e.conftest import LiveServer, announced, chromium
from tests.e2e.test_live_room import Person, assert_accessible, gathered
from tests.e2e.test_media_mesh import DECODED, decoded_from_everyone

pytestmark = pytest.mark.e2e

JOIN = "Bli med i gruppens video"
LEAVE = "Forlat gruppens video"
NO_LINKS = "() => window.forumMedia.links().length === 0"


def watch_console(page: Any) -> list[str]:
    log: list[str] = []
    page.on("console", lambda message: log.append(f"{message.type}: {message.text}")
            if message.type in ("warning", "error") else None)
    return log


async def open_two_groups(frida: socketio.AsyncClient, gathering: str,
                          groups: dict[str, list[int]]) -> None:
    """Open the room and two breakout groups with these names and people (by hand)."""
    assert (await send(frida, gathering, "room.open"))["ok"]
    answer = await send(frida, gathering, "breakouts.propose", rule="random", group_size=2,
                        spread_municipalities=False)
    assert answer["ok"], answer
    for group_id, (name, people) in zip(("g1", "g2"), groups.items(), strict=True):
        assert (await send(frida, gathering, "breakouts.rename", group=group_id,
                           name=name))["ok"]
        for person_id in people:
            assert (await send(frida, gathering, "breakouts.move", person_id=person_id,
                               to_group=group_id))["ok"]
    assert (await send(frida, gathering, "breakouts.open", minutes=10))["ok"]


def group_section(console: Any, name: str) -> Any:
    return console.locator("#breakouts-panel section.breakout-group").filter(
        has=console.get_by_role("heading", name=name))


async def press(console: Any, group: Any, label: str) -> None:
    """Press a group's video toggle from the keyboard; the focus stays on the toggle."""
    toggle = group.get_by_role("button", name=label, exact=True)
    await toggle.focus()
    toggle_id = await toggle.get_attribute("id")
    await console.keyboard.press("Enter")
    await console.wait_for_function("id => document.activeElement && "
                                    "document.activeElement.id === id", arg=toggle_id)


async def links_of(page: Any) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = await page.evaluate(DECODED)
    return links


async def test_the_facilitator_sees_and_hears_a_group_from_the_console(
        live_server: LiveServer) -> None:
    world = live_server.world
    gathering = world.gathering.id
    cecilie = await live_server.add_participant("Cecilie Celle", "cecilie@example.org")
    dina = await live_server.add_participant("Dina Dal", "dina@example.org")
    clients = [await connect_client(live_server.url, await session_of(live_server, p))
               for p in (world.facilitator, cecilie, dina)]
    frida = clients[0]
    try:
        for client in clients:
            assert (await send(client, gathering, "room.join"))["ok"]
        async with chromium() as browser:
            console_person, *members = await gathered(
                browser, live_server, gathering, world.facilitator, world.alice, world.bjorn)
            console = console_person.page
            logs = [watch_console(who.page) for who in (console_person, *members)]
            await open_two_groups(frida, gathering, {
                "Fjellet": [world.alice.id, world.bjorn.id], "Fjorden": [cecilie.id, dina.id]})
            await run_the_visit(console, members, logs, frida, gathering)
            for who in (console_person, *members):
                assert who.errors == [], who.errors
    finally:
        for client in clients:
            await client.disconnect()


async def session_of(live: LiveServer, person: Any) -> str:
    return await start_session(live.sessions, person.id, days=1)


async def run_the_visit(console: Any, members: list[Person], logs: list[list[str]],
                        frida: socketio.AsyncClient, gathering: str) -> None:
    fjellet, fjorden = group_section(console, "Fjellet"), group_section(console, "Fjorden")
    await fjellet.get_by_role("button", name=JOIN, exact=True).wait_for()
    assert await console.locator("#media-box").is_hidden()
    assert await console.locator("#media-box").count() == 1

    # into Fjellet's video: the console decodes both members, both decode the facilitator
    await press(console, fjellet, JOIN)
    await fjellet.get_by_role("button", name=LEAVE, exact=True).wait_for()
    await announced(console, "Du er med i videoen i Fjellet")
    await console.locator("#media-heading").filter(has_text="Video i Fjellet").wait_for()
    tiles = console.locator("#media-tiles li.media-tile")
    for name in ("Alice Askvik", "Bjørn Brekke", "(deg)"):
        await tiles.filter(has_text=name).wait_for()
    links = await decoded_from_everyone(console, others=2, log=logs[0])
    assert all(link["state"] == "connected" for link in links), links
    for member, log in zip(members, logs[1:], strict=True):
        await member.page.locator("#media-tiles li.media-tile").filter(
            has_text="Frida Fasilitator").wait_for()
        await decoded_from_everyone(member.page, others=2, log=log)

    # the gathering's state changes (a message to the groups): the members keep the link
    assert (await send(frida, gathering, "breakouts.broadcast", text="Fem minutter igjen"))["ok"]
    for member in members:
        await member.page.locator("#group-broadcasts li").filter(
            has_text="Fem minutter igjen").wait_for()
        links = await links_of(member.page)
        assert len(links) == 2 and all(link["state"] == "connected" for link in links), links

    await assert_accessible(console, "console with a group's video")

    # Fjorden's video instead: the links to Fjellet close, its members drop the facilitator
    await press(console, fjorden, JOIN)
    await fjorden.get_by_role("button", name=LEAVE, exact=True).wait_for()
    await fjellet.get_by_role("button", name=JOIN, exact=True).wait_for()
    await console.locator("#media-heading").filter(has_text="Video i Fjorden").wait_for()
    await console.wait_for_function(NO_LINKS)  # nobody in Fjorden sends media
    for member in members:
        await member.page.locator("#media-tiles li.media-tile").filter(
            has_text="Frida Fasilitator").wait_for(state="detached")
        await member.page.wait_for_function("() => window.forumMedia.links().length === 1")

    # leaving: the video box goes, the camera stops
    await press(console, fjorden, LEAVE)
    await announced(console, "Du har forlatt videoen i Fjorden")
    await console.locator("#media-box").wait_for(state="hidden")
    assert await console.evaluate("() => window.forumMedia.local.stream === null")

    # back into Fjellet, then everyone is called back: every link closes
    await press(console, fjellet, JOIN)
    await decoded_from_everyone(console, others=2, log=logs[0])
    await console.get_by_role("button", name="Kall alle tilbake").click()
    for page in (console, *(m.page for m in members)):
        await page.locator("#media-box").wait_for(state="hidden")
        await page.wait_for_function(NO_LINKS)
    assert await console.evaluate("() => window.forumMedia.local.stream === null")
    assert await console.get_by_role("button", name=JOIN).count() == 0
