"""The time between two gatherings of "Mat og matsvinn", as one story in real headless
Chromium, mailing through an SMTP server in this process.

The first gathering has run (socket.io clients: Alice and Bjørn in a breakout group, Alice
writing in its notes) and its summary is published. Then, in the browser: Frida posts an
announcement to the theme, and it arrives by e-mail; she turns a line of the group's notes
into a follow-up for Askvik; Alice reports on it; Alice asks the network, and Bjørn, whose
project matches hers, answers; Frida books an expert, who accepts by the link in her e-mail;
Alice asks the expert a question in advance and Bjørn votes for it; the server's clock
reaches three days before the next gathering, and Askvik is reminded of its follow-up. In the
next gathering the follow-ups are listed when their agenda item is on, and the question asked
in advance is in the Q&A with its vote. Months later, Bjørn's answer is found by searching.
axe-core finds nothing on any page on the way."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation.notes import group_note_id
from rooms.accounts import start_session
from rooms.forum_models import FollowUp
from rooms.models import AgendaItem, Person, Project
from server.keys import SESSIONS
from server.mail.jobs import run_jobs_once
from server.pages.summary import summaries
from tests.conftest import connect_client, send
from tests.e2e.conftest import LiveServer, chromium, serving
from tests.e2e.test_live_room import Person as Browsing
from tests.e2e.test_live_room import assert_accessible, enter_room, sign_in
from tests.factories import World, add_gathering
from tests.mailbox import Inbox, parts
from tests.server.live_helpers import eventually
from tests.server.test_notes_socket import NoteClient, append

pytestmark = pytest.mark.e2e

NOTE_LINE = "Askvik prøver å veie matsvinnet i skolekjøkkenet hver fredag"
QUESTION = "Hvordan målte dere matsvinn i skolekjøkken?"
ANSWER = "Vi brukte en kjøkkenvekt og et enkelt skjema hver fredag i seks uker."
ADVANCE = "Hvilke tiltak mot matsvinn virker best i skolekjøkken?"
EXPERT = "forsker@example.org"
NEXT_AGENDA = [("plenary", "Oppfølginger siden sist", 15),
               ("expert_talk", "Innlegg: måling av matsvinn", 20),
               ("wrap_up", "Oppsummering", 5)]


@pytest.fixture
async def forum(sqlite_url: str, sessions: async_sessionmaker, world: World,
                inbox: tuple[Inbox, int]) -> AsyncIterator[tuple[LiveServer, Inbox]]:
    box, port = inbox
    async with serving(sqlite_url, sessions, world, smtp_host="127.0.0.1",
                       smtp_port=port) as live:
        yield live, box


async def with_projects(sessions: async_sessionmaker, world: World) -> None:
    """Askvik and Brekke both run school-kitchen projects in the same stage."""
    async with sessions() as s, s.begin():
        for person, title in ((world.alice, "Mindre matsvinn i skolekjøkken"),
                              (world.bjorn, "Skolekjøkken uten svinn")):
            assert person.municipality_id is not None
            s.add(Project(municipality_id=person.municipality_id, theme_id=world.theme.id,
                          title=title, stage="gjennomforing", tags=["skolekjøkken"],
                          grant_year=2026))


async def first_gathering_runs(live: LiveServer, world: World) -> None:
    """Frida opens the room, the breakout item opens the groups, Alice writes the line in
    her group's notes, the gathering ends and Frida publishes its summary."""
    gid = world.gathering.id
    clients = {}
    try:
        for who in (world.facilitator, world.alice, world.bjorn):
            token = await start_session(live.sessions, who.id, days=1)
            clients[who.id] = await connect_client(live.url, token)
            assert (await send(clients[who.id], gid, "room.join"))["ok"]
        frida = clients[world.facilitator.id]
        snapshot = (await send(frida, gid, "room.sync", since=10**6))["snapshot"]
        items = [i["id"] for i in snapshot["agenda"]]
        assert (await send(frida, gid, "room.open"))["ok"]
        current = None
        for item in items[:3]:  # welcome, the expert's talk, the breakout item
            assert (await send(frida, gid, "agenda.next", from_item=current))["ok"]
            current = item
        breakouts = (await send(frida, gid, "room.sync", since=10**6))["snapshot"]["breakouts"]
        [group] = [g for g in breakouts["groups"]
                   if world.alice.id in [m["person_id"] for m in g["members"]]]
        note = NoteClient(clients[world.alice.id], gid,
                          group_note_id(breakouts["round"], group["id"]))
        assert (await note.subscribe())["ok"]
        assert (await note.edit(append(NOTE_LINE)))["ok"]
        assert (await send(frida, gid, "agenda.next", from_item=current))["ok"]
        assert (await send(frida, gid, "gathering.end"))["ok"]
    finally:
        for client in clients.values():
            await client.disconnect()
    assert live.app is not None
    await summaries(live.app).save(gid, "Takk for en god samling.",
                                   publish_by=world.facilitator.id)


