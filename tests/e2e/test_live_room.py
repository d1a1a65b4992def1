"""The live room in real headless Chromium: sign in by link, run a gathering, stay in step.

One facilitator and two participants, each in their own browser context (own cookies).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import socketio
from playwright.async_api import TimeoutError as PlaywrightTimeout

from rooms.accounts import start_session
from tests.conftest import WAIT, connect_client, send
from tests.e2e.conftest import LiveServer, SocketTap, announced, axe_violations, chromium

pytestmark = pytest.mark.e2e

COUNTDOWN = re.compile(r"^(\d\d):(\d\d) igjen$")
POSTED = "#chat li:not(.is-pending)"  # chat messages the server has posted
PANEL_WAIT = 5.0  # seconds before a console tab that showed nothing is pressed again


class Person:
    """One signed-in browser context and what went wrong in its pages."""

    def __init__(self, context: Any, page: Any) -> None:
        self.context = context
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self._dialog)

    async def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()


async def assert_accessible(page: Any, what: str) -> None:
    violations = await axe_violations(page)
    assert violations == [], f"axe-core found problems on the {what}: {violations}"


async def sign_in(browser: Any, live: LiveServer, person: Any, *,
                  check_a11y: bool = False) -> Person:
    """Follow a sign-in link the way a person does: open it, press "Logg inn"."""
    # bypass_csp only so the test can inject axe-core; the pages themselves run under the CSP
    context = await browser.new_context(base_url=live.url, locale="nb-NO", bypass_csp=True)
    page = await context.new_page()
    signed_in = Person(context, page)
    if check_a11y:
        await page.goto("/")
        await assert_accessible(page, "landing page")
    await page.goto(await live.sign_in_link(person))
    if check_a11y:
        await assert_accessible(page, "sign-in page")
    await page.get_by_role("button", name="Logg inn").click()
    await page.wait_for_url(f"{live.url}/gatherings")
    if check_a11y:
        await assert_accessible(page, "gatherings page")
    return signed_in


async def enter_room(who: Person, path: str | None = None) -> None:
    if path is not None:
        await who.page.goto(path)
    # connected and joined: the phase shows instead of "Kobler til …"
    await who.page.locator("#phase").filter(has_not_text="Kobler til").wait_for()


async def signed_in(browser: Any, live: LiveServer, *people: Any) -> list[Person]:
    """Each of `people` signed in by link, in a browser context of their own."""
    return [await sign_in(browser, live, person) for person in people]


async def join_the_room(gathering: str, *people: Person) -> None:
    """Each of `people` opens the gathering's room and has joined it."""
    for who in people:
        await enter_room(who, f"/g/{gathering}")


async def in_the_room(browser: Any, live: LiveServer, gathering: str,
                      *people: Any) -> list[Person]:
    """`people` signed in (`signed_in`) and in the gathering's room, in that order."""
    everyone = await signed_in(browser, live, *people)
    await join_the_room(gathering, *everyone)
    return everyone


async def gather(gathering: str, facilitator: Person, *people: Person) -> None:
    """The facilitator on the gathering's console, `people` in its room, each joined."""
    await enter_room(facilitator, f"/g/{gathering}/console")
    await join_the_room(gathering, *people)


async def gathered(browser: Any, live: LiveServer, gathering: str, facilitator: Any,
                   *people: Any) -> list[Person]:
    """The facilitator and `people` signed in and gathered (`gather`), in that order."""
    everyone = await signed_in(browser, live, facilitator, *people)
    await gather(gathering, *everyone)
    return everyone


async def open_the_room(console: Any, *pages: Any) -> None:
    """The facilitator presses "Åpne rommet"; then each of `pages` (the console itself when
    none is named) shows the room open: the console ignores a click while a command of its
    is under way."""
    await console.get_by_role("button", name="Åpne rommet").click()
    for page in pages or (console,):
        await page.locator("#phase").filter(has_text="Pågår").wait_for()


@asynccontextmanager
async def facilitator_by_socket(live: LiveServer,
                                gathering: str) -> AsyncIterator[socketio.AsyncClient]:
    """The facilitator as a python-socketio client in the gathering's room (the console is
    tested elsewhere), disconnected afterwards."""
    token = await start_session(live.sessions, live.world.facilitator.id, days=1)
    client = await connect_client(live.url, token)
    try:
        assert (await send(client, gathering, "room.join"))["ok"]
        yield client
    finally:
        await client.disconnect()


async def open_panel(page: Any, name: str) -> None:
    """Show one of the console's panels ("Chat", "Folk og talerliste", …) the way a
    facilitator does: by its tab."""
    tab = page.get_by_role("tab", name=name)
    panel = page.locator(f"#{await tab.get_attribute('aria-controls')}")
    await tab.click()
    # On a loaded machine the console may still be applying a state from before the click
    # and show the panel that suits it: the facilitator then presses the tab again.
    for _ in range(int(WAIT / PANEL_WAIT)):
        try:
            await panel.wait_for(timeout=PANEL_WAIT * 1000)
            return
        except PlaywrightTimeout:
            await tab.click()
    await panel.wait_for()


