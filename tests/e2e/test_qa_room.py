"""The stage, questions, polls and reactions in real headless Chromium: a facilitator's
console, the expert's room and a participant's room, in bokmål, checked with axe-core."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rooms.models import AgendaItem
from tests.e2e.conftest import LiveServer, chromium
from tests.e2e.test_live_room import assert_accessible, gathered, open_panel, open_the_room

pytestmark = pytest.mark.e2e

QA_PANEL = "Spørsmål og avstemninger"
CHECKIN = {"question": "Hvordan går det i prosjektet?", "kind": "single",
           "options": ["Godt", "Tungt"]}


async def test_expert_slot_questions_poll_and_reactions(live_server: LiveServer) -> None:
    world = live_server.world
    gathering = world.gathering.id
    async with live_server.sessions() as s:  # the check-in poll, and Eva's slot
        items = list(await s.scalars(select(AgendaItem).where(
            AgendaItem.gathering_id == gathering).order_by(AgendaItem.position)))
        items[0].settings = {"poll": CHECKIN}
        items[1].expert_id = world.expert.id
        await s.commit()

    async with chromium() as browser:
        frida, eva, alice = await gathered(browser, live_server, gathering, world.facilitator,
                                           world.expert, world.alice)
        console, room, expert = frida.page, alice.page, eva.page

        # the expert waits for their slot
        await expert.locator("#expert-slot").filter(
            has_text="Ditt innlegg: Innlegg: matsvinn i skolen, 20 minutter – starter etter "
                     "Velkommen og innsjekk.").wait_for()
        assert await room.locator("#expert-waiting").is_hidden()

        # questions before the gathering starts; anonymous once the facilitator allows it
        await open_panel(console, QA_PANEL)
        await room.get_by_label("Ditt spørsmål").fill("Hva kostet kjøkkenet?")
        await room.get_by_role("button", name="Spør", exact=True).click()
        await console.locator("#questions li").filter(has_text="Hva kostet kjøkkenet?").wait_for()
        assert await room.locator("#question-anonymous-field").is_hidden()
        await console.get_by_label("Tillat anonyme spørsmål").check()
        await room.get_by_label("Spør anonymt (ingen ser navnet ditt)").check()
        hostile = "Hvem betaler <b>regningen</b>?"  # shown as text, markup and all
        await room.get_by_label("Ditt spørsmål").fill(hostile)
        await room.get_by_role("button", name="Spør", exact=True).click()
        anonymous = console.locator("#questions li").filter(has_text=hostile)
        await anonymous.filter(has_text="Anonym").wait_for()
        assert "Alice" not in (await anonymous.text_content() or "")
        assert await room.locator("#questions li.is-mine").count() == 2

        # the welcome item launches its check-in; Alice answers, the console sees the totals
        await open_the_room(console)
        await console.get_by_role("button", name="Neste punkt").click()
        await room.locator("#poll .poll-question").filter(has_text=CHECKIN["question"]).wait_for()
        await room.get_by_label("Godt").check()
        await room.get_by_role("button", name="Svar", exact=True).click()
        await console.locator("#poll .poll-bar").filter(has_text="1 (100 prosent)").wait_for()
        await room.get_by_role("button", name="Endre svar").wait_for()

        # the expert's slot: Eva has the stage for everyone, and picks the questions
        await console.get_by_role("button", name="Neste punkt").click()
        await room.locator("#stage-banner").filter(has_text="På scenen: Eva Ekspert").wait_for()
        await expert.locator("#stage-banner").filter(has_text="Du har scenen.").wait_for()
        assert await expert.locator("#expert-waiting").is_hidden()
        await open_panel(console, QA_PANEL)  # the stage's panel may have come with the talk
        first = console.locator("#questions li").filter(has_text="Hva kostet kjøkkenet?")
        await first.get_by_role("button", name="Stem").click()
        await room.locator("#questions li").first.filter(has_text="1 stemme").wait_for()
        assert await first.get_by_role("button", name="Stemt").get_attribute(
            "aria-pressed") == "true"
        await expert.get_by_role("button", name="Svar på spørsmålet med flest stemmer").click()
        await room.locator("#answering-text").filter(has_text="Hva kostet kjøkkenet?").wait_for()
        await room.locator("#questions li.is-answering").wait_for()

        # a reaction floats on everyone's screen
        await room.get_by_role("button", name="Applaus").click()
        await console.locator("#reaction-layer .reaction-float").first.wait_for(state="attached")

        await assert_accessible(console, "console with questions and a poll")
        await assert_accessible(room, "room with questions and a poll")
        await assert_accessible(expert, "expert's room on stage")
        for who in (frida, eva, alice):
            assert who.errors == [], who.errors
