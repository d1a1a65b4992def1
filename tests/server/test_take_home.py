""""What I bring home" over a real server: a gathering held by real socket.io clients (a
fake server clock; questions asked, voted for and answered; a breakout round whose members
write their group's notes), a recording and follow-ups in the database; then a participant's
own page, its Markdown, share links that work without signing in and stop when revoked or
expired, and nobody's page data for anyone else."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import socketio
from aiohttp.test_utils import TestServer
from markdown_it import MarkdownIt
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation.notes import group_note_id
from rooms import take_home
from rooms.forum_models import FollowUp, TakeHomeLink
from rooms.models import Membership, Person, Recording
from server.keys import LIVE
from server.pages.summary import md, md_literal
from tests.conftest import Connect, send
from tests.factories import World, add_gathering
from tests.server import test_summary
from tests.server.browsing import Browser, PageOutline, csrf_of
from tests.server.test_notes_socket import NoteClient, append
from tests.server.test_pages import XSS, signed_in

T0 = 1_900_000_000.0
ESCAPED = test_summary.ESCAPED
mallory = test_summary.mallory  # a participant whose name (and municipality's) is markup
MINUTE = 60
WRITES = {"Alice Askvik": "Vi veier matsvinnet hver fredag.",
          "Bjørn Brekke": "Kantina teller porsjoner.",
          XSS: "Elevene lager plakater."}
NEW_LINK = re.compile(r'id="new-link" type="text" readonly value="([^"]+)"')


@dataclass
class Held:
    gid: str
    group: str  # Alice's group's name
    notes: str  # what its members wrote
    recording: str  # the id of the expert talk's recording
    link_safe: str  # the follow-up's file link


async def hold(world: World, mallory: Person, connect: Connect, server: TestServer,
               sessions: async_sessionmaker) -> Held:
    """Alice asks a question and votes for Bjørn's, which is answered during the expert's
    talk (recorded); Mallory asks one nobody votes for. All three participants share a
    breakout group and write in its notes. Mallory chose to be seen by peers, Bjørn did not.
    Askvik and Brekke each get a follow-up from the gathering."""
    gid = world.gathering.id
    now = [T0]
    server.app[LIVE].clock = lambda: now[0]
    people = {"Alice Askvik": world.alice, "Bjørn Brekke": world.bjorn, XSS: mallory}
    frida = await connect(world.facilitator)
    clients: dict[str, socketio.AsyncClient] = {n: await connect(p) for n, p in people.items()}
    for client in (frida, *clients.values()):
        assert (await send(client, gid, "room.join"))["ok"]

    async def ok(client: socketio.AsyncClient, type_: str, **fields: object) -> None:
        answer = await send(client, gid, type_, **fields)
        assert answer["ok"], (type_, answer)

    await ok(clients["Alice Askvik"], "question.ask", text="Hvordan måler dere matsvinn?")
    await ok(clients["Bjørn Brekke"], "question.ask", text="Hva kostet kjøkkenet?")
    await ok(clients[XSS], "question.ask", text=f"Mallory spør {XSS}")
    await ok(clients["Alice Askvik"], "question.upvote", question_id=2)
    ids = [i["id"] for i in (await send(frida, gid, "room.sync", since=10**6))
           ["snapshot"]["agenda"]]
    await ok(frida, "room.open")
    current = None
    for minute, item in [(0, ids[0]), (12, ids[1])]:
        now[0] = T0 + minute * MINUTE
        await ok(frida, "agenda.next", from_item=current)
        current = item
    now[0] = T0 + 15 * MINUTE
    await ok(frida, "question.pick", question_id=2)
    await ok(frida, "question.answered", question_id=2)
    now[0] = T0 + 30 * MINUTE
    await ok(frida, "agenda.next", from_item=current)
    breakouts = (await send(frida, gid, "room.sync", since=10**6))["snapshot"]["breakouts"]
    group = next(g for g in breakouts["groups"]
                 if "Alice Askvik" in [m["name"] for m in g["members"]])
    assert sorted(m["name"] for m in group["members"]) == sorted(people), group
    note_id = group_note_id(breakouts["round"], group["id"])
    for name in people:
        writer = NoteClient(clients[name], gid, note_id)
        assert (await writer.subscribe())["ok"]
        assert (await writer.edit(append(WRITES[name] + " ")))["ok"]
    now[0] = T0 + 58 * MINUTE
    await ok(frida, "agenda.next", from_item=ids[2])
    now[0] = T0 + 66 * MINUTE
    await ok(frida, "gathering.end")

    start = datetime.fromtimestamp(T0, UTC)
    recording = uuid.uuid4().hex
    link = "https://example.org/veiing.pdf"
    following = await add_gathering(sessions, world.theme, 2, title="Samling 2")
    async with sessions() as s:
        s.add(Recording(id=recording, gathering_id=gid, item_id=ids[1],
                        person_id=world.expert.id, person_name=world.expert.name,
                        consent_at=start + timedelta(minutes=12), started_by=world.facilitator.id,
                        started_at=start + timedelta(minutes=12),
                        ended_at=start + timedelta(minutes=30), seconds=18 * 60.0,
                        size_bytes=1000, streams="audio+video", status="ready"))
        for municipality, text, url in [
                (world.alice.municipality_id, "Prøve veiing i to skoler", link),
                (world.alice.municipality_id, "Lage plakater", "javascript:alert(1)"),
                (world.bjorn.municipality_id, "Brekke teller porsjoner", "")]:
            assert municipality is not None
            s.add(FollowUp(theme_id=world.theme.id, gathering_id=gid,
                           due_gathering_id=following.id, municipality_id=municipality,
                           text=text, status="doing", report="Halvveis.", link=url,
                           created_at=start, updated_at=start))
        await s.execute(update(Person).where(Person.id == mallory.id).values(show_email=True))
        await s.commit()
    notes = " ".join(WRITES[name] for name in people)  # in the order they wrote
    return Held(gid, group["name"], notes, recording, link)


def section(page: str, heading: str) -> str:
    return page.split(f'id="{heading}"')[1].split("</section>")[0]


def escaped(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


async def test_a_participant_brings_home_their_group_questions_follow_ups_peers_and_recordings(
        server: TestServer, sessions: async_sessionmaker, world: World, mallory: Person,
        connect: Connect) -> None:
    held = await hold(world, mallory, connect, server, sessions)
    page_path = f"/g/{held.gid}/take-home"
    async with await signed_in(server, sessions, world.alice) as alice:
        status, page, _ = await alice.get(page_path)
    assert status == 200
    assert "Det jeg tar med hjem: Samling 1" in page
    groups = section(page, "groups-heading")
    assert escaped(held.group) in groups and f'<div class="note-text">{escaped(held.notes)}' \
        in groups
    questions = section(page, "questions-heading")
    assert "Hvordan måler dere matsvinn?" in questions  # she asked it: not answered
    assert "Hva kostet kjøkkenet?" in questions  # she voted for it: answered in the talk
    assert "Innlegg: matsvinn i skolen" in questions
    assert f'href="/g/{held.gid}/recordings/{held.recording}"' in questions
    assert "Mallory spør" not in questions  # neither hers nor voted for
    assert "Bjørn" not in questions  # who asked is nobody's business here
    follow_ups = section(page, "follow-ups-heading")
    assert "Prøve veiing i to skoler" in follow_ups and "Lage plakater" in follow_ups
    assert f'href="{held.link_safe}"' in follow_ups and 'href="javascript' not in page
    assert "Brekke teller porsjoner" not in page  # another municipality's
    assert "Samling 2" in follow_ups  # due before the next gathering
    peers = section(page, "peers-heading")
    assert escaped(XSS) in peers and "mallory@example.org" in peers  # she chose to be seen
    assert "Bjørn Brekke" not in peers and "bjorn@example.org" not in page  # he did not
    assert "1 person fra Brekke kommune som ikke har valgt å bli navngitt" in peers
    recordings = section(page, "recordings-heading")
    assert "Innlegg: matsvinn i skolen" in recordings
    assert "Eva Ekspert" not in recordings  # the speaker has not chosen to be seen
    assert XSS not in page
    outline = PageOutline(page)
    assert len(outline.all("h1")) == 1 and not outline.unlabelled_inputs()

    # linked from the summary once it is published
    summary = f"/g/{held.gid}/summary"
    async with await signed_in(server, sessions, world.facilitator) as frida:
        await frida.submit(summary, summary, {"intro": "Takk!", "action": "publish"})
    async with await signed_in(server, sessions, world.alice) as alice:
        _, page, _ = await alice.get(summary)
    assert f'href="{page_path}"' in page


async def test_the_markdown_download_is_escaped_and_carries_no_addresses(
        server: TestServer, sessions: async_sessionmaker, world: World, mallory: Person,
        connect: Connect) -> None:
    held = await hold(world, mallory, connect, server, sessions)
    async with await signed_in(server, sessions, world.alice) as alice, \
            alice.http.get(alice.url(f"/g/{held.gid}/take-home.md")) as response:
        assert response.status == 200
        assert response.content_type == "text/markdown"
        assert response.headers["Content-Disposition"] == \
            'attachment; filename="ta-med-hjem-2026-1.md"'
        text = await response.text()
    assert text.startswith("# Det jeg tar med hjem\\: Samling 1\n")
    assert md_literal(held.notes) in text
    assert f"- {md(XSS)} ({md(XSS + ' kommune')})" in text
    assert md("Hva kostet kjøkkenet?") in text and md("Hvordan måler dere matsvinn?") in text
    assert md("Prøve veiing i to skoler") in text and "Brekke teller" not in text
    assert "@" not in text.replace(md("@"), "")  # no address, of anyone
    assert "Bjørn Brekke" not in text
    html = MarkdownIt("commonmark").render(text)
    assert "<img" not in html and "<a " not in html and "javascript:" not in html.replace(
        "javascript:alert(1)", "")  # the unsafe link is text at most, never a link
    assert escaped(XSS) in html


async def test_a_share_link_works_without_signing_in_until_revoked_or_expired(
        server: TestServer, sessions: async_sessionmaker, world: World, mallory: Person,
        connect: Connect) -> None:
    held = await hold(world, mallory, connect, server, sessions)
    page_path = f"/g/{held.gid}/take-home"
    async with await signed_in(server, sessions, world.alice) as alice, \
            Browser(server) as colleague:
        status, made, _ = await alice.submit(page_path, page_path + "/links", {"days": "30"})
        assert status == 200
        found = NEW_LINK.search(made)
        assert found, "the new link is shown once"
        path = "/take-home/" + found.group(1).rsplit("/take-home/", 1)[1]
        status, shared, response = await colleague.get(path)
        assert status == 200
        assert response.headers["X-Robots-Tag"].startswith("noindex")
        assert '<meta name="robots" content="noindex' in shared
        assert "Det Alice Askvik tok med hjem fra Samling 1" in shared
        assert f'<div class="note-text">{escaped(held.notes)}' in shared
        assert "Hva kostet kjøkkenet?" in shared and "Prøve veiing i to skoler" in shared
        assert escaped(XSS) in section(shared, "peers-heading")  # consented
        assert "Bjørn Brekke" not in shared  # not consented: not named anywhere
        assert "@" not in shared  # no e-mail address, not even of those who show theirs
        assert "<form" not in shared.split("<main")[1].split("</main>")[0]  # read-only
        assert "/recordings/" not in shared  # downloads are for members
        assert XSS not in shared

        # listed for Alice, with a revoke button; the list never shows the token again
        _, own, _ = await alice.get(page_path)
        assert found.group(1) not in own and "Lenken virker" in own
        revoke = re.findall(rf'action="({page_path}/links/\d+/revoke)"', own)
        assert len(revoke) == 1
        status, _, response = await alice.submit(page_path, revoke[0], allow_redirects=False)
        assert status == 303
        status, gone, response = await colleague.get(path)
        assert status == 410 and "Denne lenken gjelder ikke lenger" in gone
        assert response.headers["X-Robots-Tag"].startswith("noindex")
        assert "Vi veier" not in gone
        _, own, _ = await alice.get(page_path)
        assert "Lenken ble trukket tilbake" in own and "/revoke" not in own

        # expired: a link whose time has run out (the clock moved past it)
        status, made, _ = await alice.submit(page_path, page_path + "/links", {"days": "1"})
        second = NEW_LINK.search(made)
        assert second
        second_path = "/take-home/" + second.group(1).rsplit("/take-home/", 1)[1]
        assert (await colleague.get(second_path))[0] == 200
        async with sessions() as s:
            await s.execute(update(TakeHomeLink).where(TakeHomeLink.revoked_at.is_(None))
                            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            await s.commit()
        assert (await colleague.get(second_path))[0] == 410
        assert (await colleague.get("/take-home/" + "A" * 43))[0] == 404  # never made

        # a link stops when its maker leaves the theme
        status, made, _ = await alice.submit(page_path, page_path + "/links", {"days": "90"})
        third = NEW_LINK.search(made)
        assert third
        third_path = "/take-home/" + third.group(1).rsplit("/take-home/", 1)[1]
        assert (await colleague.get(third_path))[0] == 200
        async with sessions() as s:
            await s.execute(delete(Membership).where(Membership.person_id == world.alice.id))
            await s.commit()
        assert (await colleague.get(third_path))[0] == 410


async def test_bad_expiry_choices_are_refused_and_change_nothing(
        server: TestServer, sessions: async_sessionmaker, world: World,
        monkeypatch: pytest.MonkeyPatch) -> None:
    page_path = f"/g/{world.gathering.id}/take-home"
    async with await signed_in(server, sessions, world.alice) as alice:
        for days in ("91", "0", "tretti", ""):
            status, page, _ = await alice.submit(page_path, page_path + "/links",
                                                 {"days": days})
            assert status == 400 and 'role="alert"' in page, days
            assert "høyst 90 dager" in page
        assert 'id="new-link"' not in page and "/revoke" not in page
        _, page, _ = await alice.get(page_path)
        status, _, _ = await alice.post(page_path + "/links", {"days": "30"})
        assert status == 403  # no form token: nothing made
        assert "/revoke" not in (await alice.get(page_path))[1]

        # working links are bounded; dead ones are listed a while, then forgotten
        monkeypatch.setattr(take_home, "MAX_ACTIVE_LINKS", 2)
        monkeypatch.setattr(take_home, "KEPT_DEAD_LINKS", 1)
        for _round in range(2):
            assert (await alice.submit(page_path, page_path + "/links", {"days": "7"}))[0] == 200
        status, page, _ = await alice.submit(page_path, page_path + "/links", {"days": "7"})
        assert status == 409 and 'role="alert"' in page and 'id="new-link"' not in page
        for _round in range(3):
            _, page, _ = await alice.get(page_path)
            revoke = re.findall(rf'action="({page_path}/links/\d+/revoke)"', page)
            assert revoke
            await alice.submit(page_path, revoke[0])
            assert (await alice.submit(page_path, page_path + "/links", {"days": "7"}))[0] == 200
        async with sessions() as s:
            rows = list(await s.scalars(select(TakeHomeLink)))
        assert len(rows) == 3  # two working, the newest dead one


async def test_a_page_and_its_links_are_their_owners_alone(
        server: TestServer, sessions: async_sessionmaker, world: World, mallory: Person,
        connect: Connect) -> None:
    held = await hold(world, mallory, connect, server, sessions)
    page_path = f"/g/{held.gid}/take-home"
    async with await signed_in(server, sessions, world.alice) as alice, \
            await signed_in(server, sessions, world.bjorn) as bjorn, \
            await signed_in(server, sessions, world.outsider) as ulf, \
            Browser(server) as visitor:
        _, made, _ = await alice.submit(page_path, page_path + "/links", {"days": "7"})
        found = NEW_LINK.search(made)
        assert found
        shared = "/take-home/" + found.group(1).rsplit("/take-home/", 1)[1]
        _, own, _ = await alice.get(page_path)
        alices_revoke = re.findall(rf'action="({page_path}/links/\d+/revoke)"', own)[0]

        # Bjørn's page is his own: his question, his municipality, not Alice's link
        status, page, _ = await bjorn.get(page_path)
        assert status == 200
        assert "Brekke teller porsjoner" in page and "Prøve veiing" not in page
        assert "Hvordan måler dere matsvinn?" not in page  # Alice's; he did not vote
        assert "/revoke" not in page
        status, _, _ = await bjorn.post(alices_revoke, {"csrf_token": csrf_of(page)})
        assert status == 404  # not his to revoke
        assert (await visitor.get(shared))[0] == 200

        # outside the theme, or not signed in: nothing
        assert (await ulf.get(page_path))[0] == 403
        assert (await ulf.get(page_path + ".md"))[0] == 403
        _, _, response = await visitor.get(page_path, allow_redirects=False)
        assert response.status == 303
        _, _, response = await visitor.get(page_path + ".md", allow_redirects=False)
        assert response.status == 303
        # the address first given for the page leads to it
        _, _, response = await alice.get(f"/gatherings/{held.gid}/take-home",
                                         allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == page_path


@pytest.mark.parametrize("path", ["/take-home/short", "/take-home/" + "A" * 44])
async def test_malformed_tokens_are_not_found(server: TestServer, path: str) -> None:
    async with Browser(server) as visitor:
        assert (await visitor.get(path))[0] == 404
