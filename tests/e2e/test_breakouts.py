"""Breakout groups by project stage in real headless Chromium.

A facilitator, an observer and four participants from four municipalities, two with projects at the
start (`oppstart`) and two running (`gjennomforing`), each in their own browser context,
signed in by link. The facilitator advances into the gathering's breakout item, which opens
groups by stage by itself; each participant lands in the group of their stage, sees its
task and the facilitator's message, and writes a line in the group's shared notes. The
facilitator calls everyone back; the harvest shows both groups' notes side by side, to the
participants and in the console. axe-core finds nothing, with groups open and after.
Then the console's own controls: pause and resume, a round proposed by hand (renamed, one
person moved from the keyboard, opened), and a round where people choose their group.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rooms.accounts import start_session
from rooms.models import AgendaItem, Gathering, Membership, Municipality, Person, Project
from tests.conftest import connect_client, send
from tests.e2e.conftest import LiveServer, announced, chromium
from tests.e2e.test_live_room import assert_accessible, gather, open_the_room, sign_in

pytestmark = pytest.mark.e2e

TASK = "Hva er det vanskeligste i prosjektet akkurat nå?"
TEMPLATE = "Vår utfordring:\n"
STAGES = {"Oppstart": ("oppstart", ["Dalsby", "Eikvik"]),
          "Gjennomføring": ("gjennomforing", ["Fjordby", "Gransund"])}
NOTE_INPUT = "[contenteditable='true']"


async def stage_participants(live: LiveServer) -> dict[str, list[Person]]:
    """Four participants, each from their own municipality with a project in the theme."""
    world = live.world
    made: dict[str, list[Person]] = {}
    async with live.sessions() as s:
        for group, (stage, places) in STAGES.items():
            for place in places:
                municipality = Municipality(name=f"{place} kommune")
                s.add(municipality)
                await s.flush()
                s.add(Project(municipality_id=municipality.id, theme_id=world.theme.id,
                              title=f"Mindre matsvinn i {place}", stage=stage, tags=[],
                              grant_year=2025))
                person = Person(email=f"{place.lower()}@example.org",
                                name=f"{place[0]}. {place}", municipality_id=municipality.id)
                s.add(person)
                await s.flush()
                s.add(Membership(person_id=person.id, theme_id=world.theme.id,
                                 role="participant"))
                made.setdefault(group, []).append(person)
        await s.commit()
    return made


async def breakout_gathering(live: LiveServer) -> str:
    async with live.sessions() as s:
        gathering = Gathering(theme_id=live.world.theme.id, year=2026, number=2,
                              title="Samling 2", planned_minutes=45,
                              starts_at=datetime(2026, 12, 10, 9, 0, tzinfo=UTC))
        gathering.items = [
            AgendaItem(position=0, kind="welcome", title="Velkommen", planned_minutes=5),
            AgendaItem(position=1, kind="breakout", title="Grupper etter prosjektfase",
                       planned_minutes=20,
                       settings={"rule": "same_stage", "group_size": 4, "task": TASK,
                                 "note_template": TEMPLATE}),
            AgendaItem(position=2, kind="plenary", title="Deling i plenum", planned_minutes=15),
        ]
        s.add(gathering)
        await s.commit()
        return gathering.id


async def write_in_note(page: Any, host: Any, line: str) -> None:
    """Type a line at the end of a shared note's editor, as a person does."""
    editor = host.locator(NOTE_INPUT)
    await editor.wait_for()
    await editor.click()
    await page.keyboard.press("Control+End")
    await page.keyboard.type(line)


async def end_gathering(live: LiveServer, gathering: str) -> None:
    """As the facilitator's console does on "Avslutt samlingen" (its confirm dialog aside)."""
    token = await start_session(live.sessions, live.world.facilitator.id, days=1)
    client = await connect_client(live.url, token)
    try:
        assert (await send(client, gathering, "gathering.end"))["ok"]
    finally:
        await client.disconnect()


