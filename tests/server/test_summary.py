"""The summary over a real server: a scripted gathering (python-socketio clients, a fake
server clock, notes written through the notes protocol), then its summary page, the
introduction and publication rights, the exports, the theme's thread, and escaping."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import socketio
from aiohttp.test_utils import TestServer
from markdown_it import MarkdownIt
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation.notes import group_note_id
from rooms.models import Municipality, Person
from server.keys import LIVE
from server.pages.summary import md, md_literal
from tests.conftest import Connect, send
from tests.factories import World, add_gathering, add_participant
from tests.server.browsing import Browser, PageOutline, csrf_of
from tests.server.test_notes_socket import NoteClient, append
from tests.server.test_pages import XSS, signed_in

T0 = 1_900_000_000.0
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@dataclass
class Scripted:
    gid: str
    groups: dict[str, list[str]]  # group name -> member names
    group_notes: dict[str, str]  # group name -> the text its members wrote


@pytest.fixture
async def mallory(world: World, sessions: async_sessionmaker) -> Person:
    """A participant of the theme whose name is markup, from a municipality named so too."""
    async with sessions() as s:
        place = Municipality(name=f"{XSS} kommune")
        s.add(place)
        await s.flush()
        place_id = place.id
        await s.commit()
    return await add_participant(sessions, world.theme, "mallory@example.org", XSS,
                                 municipality_id=place_id)


async def script(world: World, mallory: Person, connect: Connect, server: TestServer) -> Scripted:
    """Open at T0; items start at +0, +12, +30 and +58 minutes; the end at +66 minutes. The
    breakout item opens groups; each participant writes in their group's notes; Frida
    writes the plenary notes."""
    gid = world.gathering.id
    now = [T0]
    server.app[LIVE].clock = lambda: now[0]
    frida = await connect(world.facilitator)
    people = {"alice": world.alice, "bjorn": world.bjorn, "mallory": mallory}
    clients: dict[str, socketio.AsyncClient] = {k: await connect(p) for k, p in people.items()}
    for client in (frida, *clients.values()):
        assert (await send(client, gid, "room.join"))["ok"]
    ids = [i["id"] for i in (await send(frida, gid, "room.sync", since=10**6))
           ["snapshot"]["agenda"]]
    assert (await send(frida, gid, "room.open"))["ok"]
    current = None
    for minute, item in [(0, ids[0]), (12, ids[1]), (30, ids[2])]:
        now[0] = T0 + minute * 60
        assert (await send(frida, gid, "agenda.next", from_item=current))["ok"]
        current = item
    snapshot = (await send(frida, gid, "room.sync", since=10**6))["snapshot"]
    breakouts = snapshot["breakouts"]
    assert breakouts["status"] == "open"
    groups = {g["name"]: [m["name"] for m in g["members"]] for g in breakouts["groups"]}
    notes: dict[str, str] = {}
    by_name = {p.name: k for k, p in people.items()}
    for group in breakouts["groups"]:
        note_id = group_note_id(breakouts["round"], group["id"])
        for member in group["members"]:
            writer = NoteClient(clients[by_name[member["name"]]], gid, note_id)
            assert (await writer.subscribe())["ok"]
            words = f"{member['name']} skrev dette. "
            assert (await writer.edit(append(words)))["ok"]
            notes[group["name"]] = notes.get(group["name"], "") + words
    plenary = NoteClient(frida, gid)
    assert (await plenary.subscribe())["ok"]
    assert (await plenary.edit(append("Felles: vi deler innkjøpsmaler.")))["ok"]
    private = NoteClient(frida, gid, "facilitators")
    assert (await private.subscribe())["ok"]
    assert (await private.edit(append("Privat: følg opp Brekke om anbud.")))["ok"]
    now[0] = T0 + 58 * 60
    assert (await send(frida, gid, "agenda.next", from_item=ids[2]))["ok"]
    now[0] = T0 + 66 * 60
    assert (await send(frida, gid, "gathering.end"))["ok"]
    return Scripted(gid, groups, {k: v.strip() for k, v in notes.items()})


async def test_the_summary_of_a_scripted_gathering(server: TestServer,
                                                   sessions: async_sessionmaker, world: World,
                                                   mallory: Person, connect: Connect) -> None:
    run = await script(world, mallory, connect, server)
    async with await signed_in(server, sessions, world.facilitator) as frida:
        status, page, _ = await frida.get(f"/g/{run.gid}/summary")
    assert status == 200
    # the agenda as run: planned against actual minutes (and the difference)
    table = page.split('id="run-heading"')[1].split("</table>")[0]
    cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip()
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", table.split("<tbody>")[1], re.S)]
    assert [cells[i:i + 5] for i in range(0, len(cells), 5)] == [
        ["Velkommen og innsjekk Velkommen og innsjekk", "10", "18:46", "12", "+2"],
        ["Innlegg: matsvinn i skolen Innlegg", "20", "18:58", "18", "-2"],
        ["Grupperom etter prosjektfase Grupperom", "25", "19:16", "28", "+3"],
        ["Oppsummering Oppsummering", "5", "19:44", "8", "+3"],
    ]
    # attendance by municipality
    attendance = page.split('id="attendance-heading"')[1].split("</section>")[0]
    assert "4 personer deltok." in attendance
    places = re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", attendance, re.S)
    assert places == [(f"{ESCAPED} kommune", ESCAPED), ("Askvik kommune", "Alice Askvik"),
                      ("Brekke kommune", "Bjørn Brekke"), ("Uten kommune", "Frida Fasilitator")]
    # the groups, their members, and their notes' text
    for name, members in run.groups.items():
        section = page.split(f">{name}</h3>")[1].split("</article>")[0]
        for member in members:
            assert member.replace("<", "&lt;").replace(">", "&gt;") in section
        expected = run.group_notes[name].replace("<", "&lt;").replace(">", "&gt;")
        assert f'<div class="note-text">{expected}</div>' in section
    assert "Felles: vi deler innkjøpsmaler." in page
    assert "Privat" not in page  # the facilitators' own notes stay theirs
    assert XSS not in page


async def test_publication_rights(server: TestServer, sessions: async_sessionmaker,
                                  world: World, mallory: Person, connect: Connect) -> None:
    run = await script(world, mallory, connect, server)
    summary = f"/g/{run.gid}/summary"
    intro = f"Takk for sist!\n\nHilsen {XSS}"
    async with await signed_in(server, sessions, world.alice) as alice, \
            await signed_in(server, sessions, world.facilitator) as frida:
        # a draft: the participant sees nothing of it, and cannot publish
        await frida.submit(summary, summary, {"intro": intro, "action": "save"})
        for path in (summary, summary + ".md", summary + "/print"):
            status, page, _ = await alice.get(path)
            assert status == 404 and "Takk for sist" not in page, path
        _, listing, _ = await alice.get("/gatherings")
        status, _, _ = await alice.post(summary, {"csrf_token": csrf_of(listing),
                                                  "intro": "Mitt", "action": "publish"})
        assert status == 403
        _, theme, _ = await alice.get("/themes/mat")
        assert f'href="{summary}"' not in theme
        _, theme, _ = await frida.get("/themes/mat")
        assert f'href="{summary}"' in theme and "Oppsummering (utkast)" in theme

        # published: everyone in the theme reads it; the introduction is text
        status, _, _ = await frida.submit(summary, summary, {"intro": intro,
                                                             "action": "publish"})
        assert status == 200
        status, page, _ = await alice.get(summary)
        assert status == 200
        assert "<p>Takk for sist!</p>" in page and f"<p>Hilsen {ESCAPED}</p>" in page
        assert "Publisert" in page and "Frida Fasilitator" in page
        assert f'action="{summary}"' not in page  # no editor for participants
        assert XSS not in page
        outline = PageOutline(page)
        assert len(outline.all("h1")) == 1 and not outline.unlabelled_inputs()
        _, listing, _ = await alice.get("/gatherings")
        assert f'href="{summary}"' in listing
        async with await signed_in(server, sessions, world.outsider) as ulf:
            assert (await ulf.get(summary))[0] == 403

        # taken back: a draft again
        await frida.submit(summary, summary, {"intro": intro, "action": "unpublish"})
        assert (await alice.get(summary))[0] == 404


async def test_the_room_and_the_agenda_link_to_the_summary_once_it_is_published(
        server: TestServer, sessions: async_sessionmaker, world: World,
        connect: Connect) -> None:
    gid = world.gathering.id
    summary = f"/g/{gid}/summary"
    async with await signed_in(server, sessions, world.alice) as alice, \
            await signed_in(server, sessions, world.facilitator) as frida:
        async def linked(browser: Browser) -> list[bool]:
            pages = [(await browser.get(path))[1]
                     for path in (f"/g/{gid}", f"/g/{gid}/agenda", f"/g/{gid}/console")]
            return [f'href="{summary}">Les oppsummeringen</a>' in page for page in pages]

        assert await linked(alice) == [False, False, False]
        kari = await connect(world.cofacilitator)
        assert (await send(kari, gid, "gathering.end"))["ok"]
        assert await linked(alice) == [False, False, False]  # ended, but only a draft
        await frida.submit(summary, summary, {"intro": "Takk!", "action": "publish"})
        assert await linked(alice) == [True, True, False]  # the console is for runners
        assert await linked(frida) == [True, True, True]
        await frida.submit(summary, summary, {"intro": "Takk!", "action": "unpublish"})
        assert await linked(alice) == [False, False, False]


async def test_a_summary_is_published_only_after_the_gathering(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    summary = f"/g/{world.gathering.id}/summary"
    async with await signed_in(server, sessions, world.facilitator) as frida:
        status, page, _ = await frida.submit(summary, summary, {"intro": "Hei",
                                                                "action": "publish"})
        assert status == 409 and 'role="alert"' in page
        status, page, _ = await frida.get(summary)
        assert "Utkast: ikke publisert ennå." in page
        assert 'value="publish"' not in page
        status, _, _ = await frida.submit(summary, summary, {"intro": "x" * 4001})
        assert status == 400


async def test_the_markdown_export_cannot_carry_markup(server: TestServer,
                                                       sessions: async_sessionmaker,
                                                       world: World, mallory: Person,
                                                       connect: Connect) -> None:
    run = await script(world, mallory, connect, server)
    summary = f"/g/{run.gid}/summary"
    async with await signed_in(server, sessions, world.facilitator) as frida:
        await frida.submit(summary, summary, {"intro": f"Hei *alle*\n[lenke](javascript:x) {XSS}",
                                              "action": "publish"})
        async with frida.http.get(frida.url(summary + ".md")) as response:
            assert response.status == 200
            assert response.content_type == "text/markdown"
            text = await response.text()
        status, printable, _ = await frida.get(summary + "/print")
    assert text.startswith("# Oppsummering: Samling 1\n")
    assert "| Velkommen og innsjekk | Velkommen og innsjekk | 10 | 18:46 | 12 | \\+2 |" not in text
    assert "| Velkommen og innsjekk | Velkommen og innsjekk | 10 | 18:46 | 12 | +2 |" in text
    outside_fences = re.sub(r"^(`{3,})text\n.*?\n\1$", "", text, flags=re.S | re.M)
    assert md(XSS) in outside_fences and XSS not in outside_fences  # escaped, except as code
    for name in run.groups:
        assert f"### {md(name)}" in text
        assert md_literal(run.group_notes[name]) in text
    html = MarkdownIt("commonmark").render(text)
    assert "<img" not in html and "<a " not in html and "<em>" not in html
    assert ESCAPED in html  # the name is there, as text
    assert "Felles: vi deler innkjøpsmaler." in html
    # the print version: the same content without the editor and the site's navigation
    assert status == 200 and "<nav" not in printable and "<form" not in printable
    assert "Felles: vi deler innkjøpsmaler." in printable and XSS not in printable


async def test_the_theme_page_reads_the_years_summaries_as_one_thread(
        server: TestServer, sessions: async_sessionmaker, world: World,
        connect: Connect) -> None:
    gatherings = [world.gathering] + [
        await add_gathering(sessions, world.theme, n, title=f"Samling nummer {n}")
        for n in (2, 3, 4)]
    frida = await connect(world.facilitator)
    async with await signed_in(server, sessions, world.facilitator) as page:
        for g in gatherings[:3]:  # three of the four have ended and are published
            await send(frida, g.id, "gathering.end")
            summary = f"/g/{g.id}/summary"
            await page.submit(summary, summary, {"intro": f"Om samling {g.number}.",
                                                  "action": "publish"})
    async with await signed_in(server, sessions, world.bjorn) as bjorn:
        status, theme, _ = await bjorn.get("/themes/mat")
    assert status == 200
    # in the order they were held (the world's first gathering is in December)
    assert re.findall(r"Om samling (\d)\.", theme) == ["2", "3", "1"]
    links = re.findall(r'href="/g/([0-9a-f]+)/summary"', theme)
    assert links == [gatherings[1].id, gatherings[2].id, gatherings[0].id]
    assert theme.count("<h3") == 1  # one year: 2026
    async with Browser(server) as visitor:
        _, _, response = await visitor.get("/themes/mat", allow_redirects=False)
        assert response.status == 303
    async with await signed_in(server, sessions, world.outsider) as ulf:
        assert (await ulf.get("/themes/mat"))[0] == 403
        assert (await ulf.get("/themes/nope"))[0] == 404


async def test_questions_and_polls_go_into_the_summary(server: TestServer,
                                                       sessions: async_sessionmaker,
                                                       world: World, mallory: Person,
                                                       connect: Connect) -> None:
    gid = world.gathering.id
    frida, alice, bjorn, evil = [await connect(p) for p in (world.facilitator, world.alice,
                                                            world.bjorn, mallory)]
    for client in (frida, alice, bjorn, evil):
        await send(client, gid, "room.join")

    async def ok(client: socketio.AsyncClient, type_: str, **fields: object) -> None:
        answer = await send(client, gid, type_, **fields)
        assert answer["ok"], (type_, answer)

    await ok(evil, "question.ask", text=XSS)
    await ok(alice, "question.ask", text="Hvordan måler dere matsvinn?")
    await ok(bjorn, "question.upvote", question_id=2)
    await ok(frida, "room.open")
    await ok(frida, "question.pick", question_id=2)
    await ok(frida, "question.answered", question_id=2)
    await ok(frida, "poll.launch", question="Nyttig?", kind="single", options=["Ja", XSS])
    await ok(alice, "poll.answer", poll_id=1, choices=[0])
    await ok(bjorn, "poll.answer", poll_id=1, choices=[1])
    await ok(evil, "poll.answer", poll_id=1, choices=[0])
    await ok(frida, "gathering.end")
    summary = f"/g/{gid}/summary"
    async with await signed_in(server, sessions, world.facilitator) as page:
        _, html, _ = await page.get(summary)
        _, text, _ = await page.get(summary + ".md")
    questions = html.split('id="questions-heading"')[1].split("</section>")[0]
    assert questions.index(ESCAPED) < questions.index("Hvordan måler dere matsvinn?")
    assert "1 stemme" in questions and "Besvart" in questions and "Ikke besvart" in questions
    polls = html.split('id="polls-heading"')[1].split("</section>")[0]
    assert "<li>Ja: 2</li>" in polls and f"<li>{ESCAPED}: 1</li>" in polls
    assert "3 personer svarte." in polls
    assert XSS not in html
    assert f"- {md('Hvordan måler dere matsvinn?')} — Alice Askvik (Askvik kommune), 1 stemme, " \
           "Besvart" in text
    assert f"- {md(XSS)}: 1" in text
    rendered = MarkdownIt("commonmark").render(text)
    assert "<img" not in rendered