async def countdown_seconds(page: Any) -> int:
    text = (await page.locator("#timer").text_content() or "").strip()
    match = COUNTDOWN.match(text)
    assert match, f"not a running countdown: {text!r}"
    return int(match[1]) * 60 + int(match[2])


async def test_facilitator_runs_the_room_and_participants_follow(
        live_server: LiveServer) -> None:
    world = live_server.world
    gathering = world.gathering.id
    async with chromium() as browser:
        frida = await sign_in(browser, live_server, world.facilitator, check_a11y=True)
        alice = await sign_in(browser, live_server, world.alice)
        bjorn = await sign_in(browser, live_server, world.bjorn)
        people = (frida, alice, bjorn)

        # the gatherings page links the facilitator to the console, participants to the room
        await frida.page.locator(f"a[href='/g/{gathering}/console']").click()
        await enter_room(frida)
        for participant in (alice, bjorn):
            assert await participant.page.locator("a[href$='/console']").count() == 0
            await participant.page.locator(f"a[href='/g/{gathering}']").click()
            await enter_room(participant)
        await assert_accessible(frida.page, "console page")
        await assert_accessible(alice.page, "room page")

        console = frida.page
        await open_the_room(console, alice.page, bjorn.page)
        # advance twice: first item, then the expert talk (20 minutes)
        await console.get_by_role("button", name="Neste punkt").click()
        await console.locator("#current-title").filter(
            has_text="Velkommen og innsjekk").wait_for()
        await console.get_by_role("button", name="Neste punkt").click()

        for participant in (alice, bjorn):
            page = participant.page
            await page.locator("#current-title").filter(
                has_text="Innlegg: matsvinn i skolen").wait_for()
            current = page.locator("#agenda li[aria-current='step']")
            await current.filter(has_text="Innlegg: matsvinn i skolen").wait_for()
            await page.locator("#timer").filter(has_text=COUNTDOWN).wait_for()
        # every browser shows the same remaining time, and it runs
        first = [await countdown_seconds(p.page) for p in people]
        assert min(first) >= 19 * 60 + 55 and max(first) <= 20 * 60, first
        assert max(first) - min(first) <= 1, first
        await alice.page.wait_for_function(
            "s => !document.getElementById('timer').textContent.startsWith(s)",
            arg=(await alice.page.locator("#timer").text_content() or "")[:5])
        assert await countdown_seconds(alice.page) < first[1]

        # a participant raises a hand; the console sees them in the queue
        await alice.page.get_by_role("button", name="Rekk opp hånden").click()
        await alice.page.get_by_role("button", name="Ta ned hånden").wait_for()
        await open_panel(console, "Folk og talerliste")
        await console.locator("#hands li").filter(has_text="Alice Askvik").wait_for()
        await bjorn.page.locator("#hands li").filter(has_text="Alice Askvik").wait_for()

        # the facilitator gives her the floor
        await console.get_by_role("button", name="Gi ordet til neste").click()
        await alice.page.locator("#speaker").filter(has_text="Alice Askvik").wait_for()
        await announced(alice.page, "Du har ordet.")
        await console.locator("#hands li").first.wait_for(state="detached")

        # chat reaches everyone
        await open_panel(console, "Chat")
        await bjorn.page.get_by_label("Melding").fill("Hei fra Brekke!")
        await bjorn.page.get_by_role("button", name="Send").click()
        for who in people:
            await who.page.locator(POSTED).filter(has_text="Hei fra Brekke!").wait_for()
        assert await bjorn.page.get_by_label("Melding").input_value() == ""

        # presence grouped by municipality
        presence = alice.page.locator("#presence")
        await presence.locator("li.presence-group").filter(
            has_text="Brekke kommune").filter(has_text="Bjørn Brekke").wait_for()

        # and with everything filled in, still no accessibility problems
        await assert_accessible(console, "console page, live")
        await assert_accessible(alice.page, "room page, live")
        for who in people:
            assert who.errors == [], who.errors