async def mails_to(inbox: Inbox, address: str, subject: str) -> list[EmailMessage]:
    def found() -> list[EmailMessage]:
        return [m for m in inbox.to(address) if subject in str(m["Subject"])]
    await eventually(lambda: bool(found()), what=f"a mail '{subject}' to {address}")
    return found()


async def open_page(who: Browsing, path: str, what: str) -> Any:
    await who.page.goto(path)
    await assert_accessible(who.page, what)
    return who.page


async def test_the_time_between_two_gatherings(forum: tuple[LiveServer, Inbox],
                                               world: World) -> None:
    live, inbox = forum
    assert live.app is not None
    sessions = live.app[SESSIONS]
    await with_projects(sessions, world)
    await first_gathering_runs(live, world)
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    second = await add_gathering(sessions, world.theme, 2, starts_at=starts,
                                 agenda=NEXT_AGENDA, title="Samling 2")
    async with sessions() as s, s.begin():
        plenary = await s.scalar(select(AgendaItem).where(
            AgendaItem.gathering_id == second.id, AgendaItem.position == 0))
        assert plenary is not None
        plenary.settings = {"follow_ups": True}

    async with chromium() as browser:
        frida = await sign_in(browser, live, world.facilitator)
        alice = await sign_in(browser, live, world.alice)
        bjorn = await sign_in(browser, live, world.bjorn)

        # --- an announcement to the theme, also by e-mail -----------------------------------
        page = await open_page(frida, "/themes/mat/announcements/new", "new announcement")
        await page.get_by_label("Tittel").fill("Velkommen til året")
        await page.get_by_label("Melding").fill("Husk å **melde dere på** neste samling.")
        await page.get_by_label("Send den også på e-post til alle den er til").check()
        await page.get_by_role("button", name="Publiser").click()
        await page.locator("strong").filter(has_text="melde dere på").wait_for()
        await assert_accessible(page, "announcement")
        [mail] = await mails_to(inbox, world.alice.email, "Velkommen til året")
        assert "melde dere på" in parts(mail)[0]

        # --- a line of the group's notes becomes Askvik's follow-up ---------------------------
        page = await open_page(frida, f"/g/{world.gathering.id}/follow-ups", "follow-ups page")
        line = page.locator("ol.note-lines li").filter(has_text=NOTE_LINE)
        await line.get_by_text("Lag en oppfølging av denne linjen").click()
        await line.get_by_label("Kommunen som eier den").select_option(
            label="Askvik kommune")
        await line.get_by_role("button", name="Lag oppfølgingen").click()
        await page.get_by_role("status").filter(has_text="Oppfølgingen er laget.").wait_for()
        async with sessions() as s:
            follow_up = await s.scalar(select(FollowUp))
        assert follow_up is not None and follow_up.due_gathering_id == second.id
        assert follow_up.source == NOTE_LINE

        # --- Alice reports on it ----------------------------------------------------------------
        page = await open_page(alice, f"/follow-ups/{follow_up.id}", "follow-up")
        await page.get_by_label("Status").select_option("doing")
        await page.get_by_label("Kort rapport").fill("Første veiing: 14 kg på en fredag.")
        await page.get_by_role("button", name="Lagre").click()
        await page.get_by_role("status").filter(has_text="Lagret.").wait_for()

        # --- Alice asks the network; Bjørn, whose project matches, answers ---------------------
        page = await open_page(alice, "/themes/mat/help", "help requests")
        await page.get_by_label("Hva trenger du hjelp med? (en kort tittel)").fill(
            "Måling av matsvinn")
        await page.get_by_label("Ditt spørsmål").fill(QUESTION)
        await page.get_by_role("button", name="Spør nettverket").click()
        await page.get_by_text(QUESTION).wait_for()
        request_url = page.url
        page = await open_page(bjorn, "/themes/mat/help", "help requests, matched")
        await page.locator("li").filter(has_text="Måling av matsvinn").filter(
            has_text="Passer med prosjektet deres").wait_for()
        await bjorn.page.goto(request_url)
        await page.get_by_label("Svaret ditt (Markdown)").fill(ANSWER)
        await page.get_by_role("button", name="Send svaret").click()
        await page.get_by_text(ANSWER).wait_for()
        await assert_accessible(page, "help request with an answer")

        # --- Frida books an expert, who accepts by the link in her e-mail ----------------------
        async with sessions() as s:
            slot = await s.scalar(select(AgendaItem).where(
                AgendaItem.gathering_id == second.id, AgendaItem.kind == "expert_talk"))
        assert slot is not None
        page = await open_page(frida, f"/gatherings/{second.id}/experts", "expert bookings")
        await page.get_by_label("Agendapunkt").select_option(str(slot.id))
        await page.get_by_label("Navn").fill("Siri Forsker")
        await page.get_by_label("E-postadresse").fill(EXPERT)
        await page.get_by_label("Tema for innlegget").fill("Slik måler dere matsvinn")
        await page.get_by_label("Minutter").fill("20")
        await page.get_by_role("button", name="Send invitasjonen").click()
        await page.get_by_text("Invitasjonen er sendt på e-post.").wait_for()
        [invitation] = inbox.to(EXPERT) or await mails_to(inbox, EXPERT, "")
        link = re.search(r"https?://\S+/experts/[\w-]+", parts(invitation)[0])
        assert link is not None
        context = await browser.new_context(locale="nb-NO", bypass_csp=True)
        guest = Browsing(context, await context.new_page())
        await guest.page.goto(link.group(0))
        await assert_accessible(guest.page, "expert's invitation")
        await guest.page.get_by_role("button", name="Takk ja").click()
        await guest.page.get_by_text("Du har takket ja. Tusen takk!").wait_for()
        await guest.page.get_by_role("link", name="Legg samlingen i kalenderen din (.ics)"
                                     ).wait_for()
        async with sessions() as s:
            slot = await s.get(AgendaItem, slot.id, populate_existing=True)
            expert = await s.scalar(select(Person).where(Person.email == EXPERT))
        assert slot is not None and expert is not None and slot.expert_id == expert.id

        # --- a question for the expert, asked in advance; Bjørn votes for it -------------------
        page = await open_page(alice, f"/gatherings/{second.id}/questions", "questions")
        await page.get_by_label("Ditt spørsmål").fill(ADVANCE)
        await page.get_by_role("button", name="Spør", exact=True).click()
        await page.get_by_text("Spørsmålet ditt er stilt.").wait_for()
        page = await open_page(bjorn, f"/gatherings/{second.id}/questions", "questions, vote")
        await page.locator("li").filter(has_text=ADVANCE).get_by_role(
            "button", name="Stem").click()
        await page.locator("li").filter(has_text=ADVANCE).get_by_role(
            "button", name="Trekk tilbake stemmen").wait_for()

        # --- three days before the next gathering, Askvik is reminded ---------------------------
        await run_jobs_once(live.app, now=starts - timedelta(days=2, hours=23))
        [reminder] = await mails_to(inbox, world.alice.email, "Samling 2")
        assert "Første veiing" in parts(reminder)[0] or NOTE_LINE[:30] in parts(reminder)[0]
        await run_jobs_once(live.app, now=starts - timedelta(days=2, hours=22))
        assert len([m for m in inbox.to(world.alice.email)
                    if "Samling 2" in str(m["Subject"])]) == 1

        # --- the next gathering: the follow-ups and the question asked in advance --------------
        token = await start_session(sessions, world.facilitator.id, days=1)
        console = await connect_client(live.url, token)
        try:
            await enter_room(alice, f"/g/{second.id}")
            assert (await send(console, second.id, "room.join"))["ok"]
            assert (await send(console, second.id, "room.open"))["ok"]
            room = alice.page
            question = room.locator("#questions li").filter(has_text=ADVANCE)
            await question.filter(has_text="1 stemme").wait_for()
            assert (await send(console, second.id, "agenda.next", from_item=None))["ok"]
            due = room.locator("#follow-ups-due")
            await due.locator("li").filter(has_text="Askvik kommune").filter(
                has_text="Første veiing").wait_for()
            await assert_accessible(room, "room with the follow-ups due")
        finally:
            await console.disconnect()

        # --- months later, the answer is found ---------------------------------------------------
        page = await open_page(alice, "/search?q=kjøkkenvekt+skjema", "search results")
        hit = page.get_by_role("link", name=re.compile("Måling av matsvinn"))
        await hit.first.click()
        await page.get_by_text(ANSWER).wait_for()

        for who in (frida, alice, bjorn, guest):
            assert who.errors == [], who.errors
