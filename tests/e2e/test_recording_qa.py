"""Recording an expert's talk and the Q&A after it, in real headless Chromium: the expert's
consent panel offers the Q&A that follows; she agrees to both; the console says so; the
recording goes on into the Q&A and stops when the Q&A ends."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rooms.models import AgendaItem
from tests.e2e.conftest import LiveServer, chromium
from tests.e2e.test_live_room import assert_accessible, gathered, open_panel, open_the_room

pytestmark = pytest.mark.e2e

BOTH = "Jeg samtykker til opptak her og i «Spørsmål og svar» etterpå"


async def a_qa_after_evas_talk(live: LiveServer) -> None:
    """The world's agenda with Eva named in the talk and a Q&A naming nobody right after it."""
    gid = live.world.gathering.id
    async with live.sessions() as session:
        items = list(await session.scalars(select(AgendaItem).where(
            AgendaItem.gathering_id == gid).order_by(AgendaItem.position)))
        items[1].expert_id = live.world.expert.id
        for item in items[2:]:
            item.position += 1
        session.add(AgendaItem(gathering_id=gid, position=2, kind="qa",
                               title="Spørsmål og svar", planned_minutes=10))
        await session.commit()


async def test_the_expert_agrees_to_be_recorded_in_her_talk_and_the_qa_after_it(
        live_server: LiveServer) -> None:
    world = live_server.world
    gid = world.gathering.id
    await a_qa_after_evas_talk(live_server)
    async with chromium() as browser:
        frida, eva, alice = await gathered(browser, live_server, gid, world.facilitator,
                                           world.expert, world.alice)
        console = frida.page
        await open_the_room(console)
        await console.get_by_role("button", name="Neste punkt").click()
        await console.locator("#current-title").filter(has_text="Velkommen").wait_for()
        await console.get_by_role("button", name="Neste punkt").click()  # Eva's talk

        # her consent panel offers the talk alone, or the talk and the Q&A after it
        consent = eva.page.get_by_role("region", name="Opptak av innlegget ditt")
        await consent.wait_for()
        await consent.get_by_role("button", name="Jeg samtykker til opptak", exact=True).wait_for()
        both = consent.get_by_role("button", name=BOTH)
        await assert_accessible(eva.page, "expert's room offering the Q&A too")
        await both.focus()
        await eva.page.keyboard.press("Enter")
        withdraw = consent.get_by_role("button", name="Trekk tilbake samtykket mitt")
        await withdraw.wait_for()
        await consent.get_by_text(
            "Du har samtykket til opptak av dette innlegget og av «Spørsmål og svar» etterpå."
        ).wait_for()
        assert await both.is_hidden()
        assert await eva.page.evaluate("document.activeElement.id") == \
            "recording-consent-withdraw", "the keyboard focus goes on to the button left"

        await open_panel(console, "Scene og opptak")
        await console.locator("#recording-control-status").filter(
            has_text="Eva Ekspert har samtykket til opptak, også av «Spørsmål og svar»"
        ).wait_for()
        await console.get_by_role("button", name="Start opptak").click()
        indicator = alice.page.locator("#recording-indicator")
        await indicator.filter(has_text="Eva Ekspert blir tatt opp").wait_for()

        # into the Q&A: she keeps the stage, and the recording goes on
        await console.get_by_role("button", name="Neste punkt").click()
        await alice.page.locator("#current-title").filter(has_text="Spørsmål og svar").wait_for()
        # a later event of her own marks that the Q&A's start is all in: no stop came with it
        await alice.page.get_by_role("button", name="Rekk opp hånden").click()
        await alice.page.get_by_role("button", name="Ta ned hånden").wait_for()
        assert "Eva Ekspert blir tatt opp" in (await indicator.text_content() or "")
        assert await eva.page.locator("#recording-consent-status").text_content() == \
            "Du blir tatt opp nå."
        # the Q&A ends: so does the recording
        await console.get_by_role("button", name="Neste punkt").click()
        await alice.page.locator("#recording-indicator:empty").wait_for(state="attached")
        for who in (frida, eva, alice):
            assert who.errors == [], who.errors