async def test_two_consoles_do_not_double_advance(live_server: LiveServer) -> None:
    world = live_server.world
    console = f"/g/{world.gathering.id}/console"
    async with chromium() as browser:
        frida, kari = await signed_in(browser, live_server, world.facilitator,
                                      world.cofacilitator)
        tap = SocketTap()  # between Kari's console and the server
        await tap.attach(kari.page)
        for who in (frida, kari):
            await enter_room(who, console)
        await open_the_room(frida.page, kari.page)

        # Kari's view goes stale: Frida advances, Kari does not hear of it yet
        tap.holding = True
        await frida.page.get_by_role("button", name="Neste punkt").click()
        await frida.page.locator("#current-title").filter(
            has_text="Velkommen og innsjekk").wait_for()
        assert "Venter på første" in (await kari.page.locator("#current-title").text_content()
                                      or "")
        # Kari presses "next" from the view she has: refused as a conflict, she catches up
        await kari.page.get_by_role("button", name="Neste punkt").click()
        await kari.page.locator("#status").filter(has_text="allerede gått videre").wait_for()
        await kari.page.locator("#current-title").filter(
            has_text="Velkommen og innsjekk").wait_for()
        tap.release()  # the late events are old news now, and ignored

        # a lost event leaves a gap in the versions; the next one makes Kari catch up
        tap.drop = 1
        await open_panel(frida.page, "Chat")
        await frida.page.get_by_label("Melding").fill("Bare Frida ser denne direkte")
        await frida.page.get_by_role("button", name="Send").click()
        await frida.page.locator(POSTED).filter(has_text="Bare Frida").wait_for()
        await frida.page.get_by_role("button", name="Neste punkt").click()
        await kari.page.locator("#current-title").filter(
            has_text="Innlegg: matsvinn i skolen").wait_for()
        await open_panel(kari.page, "Chat")
        await kari.page.locator(POSTED).filter(has_text="Bare Frida").wait_for()

        for who in (frida, kari):
            assert await who.page.locator("#agenda li[aria-current='step']").text_content() \
                == await frida.page.locator("#agenda li[aria-current='step']").text_content()
            assert await who.page.locator(POSTED).count() == 1
            assert who.errors == [], who.errors


async def test_reconnect_keeps_typing_and_catches_up(live_server: LiveServer) -> None:
    world = live_server.world
    gathering = world.gathering.id
    async with chromium() as browser:
        frida, alice = await gathered(browser, live_server, gathering, world.facilitator,
                                      world.alice)
        await open_the_room(frida.page, alice.page)

        draft = alice.page.get_by_label("Melding")
        await draft.fill("Et halvskrevet spørsmål")
        await alice.context.set_offline(True)
        await alice.page.locator("#connection").filter(has_text="Kobler til på nytt").wait_for()
        # while Alice is away the agenda moves on, and she sends a message
        await frida.page.get_by_role("button", name="Neste punkt").click()
        await frida.page.locator("#current-title").filter(
            has_text="Velkommen og innsjekk").wait_for()
        await draft.fill("Sendt mens jeg var borte")
        await alice.page.get_by_role("button", name="Send").click()
        await alice.page.locator("#chat li.is-pending").wait_for()
        await draft.fill("Et halvskrevet spørsmål")
        await alice.context.set_offline(False)

        await alice.page.locator("#connection").filter(has_text=re.compile("^$")).wait_for(
            state="attached")
        await alice.page.locator("#current-title").filter(
            has_text="Velkommen og innsjekk").wait_for()
        await open_panel(frida.page, "Chat")
        await frida.page.locator(POSTED).filter(has_text="Sendt mens jeg var borte").wait_for()
        await alice.page.locator("#chat li.is-pending").wait_for(state="detached")
        assert await draft.input_value() == "Et halvskrevet spørsmål"
        assert await frida.page.locator(POSTED).filter(
            has_text="Sendt mens jeg var borte").count() == 1
        for who in (frida, alice):
            assert who.errors == [], who.errors


async def test_hostile_display_name_is_shown_as_text(live_server: LiveServer) -> None:
    world = live_server.world
    gathering = world.gathering.id
    hostile = '<img src=x onerror="window.__pwned=1">'
    mallory = await live_server.add_participant(hostile, "mallory@example.org")
    async with chromium() as browser:
        attacker = await sign_in(browser, live_server, mallory)
        frida = await sign_in(browser, live_server, world.facilitator)
        await enter_room(attacker, f"/g/{gathering}")
        await enter_room(frida, f"/g/{gathering}/console")
        await attacker.page.get_by_label("Melding").fill("<script>window.__pwned=2</script>")
        await attacker.page.get_by_role("button", name="Send").click()
        await open_the_room(frida.page, attacker.page)
        await attacker.page.get_by_role("button", name="Rekk opp hånden").click()
        await open_panel(frida.page, "Folk og talerliste")
        await frida.page.locator("#hands").get_by_text(hostile, exact=True).wait_for()
        await frida.page.get_by_role("button", name="Gi ordet til neste").click()

        for who in (attacker, frida):
            page = who.page
            await page.locator("#presence").get_by_text(hostile, exact=True).wait_for()
            await page.locator("#speaker").get_by_text(hostile, exact=True).wait_for()
            if who is frida:
                await open_panel(page, "Chat")
            await page.locator(POSTED).get_by_text(
                "<script>window.__pwned=2</script>", exact=True).wait_for()
            # nothing became markup: no image anywhere (header included), no script with it
            assert await page.locator("img").count() == 0
            assert not await page.evaluate(
                "[...document.scripts].some(s => s.textContent.includes('__pwned'))")
            assert await page.evaluate("window.__pwned") is None
            assert who.dialogs == [] and who.errors == [], (who.dialogs, who.errors)
        # the server-rendered header shows the attacker's own name as text too
        assert await attacker.page.locator(".site-header").get_by_text(hostile).count() == 1
