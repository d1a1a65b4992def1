"""The facilitator console laid out for running a gathering, in real headless Chromium at
1280×800: the current item, its countdown and *Neste punkt* stay in view whatever panel the
facilitator works in; each panel is one click or one keystroke (Alt+Shift+1..7) away, by
keyboard alone, and axe-core finds nothing with any of them open; the panel that suits the
agenda comes by itself unless the facilitator just chose another one. And in a
participant's group, a message to all groups comes on top, above the task and the video,
and is announced."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from rooms.accounts import start_session
from rooms.models import AgendaItem
from tests.conftest import connect_client, send
from tests.e2e.conftest import LiveServer, announced, chromium
from tests.e2e.test_live_room import (
    Person,
    assert_accessible,
    enter_room,
    open_panel,
    open_the_room,
    sign_in,
)

pytestmark = pytest.mark.e2e

VIEWPORT = {"width": 1280, "height": 800}
# the panels in the order of their tabs and shortcuts (Alt+Shift+1 is the first)
PANELS = {"breakouts": "Grupperom", "qa": "Spørsmål og avstemninger",
          "stage": "Scene og opptak", "notes": "Notater", "chat": "Chat",
          "people": "Folk og talerliste", "agenda": "Agenda"}
PRIMARY = ("#current-title", "#timer", "#next-item")
TASK = "Hva er det vanskeligste i prosjektet akkurat nå?"

# Whether the element is wholly inside the viewport and on top there (not under anything).
IN_VIEW = """(selector) => {
  const node = document.querySelector(selector);
  const box = node.getBoundingClientRect();
  if (box.width === 0 || box.height === 0) return false;
  if (box.top < 0 || box.left < 0) return false;
  if (box.bottom > innerHeight || box.right > innerWidth) return false;
  const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return node.contains(hit);
}"""
# Whether the focused element shows below the bar that stays on top.
FOCUS_CLEAR = """() => {
  const box = document.activeElement.getBoundingClientRect();
  const bar = document.getElementById('console-top').getBoundingClientRect();
  return box.top >= bar.bottom && box.bottom <= innerHeight;
}"""
FOCUSED = "() => document.activeElement.id || document.activeElement.tagName"


async def facilitator_console(browser: Any, live: LiveServer, gathering: str) -> Person:
    frida = await sign_in(browser, live, live.world.facilitator)
    await frida.page.set_viewport_size(VIEWPORT)
    await enter_room(frida, f"/g/{gathering}/console")
    return frida


async def start_first_item(console: Any) -> None:
    await open_the_room(console)
    await console.get_by_role("button", name="Neste punkt").click()
    await console.locator("#timer").filter(has_text="igjen").wait_for()


async def assert_primary_in_view(console: Any, where: str) -> None:
    for selector in PRIMARY:
        assert await console.evaluate(IN_VIEW, selector), f"{selector} is out of view {where}"


async def test_the_item_its_timer_and_next_stay_in_view_in_every_panel(
        live_server: LiveServer) -> None:
    async with chromium() as browser:
        frida = await facilitator_console(browser, live_server, live_server.world.gathering.id)
        console = frida.page
        await start_first_item(console)
        scrolled = []
        for label in PANELS.values():
            await open_panel(console, label)
            # working at the foot of the panel: the page scrolls under the bar
            await console.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
            await console.wait_for_function("() => document.readyState === 'complete'")
            scrolled.append(await console.evaluate("window.scrollY") > 0)
            await assert_primary_in_view(console, f"at the foot of {label}")
        assert any(scrolled), "no panel was taller than the window: nothing was checked"

        # from the keyboard, through the questions and the poll: each control shows below
        # the bar, and the bar stays
        await console.keyboard.press("Alt+Shift+Digit2")
        for _ in range(8):
            await console.keyboard.press("Tab")
            assert await console.evaluate(FOCUS_CLEAR), await console.evaluate(FOCUSED)
            await assert_primary_in_view(console, "while tabbing through the questions")
        assert frida.errors == [], frida.errors


async def test_every_panel_is_one_click_or_one_keystroke_away(live_server: LiveServer) -> None:
    async with chromium() as browser:
        frida = await facilitator_console(browser, live_server, live_server.world.gathering.id)
        console = frida.page
        # "Åpne rommet" by keyboard: it is not needed again and goes; the focus stays in the bar
        await console.get_by_role("button", name="Åpne rommet").focus()
        await console.keyboard.press("Enter")
        await console.locator("#open-room").wait_for(state="hidden")
        await console.wait_for_function("() => document.activeElement.id === 'console-now'")
        await console.get_by_role("button", name="Neste punkt").click()

        for number, (name, label) in enumerate(PANELS.items(), start=1):
            tab = console.get_by_role("tab", name=label)
            assert await tab.get_attribute("aria-keyshortcuts") == f"Alt+Shift+{number}"
            # one keystroke, from the bar: the panel shows and has the focus; Tab goes on
            # to its first control
            await console.locator("#next-item").focus()
            await console.keyboard.press(f"Alt+Shift+Digit{number}")
            panel = console.locator(f"#console-panel-{name}")
            await panel.wait_for()
            assert await tab.get_attribute("aria-selected") == "true"
            assert await console.evaluate(FOCUSED) == f"console-panel-{name}"
            await console.keyboard.press("Tab")
            assert await panel.evaluate("p => p.contains(document.activeElement) "
                                        "&& p !== document.activeElement"), label
            assert await console.locator("[role=tabpanel]:visible").count() == 1
            await assert_accessible(console, f"console with the panel {label}")

        # one click on each tab; Tab goes into its panel
        for name, label in PANELS.items():
            await console.get_by_role("tab", name=label).click()
            await console.locator(f"#console-panel-{name}").wait_for()
            await console.keyboard.press("Tab")
            assert await console.evaluate(FOCUSED) == f"console-panel-{name}"

        # the arrow keys move along the row of tabs, and around it
        await console.get_by_role("tab", name="Grupperom").focus()
        await console.keyboard.press("ArrowRight")
        await console.locator("#console-panel-qa").wait_for()
        assert await console.evaluate(FOCUSED) == "console-tab-qa"
        await console.keyboard.press("ArrowLeft")
        await console.keyboard.press("ArrowLeft")
        await console.locator("#console-panel-agenda").wait_for()
        await console.keyboard.press("Home")
        await console.locator("#console-panel-breakouts").wait_for()
        assert await console.get_by_role("tab", selected=True).count() == 1

        # the shortcuts are listed on the page
        await console.get_by_text("Hurtigtaster").click()
        shortcuts = console.locator(".shortcut-list li")
        for number, label in enumerate(PANELS.values(), start=1):
            await shortcuts.filter(has_text=f"Alt+Shift+{number} {label}").wait_for()
        await assert_accessible(console, "console with the shortcuts shown")
        assert frida.errors == [], frida.errors


async def test_the_panel_follows_the_agenda_unless_the_facilitator_chose_another(
        live_server: LiveServer) -> None:
    async with chromium() as browser:
        frida = await facilitator_console(browser, live_server, live_server.world.gathering.id)
        console = frida.page
        announced = console.locator("#console-layout-announcer")
        await start_first_item(console)  # the welcome: who is here
        await console.locator("#console-panel-people").wait_for()

        # the expert's talk: the stage comes by itself, and says so
        await console.get_by_role("button", name="Neste punkt").click()
        await console.locator("#console-panel-stage").wait_for()
        await announced.filter(has_text="Viser panelet Scene og opptak.").wait_for()

        # the facilitator reads the chat; the breakout item only offers its panel
        await open_panel(console, "Chat")
        await console.get_by_role("button", name="Neste punkt").click()
        await announced.filter(
            has_text="Panelet Grupperom passer til dette punktet: Alt+Shift+1.").wait_for()
        suggested = console.get_by_role("tab", name="Grupperom").get_by_text("foreslått")
        await suggested.wait_for()
        assert await console.locator("#console-panel-chat").is_visible()
        # the groups' action is in the bar meanwhile
        await console.get_by_role("button", name="Kall alle tilbake").wait_for()
        await console.keyboard.press("Alt+Shift+Digit1")
        await console.locator("#console-panel-breakouts").wait_for()
        await suggested.wait_for(state="hidden")
        assert frida.errors == [], frida.errors


async def breakout_with_a_task(live: LiveServer) -> list[int]:
    """The world's breakout item in random pairs, with a task; the items' ids in order."""
    async with live.sessions() as s:
        items = list(await s.scalars(select(AgendaItem).where(
            AgendaItem.gathering_id == live.world.gathering.id).order_by(AgendaItem.position)))
        items[2].settings = {"rule": "random", "group_size": 2, "task": TASK}
        await s.commit()
        return [item.id for item in items]


async def test_a_message_to_all_groups_comes_on_top_of_the_group_and_is_announced(
        live_server: LiveServer) -> None:
    world = live_server.world
    gathering = world.gathering.id
    items = await breakout_with_a_task(live_server)
    clients = [await connect_client(live_server.url, await start_session(
        live_server.sessions, person.id, days=1)) for person in (world.facilitator, world.bjorn)]
    frida = clients[0]
    try:
        async with chromium() as browser:
            alice = await sign_in(browser, live_server, world.alice)
            await alice.page.set_viewport_size(VIEWPORT)
            await enter_room(alice, f"/g/{gathering}")
            for client in clients:
                assert (await send(client, gathering, "room.join"))["ok"]
            assert (await send(frida, gathering, "room.open"))["ok"]
            for before in (None, items[0], items[1]):  # into the breakout item: groups open
                assert (await send(frida, gathering, "agenda.next", from_item=before))["ok"]
            page = alice.page
            await page.locator("#group-task-text").filter(has_text=TASK).wait_for()
            await page.locator("#media-box").wait_for()
            assert await page.locator("#group-broadcasts-box").is_hidden()  # nothing sent yet

            assert (await send(frida, gathering, "breakouts.broadcast",
                               text="Fem minutter igjen!"))["ok"]
            await page.locator("#group-broadcasts li").filter(
                has_text="Fem minutter igjen!").wait_for()
            await announced(
                page, "Beskjed til alle grupper fra Frida Fasilitator: Fem minutter igjen!")
            tops = await page.evaluate("""() => Object.fromEntries(
                ['group-heading', 'group-broadcasts-box', 'group-task', 'media-box'].map(
                  (id) => [id, document.getElementById(id).getBoundingClientRect().top]))""")
            assert tops["group-heading"] < tops["group-broadcasts-box"] < tops["group-task"] \
                < tops["media-box"], tops
            await assert_accessible(page, "group with a message from the facilitator")
            assert alice.errors == [], alice.errors
    finally:
        for client in clients:
            await client.disconnect()
