"""Expert bookings and questions asked before the gathering, over real HTTP, real SMTP
(aiosmtpd in the test process) and a real python-socketio client in the room."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import Actor, Role
from facilitation.commands import EndGathering
from rooms import experts as ex
from rooms.accounts import hash_token
from rooms.forum_models import AdvanceQuestion, ExpertBooking
from rooms.models import AgendaItem, Membership, Person
from server.keys import LIVE
from tests.conftest import Connect, send
from tests.factories import World
from tests.mailbox import Inbox, parts
from tests.server.browsing import Browser, csrf_of
from tests.server.live_helpers import eventually
from tests.server.test_projects import signed_in_browser

LINK = re.compile(r"https?://[^\s/]+(/experts/[A-Za-z0-9_-]{20,100})")


async def talk_item(sessions: async_sessionmaker, world: World) -> int:
    async with sessions() as s:
        item_id = await s.scalar(select(AgendaItem.id).where(
            AgendaItem.gathering_id == world.gathering.id, AgendaItem.kind == "expert_talk"))
    assert item_id is not None
    return int(item_id)


def invitation(item_id: int, **changes: str) -> dict[str, str]:
    return {"item_id": str(item_id), "name": "Nina Nordmann", "email": "Nina@Forskning.no",
            "organisation": "NORSUS", "topic": "Måling av matsvinn i skolekjøkken",
            "minutes": "20", "brief": "**Bakgrunn**: tre kommuner vil måle.", **changes}


async def ask(browser: Browser, gid: str, text: str) -> int:
    page = f"/gatherings/{gid}/questions"
    status, html, response = await browser.submit(page, page, {"text": text},
                                                  allow_redirects=False)
    assert status == 303, html
    return int(response.headers["Location"].rsplit("question-", 1)[1])


async def vote(browser: Browser, gid: str, question: int, up: bool = True) -> int:
    page = f"/gatherings/{gid}/questions"
    status, _, _ = await browser.submit(page, f"{page}/{question}/vote",
                                        {"vote": "up" if up else "down"},
                                        allow_redirects=False)
    return status


async def test_the_facilitator_books_an_expert_who_accepts_by_the_link(
        world: World, mail_server: TestServer, sessions: async_sessionmaker,
        inbox: tuple[Inbox, int]) -> None:
    mailbox, _ = inbox
    gid = world.gathering.id
    item_id = await talk_item(sessions, world)
    async with await signed_in_browser(mail_server, sessions, world.alice.id) as alice, \
            await signed_in_browser(mail_server, sessions, world.bjorn.id) as bjorn, \
            await signed_in_browser(mail_server, sessions, world.facilitator.id) as frida, \
            Browser(mail_server) as nina:
        question = await ask(alice, gid, "Hvordan veier dere <tallerkenrester>?")
        assert await vote(bjorn, gid, question) == 303
        page = f"/gatherings/{gid}/experts"
        status, html, _ = await frida.submit(page, page, invitation(item_id),
                                             allow_redirects=False)
        assert status == 303, html
        (mail,) = await mailbox.wait_for(1)
        assert mail["To"].addresses[0].addr_spec == "nina@forskning.no"
        text, _ = parts(mail)
        assert "Måling av matsvinn i skolekjøkken" in text and "Frida Fasilitator" in text
        found = LINK.search(text)
        assert found, text
        link = found.group(1)

        # the link, without signing in: the brief (Markdown, safely), the questions so far
        status, html, _ = await nina.get(link)
        assert status == 200, html
        assert "<strong>Bakgrunn</strong>" in html
        assert "&lt;tallerkenrester&gt;" in html and "1 stemme" in html
        # accept (no form token: the link is the proof), twice: one answer, one mail
        for _attempt in range(2):
            status, _, response = await nina.post(link + "/accept", {}, allow_redirects=False)
            assert status == 303 and response.headers["Location"] == link
        answers = await mailbox.wait_for(2)
        assert answers[1]["To"].addresses[0].addr_spec == "fasilitator@example.org"
        assert "Nina Nordmann" in parts(answers[1])[0]
        status, html, _ = await nina.get(link)
        assert "calendar.ics" in html and f'action="{link}/room"' in html
        status, body, response = await nina.get(link + "/calendar.ics")
        assert status == 200 and response.content_type == "text/calendar"
        assert "BEGIN:VEVENT" in body and gid in body
        # the other answer now is refused, and changes nothing
        status, html, _ = await nina.post(link + "/decline", {})
        assert status == 409 and "allerede" in html

        async with sessions() as s:
            expert = await s.scalar(select(Person).where(Person.email == "nina@forskning.no"))
            assert expert is not None and expert.name == "Nina Nordmann"
            role = await s.scalar(select(Membership.role).where(
                Membership.person_id == expert.id, Membership.theme_id == world.theme.id))
            item = await s.get(AgendaItem, item_id)
            booking = await s.scalar(select(ExpertBooking))
        assert role == "expert" and item is not None and item.expert_id == expert.id
        assert booking is not None and booking.status == "accepted"
        assert booking.token_hash not in link  # only the hash is kept
        state = await mail_server.app[LIVE].state(gid)
        assert next(s for s in state.agenda if s.id == item_id).expert_id == expert.id
        # the runners' list shows the answer
        html = (await frida.get(page))[1]
        assert "Nina Nordmann" in html and "Godtatt" in html
        # the green room: signed in as herself, into the gathering's room
        status, _, response = await nina.post(link + "/room", {}, allow_redirects=False)
        assert status == 303 and response.headers["Location"] == f"/g/{gid}"
        status, html, _ = await nina.get(f"/g/{gid}")
        assert status == 200 and "Nina Nordmann" in html
        # once the gathering has ended, the link no longer signs in
        frida_actor = Actor(world.facilitator.id, world.facilitator.name, Role.FACILITATOR)
        await mail_server.app[LIVE].execute(frida_actor, gid, EndGathering())
        assert (await nina.post(link + "/room", {}))[0] == 409
        # a wrong token is no page
        assert (await nina.get("/experts/" + "x" * 43))[0] == 404
        assert (await nina.post("/experts/" + "x" * 43 + "/accept", {}))[0] == 404
    assert len(mailbox.messages) == 2


async def test_a_declined_invitation_tells_the_facilitator_and_names_nobody(
        world: World, mail_server: TestServer, sessions: async_sessionmaker,
        inbox: tuple[Inbox, int]) -> None:
    mailbox, _ = inbox
    gid = world.gathering.id
    item_id = await talk_item(sessions, world)
    async with await signed_in_browser(mail_server, sessions, world.facilitator.id) as frida, \
            Browser(mail_server) as nina:
        page = f"/gatherings/{gid}/experts"
        await frida.submit(page, page, invitation(item_id), allow_redirects=False)
        link = LINK.search(parts((await mailbox.wait_for(1))[0])[0])
        assert link
        status, _, _ = await nina.post(link.group(1) + "/decline", {}, allow_redirects=False)
        assert status == 303
        answer = (await mailbox.wait_for(2))[1]
        assert "takket nei" in answer["Subject"]
        assert (await nina.post(link.group(1) + "/room", {}))[0] == 409
        assert (await nina.get(link.group(1) + "/calendar.ics"))[0] == 404
    async with sessions() as s:
        item = await s.get(AgendaItem, item_id)
        assert item is not None and item.expert_id is None
        assert await s.scalar(select(Person).where(Person.email == "nina@forskning.no")) is None


async def test_only_the_runners_invite_and_the_form_keeps_what_was_typed(
        world: World, server: TestServer, sessions: async_sessionmaker) -> None:
    gid = world.gathering.id
    item_id = await talk_item(sessions, world)
    page = f"/gatherings/{gid}/experts"
    async with await signed_in_browser(server, sessions, world.alice.id) as alice:
        assert (await alice.get(page))[0] == 403
        # with a valid form token of hers, posted to the runners' form: refused all the same
        status, html, _ = await alice.post(page, {"csrf_token": await _token(alice, gid),
                                                  **invitation(item_id)})
        assert status == 403, html
    async with await signed_in_browser(server, sessions, world.facilitator.id) as frida:
        status, html, _ = await frida.submit(page, page, invitation(
            item_id, email="ikke-en-adresse", minutes="500", topic="x" * 301))
        assert status == 400
        assert 'value="Nina Nordmann"' in html and "ikke-en-adresse" in html
        assert 'id="error-email"' in html and 'id="error-minutes"' in html
        assert 'id="error-topic"' in html
        breakout = item_id + 1  # not an expert slot
        status, html, _ = await frida.submit(page, page, invitation(breakout))
        assert status == 409 and 'id="error-item_id"' in html
    async with sessions() as s:
        assert await s.scalar(select(ExpertBooking)) is None


async def _token(browser: Browser, gid: str) -> str:
    return csrf_of((await browser.get(f"/gatherings/{gid}/questions"))[1])


async def test_members_ask_and_vote_once_and_others_may_not(
        world: World, server: TestServer, sessions: async_sessionmaker) -> None:
    gid = world.gathering.id
    page = f"/gatherings/{gid}/questions"
    async with await signed_in_browser(server, sessions, world.alice.id) as alice, \
            await signed_in_browser(server, sessions, world.bjorn.id) as bjorn:
        first = await ask(alice, gid, "Hvordan fikk dere kjøkkenet med?")
        second = await ask(bjorn, gid, "Hvilken vekt brukte dere?")
        for _twice in range(2):
            assert await vote(alice, gid, second) == 303
        # no button for her own question, and a vote posted anyway is refused
        status, html, _ = await alice.post(f"{page}/{first}/vote", {
            "csrf_token": await _token(alice, gid), "vote": "up"})
        assert status == 409 and "ditt eget" in html
        html = (await bjorn.get(page))[1]
        # most votes first: Bjørn's question (1 vote) before Alice's (0)
        assert html.index("Hvilken vekt") < html.index("Hvordan fikk")
        assert await vote(alice, gid, second, up=False) == 303
        status, html, _ = await alice.submit(page, page, {"text": "   "})
        assert status == 400
        status, html, _ = await alice.submit(page, page, {"text": "x" * 501})
        assert status == 400 and "x" * 501 in html  # kept as typed
    async with sessions() as s:
        rows = list(await s.scalars(select(AdvanceQuestion)))
        assert len(rows) == 2
    async with await signed_in_browser(server, sessions, world.outsider.id) as ulf:
        assert (await ulf.get(page))[0] == 403
    async with await signed_in_browser(server, sessions, world.observer.id) as ola:
        status, html, _ = await ola.get(page)
        assert status == 200 and 'name="text"' not in html
        assert (await ola.post(page, {"csrf_token": await _token(ola, gid),
                                      "text": "Får jeg spørre?"}))[0] == 403


async def test_the_advance_questions_come_into_the_live_qa_with_their_votes_once(
        world: World, server: TestServer, sessions: async_sessionmaker,
        connect: Connect) -> None:
    gid = world.gathering.id
    async with await signed_in_browser(server, sessions, world.alice.id) as alice, \
            await signed_in_browser(server, sessions, world.bjorn.id) as bjorn:
        question = await ask(alice, gid, "Hva kostet vekta?")
        await vote(bjorn, gid, question)
    frida = await connect(world.facilitator)
    bjorn_client = await connect(world.bjorn)
    for client in (frida, bjorn_client):
        assert (await send(client, gid, "room.join"))["ok"]
    assert (await send(frida, gid, "room.open"))["ok"]  # the server brings them itself

    def brought(client: Any) -> list[dict[str, Any]]:
        return [e for e in client.received if e["type"] == "question.brought"]

    await eventually(lambda: len(brought(bjorn_client)) == 1, what="question.brought")
    (event,) = brought(bjorn_client)
    assert event["data"]["text"] == "Hva kostet vekta?" and event["data"]["votes"] == 1
    assert event["data"]["author"]["name"] == "Alice Askvik"
    assert "voter_ids" not in event["data"] and "asker_id" not in event["data"]
    snapshot = (await send(bjorn_client, gid, "room.join"))["snapshot"]
    (live,) = snapshot["questions"]
    assert (live["votes"], live["advance"], live["voted"]) == (1, True, True)
    # Bjørn voted before the day: his vote in the room changes nothing
    answer = await send(bjorn_client, gid, "question.upvote", question_id=live["question_id"])
    assert answer["ok"] and answer["version"] == snapshot["version"]
    # the facilitator's bringing after the opening brings nothing twice. It waits for the
    # gathering's lock, which the server's bringing held until its mirror was written
    answer = await send(frida, gid, "question.bring_advance")
    assert answer["ok"] and answer["version"] == snapshot["version"]
    async with sessions() as s:
        row = await s.get(AdvanceQuestion, question)
        assert row is not None and row.brought_at is not None
    # a participant may not bring them
    assert (await send(bjorn_client, gid, "question.bring_advance"))["error"]["code"] == \
        "forbidden"
    # and asking before the day is over: questions are asked in the room now
    async with await signed_in_browser(server, sessions, world.alice.id) as alice:
        page = f"/gatherings/{gid}/questions"
        status, html, _ = await alice.get(page)
        assert status == 200 and 'name="text"' not in html and f'href="/g/{gid}"' in html
        assert (await alice.post(page, {"csrf_token": csrf_of(html), "text": "Sent?"}))[0] \
            == 409


async def booked(sessions: async_sessionmaker, world: World) -> str:
    """A booking of the world's gathering's expert talk, and a question asked for it: the
    expert's link's token (for pages that show them, e.g. the accessibility checks)."""
    item_id = await talk_item(sessions, world)
    token = "axe-" + "t" * 40
    await ex.ask(sessions, world.alice, world.gathering.id, "Hvordan måler dere matsvinn?")
    async with sessions() as s:
        s.add(ExpertBooking(gathering_id=world.gathering.id, item_id=item_id,
                            name="Nina Nordmann", email="nina@forskning.no",
                            organisation="NORSUS", topic="Måling av matsvinn", minutes=20,
                            brief="**Bakgrunn**: tre kommuner vil måle.",
                            token_hash=hash_token(token), status="invited",
                            invited_by=world.facilitator.id, invited_at=datetime.now(UTC)))
        await s.commit()
    return token
