"""The programme year as one story, in real headless Chromium, on a fresh forum (SQLite and
PostgreSQL) holding only what the operator sets up: the themes, the project stages and the
programme lead.

The lead imports the example grant list (a dry run, then for real), creates the year's four
gatherings of one theme, and invites a facilitator and four participants by pasting lists;
the sign-in links arrive at an SMTP server in this process. A participant signs in from the
link in her e-mail, moves her project to the next stage, switches to nynorsk and, when the
facilitator proposes breakout groups by project stage in the first gathering, finds herself
in the group of that stage, in nynorsk. The lead moves another gathering: its .ics carries a
higher SEQUENCE and the new start, and the members are told by e-mail in their language. The
first gathering ends, and the lead's overview, which showed it not held, counts her
municipality present. axe-core finds nothing on any page on the way, in the language it is
shown in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import create_invitation, start_session
from rooms.db import create_engine, sessionmaker
from rooms.migrate import upgrade
from rooms.models import Gathering, Person, Project
from rooms.programme import ensure_programme
from server.app import create_app
from server.settings import Settings
from tests.conftest import connect_client, free_port, send
from tests.e2e.conftest import announced, chromium, ensure_bundle
from tests.e2e.test_live_room import Person as Browsing
from tests.e2e.test_live_room import assert_accessible, open_panel
from tests.mailbox import Inbox, parts
from tests.server.live_helpers import eventually

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parents[1] / "data"
YEAR = 2027
# the year's gatherings of "Mat og matsvinn": number, title, date (Norwegian time 09:00)
GATHERINGS = [(1, "Oppstart av året", "2027-02-04"), (2, "Innkjøp og menyer", "2027-04-15"),
              (3, "Kantiner og sykehjem", "2027-09-09"), (4, "Året som gikk", "2027-11-25")]
# the grant list's contacts for projects in "Mat og matsvinn"
INGRID = "ingrid.fjeld@example.org"  # Fjordvik, "Matsvinnfrie sykehjem"
KARI = "kari.strand@example.org"  # Havbrekke, "Felles innkjøp av klimavennlig mat"
HILDE = "hilde.moen@example.org"  # Solåsen
LARS = "lars.foss@example.org"  # Vestkyst fylkeskommune
FRIDA = "frida@example.org"
SIGN_IN_LINK = re.compile(r"https?://\S+/signin/[\w-]+")


@dataclass
class Forum:
    url: str
    sessions: async_sessionmaker
    inbox: Inbox
    lead: Person


@pytest.fixture
async def forum(database_url: str, inbox: tuple[Inbox, int]) -> AsyncIterator[Forum]:
    """A fresh forum, on SQLite and on PostgreSQL, with what an operator sets up before a
    year (the themes the grant categories map to, the project stages, the programme lead)
    and nothing else; served on a free port, mailing through the in-process SMTP server."""
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = sessionmaker(engine)
    async with sessions() as s:
        await ensure_programme(s)  # `forum programme`
        lead = Person(email="leder@example.org", name="Per Programleder",
                      is_programme_lead=True)
        s.add(lead)
        await s.commit()
    ensure_bundle()
    box, smtp_port = inbox
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(database_url=database_url, secret_key="e2e-secret", host="127.0.0.1",
                        port=port, public_url=url, smtp_host="127.0.0.1", smtp_port=smtp_port)
    server = TestServer(create_app(settings), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield Forum(url=url, sessions=sessions, inbox=box, lead=lead)
    finally:
        await server.close()
        await engine.dispose()


async def open_context(browser: Any, forum: Forum) -> Browsing:
    # bypass_csp only so the test can inject axe-core; the pages themselves run under the CSP
    context = await browser.new_context(base_url=forum.url, locale="nb-NO", bypass_csp=True)
    return Browsing(context, await context.new_page())


async def sign_in_by_link(who: Browsing, link: str) -> None:
    await who.page.goto(link)
    await who.page.get_by_role("button", name="Logg inn").click()
    await who.page.wait_for_url("**/gatherings")


async def mail_to(forum: Forum, address: str, count: int = 1) -> list[EmailMessage]:
    """The mails to `address`, once `count` of them have arrived."""
    await eventually(lambda: len(forum.inbox.to(address)) >= count,
                     what=f"{count} mail(s) to {address}")
    return forum.inbox.to(address)


def link_in(message: EmailMessage) -> str:
    text, html = parts(message)
    found = SIGN_IN_LINK.search(text)
    assert found is not None, text
    assert found.group(0) in html
    return found.group(0)


async def person(forum: Forum, email: str) -> Person:
    async with forum.sessions() as s:
        found = await s.scalar(select(Person).where(Person.email == email))
    assert found is not None, email
    return found


async def calendar_event(page: Any, gathering_id: str) -> Any:
    response = await page.request.get(f"/g/{gathering_id}.ics")
    assert response.ok
    [event] = Calendar.from_ical(await response.body()).walk("VEVENT")
    return event


async def present_in_overview(page: Any, municipality: str) -> list[str]:
    """The lead's overview of the year: the municipality's row for "Mat og matsvinn" (theme,
    participants registered, then those present at each gathering)."""
    await page.goto(f"/overview?year={YEAR}")
    await page.get_by_role("heading", level=1, name=f"Programoversikt {YEAR}").wait_for()
    table = page.get_by_role("table", name=f"Oppmøte per kommune i {YEAR}")
    row = table.get_by_role("row", name=municipality).filter(has_text="Mat og matsvinn")
    return [t.strip() for t in await row.get_by_role("cell").all_inner_texts()]


async def test_the_programme_year(forum: Forum) -> None:
    async with chromium() as browser:
        lead = await open_context(browser, forum)
        page = lead.page
        await sign_in_by_link(lead, f"{forum.url}/signin/"
                              f"{await create_invitation(forum.sessions, forum.lead.id, days=1)}")

        # --- the grant list: a dry run, then the import ----------------------------------
        await page.get_by_role("link", name="Importer tilskuddslisten").click()
        await page.wait_for_url("**/import")
        await assert_accessible(page, "import page")
        await page.get_by_label("Tilskuddsliste").set_input_files(DATA / "tilskudd_2026.csv")
        await page.get_by_role("button", name="Vis hva importen vil gjøre").click()
        await page.get_by_text("10 prosjekter opprettes").wait_for()
        await assert_accessible(page, "import dry run")
        async with forum.sessions() as s:
            assert list(await s.scalars(select(Project))) == []  # a dry run writes nothing
        await page.get_by_role("button", name="Importer", exact=True).click()
        await page.get_by_role("heading", name="Tilskuddslisten er importert").wait_for()
        await page.get_by_text("10 prosjekter opprettet").wait_for()
        await assert_accessible(page, "import result")
        async with forum.sessions() as s:
            project = await s.scalar(select(Project).where(
                Project.title.startswith("Matsvinnfrie sykehjem")))
        assert project is not None and project.stage == "oppstart"

        # --- the year's four gatherings of "Mat og matsvinn" -----------------------------
        await page.goto("/gatherings")
        await page.get_by_role("link", name="Planlegg årets samlinger").click()
        await page.wait_for_url("**/schedule")
        await assert_accessible(page, "year's gatherings")
        await page.goto(f"/schedule?year={YEAR}")
        for number, title, day in GATHERINGS:
            await page.get_by_role("link", name="Ny samling i Mat og matsvinn").click()
            await page.get_by_role("heading", name="Ny samling", exact=True).wait_for()
            if number == 1:
                await assert_accessible(page, "new gathering form")
            await page.get_by_label("Nummer i året").select_option(str(number))
            await page.get_by_label("Tittel").fill(title)
            await page.get_by_label("Dato").fill(day)
            await page.get_by_label("Starter kl.").fill("09:00")
            assert await page.get_by_label("Agenda", exact=True).input_value() == "standard"
            await page.get_by_role("button", name="Opprett samlingen").click()
            await page.get_by_text("Samlingen er opprettet.").wait_for()
            await page.get_by_role("rowheader", name=title).wait_for()
        await assert_accessible(page, "year's four gatherings")
        async with forum.sessions() as s:
            gatherings = {g.number: g for g in await s.scalars(select(Gathering))}
        assert sorted(gatherings) == [1, 2, 3, 4]
        assert all(g.year == YEAR for g in gatherings.values())
        first, last = gatherings[1], gatherings[4]

        # --- invitations: a facilitator, then the participants, as pasted lists ----------
        await page.goto("/themes/mat/people")
        await assert_accessible(page, "theme's people")
        people_list = page.get_by_label("Folk, én per linje")
        await people_list.fill(f"Frida Fasilitator <{FRIDA}>")
        await page.get_by_label("Rolle").select_option("facilitator")
        await page.get_by_role("button", name="Inviter og send lenkene med e-post").click()
        await page.get_by_role("status").filter(has_text="Inviterte 1 person").wait_for()
        await people_list.fill(f"Ingrid Fjeld <{INGRID}>; Fjordvik kommune\n"
                               f"Kari Strand <{KARI}>\n"
                               f"Hilde Moen;{HILDE};Solåsen\n"
                               f"Lars Foss, {LARS}\n")
        await page.get_by_label("Rolle").select_option("participant")
        await page.get_by_role("button", name="Inviter og send lenkene med e-post").click()
        await page.get_by_role("status").filter(has_text="Inviterte 4 personer").wait_for()
        await assert_accessible(page, "theme's people after the invitations")

        # the overview: Fjordvik is registered in the theme, and no gathering is held yet
        row = await present_in_overview(page, "Fjordvik kommune")
        assert row[:2] == ["Mat og matsvinn", "1"] and "ikke holdt" in row[2], row
        await assert_accessible(page, "programme overview before the year")

        # the links arrive by e-mail, in bokmål, each person's own
        [to_frida] = await mail_to(forum, FRIDA)
        [to_ingrid] = await mail_to(forum, INGRID)
        others = [(await mail_to(forum, address))[0] for address in (KARI, HILDE, LARS)]
        links = {link_in(m) for m in (to_frida, to_ingrid, *others)}
        assert len(links) == 5

        # --- Ingrid signs in from her e-mail and moves her project on --------------------
        ingrid = await open_context(browser, forum)
        await ingrid.page.goto(link_in(to_ingrid))
        await assert_accessible(ingrid.page, "sign-in page")
        await ingrid.page.get_by_role("button", name="Logg inn").click()
        await ingrid.page.wait_for_url("**/gatherings")
        mine = ingrid.page
        await mine.get_by_role("link", name="Mine prosjekter").click()
        await mine.wait_for_url("**/projects")
        await mine.get_by_role("link", name=re.compile(
            "Detaljer og fasehistorikk for Matsvinnfrie sykehjem")).click()
        await mine.wait_for_url(f"**/projects/{project.id}")
        await assert_accessible(mine, "project page")
        await mine.get_by_label("Prosjektfase").select_option("gjennomforing")
        await mine.get_by_role("button", name="Lagre").click()
        await mine.get_by_role("status").filter(has_text="Lagret.").wait_for()
        await mine.locator("ol.stage-history li").filter(has_text="Gjennomføring").filter(
            has_text="av Ingrid Fjeld").wait_for()

        # ... and switches to nynorsk
        await mine.locator('form.language-switch button[value="nn"]').click()
        await mine.locator('html[lang="nn"]').wait_for(state="attached")
        await mine.get_by_label("Prosjektfase").wait_for()
        await assert_accessible(mine, "project page in nynorsk")

        # --- the first gathering: breakout groups by project stage -----------------------
        frida = await open_context(browser, forum)
        await sign_in_by_link(frida, link_in(to_frida))
        console = frida.page
        await console.goto(f"/g/{first.id}/console")
        await console.locator("#phase").filter(has_not_text="Kobler til").wait_for()
        await mine.goto(f"/g/{first.id}")
        await mine.locator("#phase").filter(has_text="Ikkje starta enno").wait_for()
        # the others join from socket.io clients: Kari, whose project went on to its next
        # stage earlier in the year, and Hilde and Lars, whose projects are at their start
        async with forum.sessions() as s:
            havbrekke = await s.scalar(select(Project).where(
                Project.title == "Felles innkjøp av klimavennlig mat"))
            assert havbrekke is not None
            havbrekke.stage = "gjennomforing"
            await s.commit()
        clients = []
        try:
            for address in (KARI, HILDE, LARS):
                token = await start_session(forum.sessions, (await person(forum, address)).id,
                                            days=1)
                clients.append(await connect_client(forum.url, token))
                assert (await send(clients[-1], first.id, "room.join"))["ok"]
            await console.locator("#presence-count").filter(has_text="5").wait_for()
            await assert_accessible(console, "console")
            await console.get_by_role("button", name="Åpne rommet").click()
            for room in (console, mine):
                await room.locator("#phase").filter(has_text="Pågår").wait_for()

            await open_panel(console, "Grupperom")
            await console.get_by_label("Slik deles gruppene").select_option("same_stage")
            await console.get_by_role("button", name="Foreslå grupper").click()
            panel = console.locator("#breakouts-panel")
            await panel.locator("#breakouts-state").filter(
                has_text="Forslag: 2 grupper").wait_for()
            for stage, names in (("Gjennomføring", ["Ingrid Fjeld", "Kari Strand"]),
                                 ("Oppstart", ["Hilde Moen", "Lars Foss"])):
                for name in names:
                    await panel.locator("section.breakout-group").filter(
                        has=console.get_by_role("heading", name=stage)).locator("li").filter(
                        has_text=name).wait_for()
            await console.get_by_role("button", name="Åpne gruppene").click()
            await mine.locator("#group-heading").filter(
                has_text="Gruppa di: Gjennomføring").wait_for()
            await announced(mine, "Gjennomføring")
            listed = mine.locator("#group-members")
            await listed.get_by_text("Kari Strand").wait_for()
            for stranger in ("Hilde Moen", "Lars Foss"):
                assert await listed.get_by_text(stranger).count() == 0
            await assert_accessible(mine, "room in nynorsk, in a breakout group")
            await assert_accessible(console, "console, groups open")

            # --- the lead moves the last gathering; its calendar file follows ------------
            before = await calendar_event(page, last.id)
            await page.goto(f"/schedule?year={YEAR}")
            await page.locator(f"#gathering-{last.id}").get_by_role(
                "link", name="Endre eller flytt").click()
            await page.wait_for_url(f"**/schedule/{last.id}/edit")
            await assert_accessible(page, "edit gathering form")
            await page.get_by_label("Dato").fill("2027-12-02")
            await page.get_by_label("Starter kl.").fill("12:30")
            await page.get_by_role("button", name="Lagre samlingen").click()
            await page.get_by_text("Samlingen er flyttet.").wait_for()
            await assert_accessible(page, "year's gatherings after the move")
            after = await calendar_event(page, last.id)
            assert str(after["uid"]) == str(before["uid"])
            assert int(after["sequence"]) > int(before["sequence"])
            assert before["dtstart"].dt == datetime(2027, 11, 25, 8, 0, tzinfo=UTC)
            assert after["dtstart"].dt == datetime(2027, 12, 2, 11, 30, tzinfo=UTC)
            # the theme's members are told by e-mail, each in their own language
            moved = (await mail_to(forum, INGRID, 2))[1]
            assert moved["Subject"] == "Nytt tidspunkt: Året som gikk"
            assert moved["Content-Language"] == "nn"
            assert "2. desember 2027" in parts(moved)[0]
            assert (await mail_to(forum, HILDE, 2))[1]["Content-Language"] == "nb"

            # --- the gathering ends ------------------------------------------------------
            await console.get_by_role("button", name="Kall alle tilbake").click()
            await panel.locator("#breakouts-state").filter(has_text="tilbake i plenum").wait_for()
            console.remove_listener("dialog", frida._dialog)  # this one is answered "yes"
            console.once("dialog", lambda dialog: dialog.accept())
            await console.get_by_role("button", name="Avslutt samlingen").click()
            await console.locator("#phase").filter(has_text="Avsluttet").wait_for()
            await mine.locator("#phase").filter(has_text="Avslutta").wait_for()
        finally:
            for client in clients:
                await client.disconnect()

        # --- the overview: Fjordvik was there ------------------------------------------------
        row = await present_in_overview(page, "Fjordvik kommune")
        assert row[:3] == ["Mat og matsvinn", "1", "1"], row
        await assert_accessible(page, "programme overview")
        solasen = await present_in_overview(page, "Solåsen kommune")
        assert solasen[:3] == ["Mat og matsvinn", "1", "1"], solasen

        for who in (lead, ingrid, frida):
            assert who.errors == [] and who.dialogs == [], (who.errors, who.dialogs)