async def test_stage_breakouts_notes_and_harvest(live_server: LiveServer) -> None:
    world = live_server.world
    groups = await stage_participants(live_server)
    gathering = await breakout_gathering(live_server)
    everyone = [p for members in groups.values() for p in members]
    async with chromium() as browser:
        signed_in = []
        try:
            frida = await sign_in(browser, live_server, world.facilitator)
            signed_in.append(frida)
            participants = {}
            for person in everyone:
                participants[person.id] = await sign_in(browser, live_server, person)
                signed_in.append(participants[person.id])
            ola = await sign_in(browser, live_server, world.observer)
            signed_in.append(ola)
            await gather(gathering, frida, *participants.values(), ola)
            console = frida.page
            # grouping takes the participants present: wait until all four are here
            await console.locator("#presence-count").filter(has_text="6").wait_for()
            # presence by municipality, with each project's stage
            await console.locator("#presence li.presence-group").filter(
                has_text="Dalsby kommune").filter(has_text="Oppstart").wait_for()

            await open_the_room(console)
            await console.get_by_role("button", name="Neste punkt").click()
            await console.locator("#current-title").filter(has_text="Velkommen").wait_for()
            await console.get_by_role("button", name="Neste punkt").click()  # the breakout item

            # the item opened its groups by itself: the console shows them with their people
            panel = console.locator("#breakouts-panel")
            await panel.locator("#breakouts-state").filter(
                has_text="2 grupper er i gang").wait_for()
            for name, members in groups.items():
                group = panel.locator("section.breakout-group").filter(
                    has=console.get_by_role("heading", name=name))
                for member in members:
                    await group.locator("li").filter(has_text=member.name).filter(
                        has_text=name).wait_for()
            await console.locator("#breakouts-timer").filter(has_text="igjen i gruppene").wait_for()

            # each participant is in the group of their own stage, with the right people
            for name, members in groups.items():
                others = [p for p in everyone if p not in members]
                for member in members:
                    page = participants[member.id].page
                    await page.locator("#group-heading").filter(
                        has_text=f"Din gruppe: {name}").wait_for()
                    listed = page.locator("#group-members")
                    for peer in members:
                        await listed.get_by_text(peer.name).wait_for()
                    for stranger in others:
                        assert await listed.get_by_text(stranger.name).count() == 0
                    await page.locator("#group-task-text").filter(has_text=TASK).wait_for()
                    await page.locator("#group-timer").filter(
                        has_text="igjen i gruppene").wait_for()
                    await announced(page, f"Du er i {name}")

            # a message to all groups reaches every group
            await console.get_by_label("Beskjed til alle grupper").fill("Fem minutter igjen!")
            await console.get_by_role("button", name="Send beskjed til alle grupper").click()
            for who in participants.values():
                await who.page.locator("#group-broadcasts li").filter(
                    has_text="Fem minutter igjen!").wait_for()

            # everyone writes a line in their group's notes, one after the other (two people
            # typing at the very same spot at once interleave, as a CRDT must allow), and the
            # line reaches the others in the group: the note is shared
            lines = {}
            for name, members in groups.items():
                for member in members:
                    page = participants[member.id].page
                    host = page.locator("#group-note .note-host")
                    await host.filter(has_text=TEMPLATE.strip()).wait_for()
                    lines[member.id] = f"{member.name} skriver i {name}"
                    await write_in_note(page, host, f"\n{lines[member.id]}")
                    for peer in members:
                        await participants[peer.id].page.locator("#group-note .note-host").filter(
                            has_text=lines[member.id]).wait_for()

            # an observer is in no group: they see the groups and may read their notes
            observer = ola.page
            await observer.locator("#group-heading").filter(has_text="Grupperom").wait_for()
            oppstart = observer.locator("#group-list section.breakout-group").filter(
                has=observer.get_by_role("heading", name="Oppstart"))
            await oppstart.get_by_role("button", name="Les notater").click()
            first = groups["Oppstart"][0]
            await oppstart.locator(".note-host").filter(has_text=lines[first.id]).wait_for()
            await oppstart.get_by_text("Skrivebeskyttet").wait_for()
            assert await observer.locator("#group-note-box").is_hidden()

            await assert_accessible(console, "console, breakouts open")
            await assert_accessible(observer, "room of an observer, breakouts open")
            await assert_accessible(participants[everyone[0].id].page, "room, breakouts open")

            # the facilitator calls everyone back: the harvest, side by side, for everyone
            await console.get_by_role("button", name="Kall alle tilbake").click()
            for who in [frida, *participants.values(), ola]:
                harvest = who.page.locator("#harvest")
                for name, members in groups.items():
                    article = harvest.locator("article.harvest-group").filter(
                        has=who.page.get_by_role("heading", name=name))
                    for member in members:
                        await article.filter(has_text=lines[member.id]).wait_for()
                assert await harvest.locator("article.harvest-group").count() == 2
                assert await who.page.locator("#group-panel").is_hidden()
            await announced(participants[everyone[0].id].page, "Alle er kalt tilbake til plenum.")

            await assert_accessible(console, "console, after the recall")
            await assert_accessible(participants[everyone[0].id].page, "room, after the recall")

            # the facilitator pauses and resumes the item's timer
            await console.get_by_role("button", name="Sett tiden på pause").click()
            for who in (frida, participants[everyone[1].id]):
                await who.page.locator("#timer").filter(has_text="Pause:").wait_for()
            await console.get_by_role("button", name="Start tiden igjen").click()
            await console.get_by_role("button", name="Sett tiden på pause").wait_for()
            await participants[everyone[1].id].page.locator("#timer").filter(
                has_not_text="Pause").wait_for()

            # a second round by hand: random pairs, one renamed, one person moved (from the
            # keyboard), then opened for five minutes
            await console.get_by_label("Slik deles gruppene").select_option("random")
            await console.get_by_label("Personer per gruppe").fill("2")
            await console.get_by_role("button", name="Foreslå grupper").click()
            await panel.locator("#breakouts-state").filter(has_text="Forslag: 2 grupper").wait_for()
            harvest_gone = participants[everyone[0].id].page.locator("#harvest-panel")
            await harvest_gone.wait_for(state="hidden")
            rename = console.get_by_label("Nytt navn på Gruppe 1")
            await rename.fill("Lag A")
            await rename.press("Enter")
            lag_a = panel.locator("section.breakout-group").filter(
                has=console.get_by_role("heading", name="Lag A"))
            mover = (await lag_a.locator(".person-name").first.text_content() or "").strip()
            move = console.get_by_label(f"Flytt {mover} til")
            await move.select_option(label="Gruppe 2")
            await move.focus()
            await console.keyboard.press("Tab")  # to the form's "Flytt" button
            await console.keyboard.press("Enter")
            gruppe_2 = panel.locator("section.breakout-group").filter(
                has=console.get_by_role("heading", name="Gruppe 2"))
            await gruppe_2.locator("li").filter(has_text=mover).wait_for()
            assert await gruppe_2.locator(".group-members > li").count() == 3
            # the keyboard focus moved along with the person
            assert await console.evaluate("document.activeElement.textContent") == "Flytt"
            await gruppe_2.locator("li").filter(has_text=mover).locator(":focus").wait_for()
            await console.get_by_label("Minutter").fill("5")
            await console.get_by_role("button", name="Åpne gruppene").click()
            moved = next(p for p in everyone if p.name == mover)
            page = participants[moved.id].page
            await page.locator("#group-heading").filter(has_text="Din gruppe: Gruppe 2").wait_for()
            await page.locator("#group-timer").filter(has_text="05:00 igjen").or_(
                page.locator("#group-timer").filter(has_text="04:5")).wait_for()

            # a third round where people choose: a participant joins a group themselves
            await console.get_by_role("button", name="Kall alle tilbake").click()
            await panel.locator("#breakouts-state").filter(has_text="tilbake i plenum").wait_for()
            await console.get_by_label("Slik deles gruppene").select_option("self_select")
            await console.get_by_role("button", name="Foreslå grupper").click()
            chooser = participants[everyone[2].id].page
            await chooser.locator("#group-choice").filter(has_text="Velg gruppen").wait_for()
            await chooser.get_by_role("button", name="Bli med i Gruppe 1").click()
            await chooser.locator("#group-heading").filter(
                has_text="Din gruppe: Gruppe 1").wait_for()
            await panel.locator("section.breakout-group").filter(
                has=console.get_by_role("heading", name="Gruppe 1")).locator("li").filter(
                has_text=everyone[2].name).wait_for()

            # the gathering ends; the facilitator publishes the summary; it carries the
            # groups' notes to every participant of the theme
            await end_gathering(live_server, gathering)
            summary = f"/g/{gathering}/summary"
            await console.goto(summary)
            await console.get_by_label("En kort innledning til deltakerne").fill(
                "Takk for en god samling!")
            await console.get_by_role("button", name="Publiser til deltakerne i temaet").click()
            reader = participants[everyone[1].id].page
            await reader.goto(summary)
            await reader.get_by_text("Takk for en god samling!").wait_for()
            for member in everyone:
                await reader.locator("main").filter(has_text=lines[member.id]).wait_for()
            await assert_accessible(reader, "published summary")

            for who in signed_in:
                assert who.errors == [], who.errors
        finally:
            for who in signed_in:
                await who.context.close()
