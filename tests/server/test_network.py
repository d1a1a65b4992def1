"""Ask the network and find peers, through the pages as people use them: a question reaches
the municipality whose project matches, a peer answers, the asker marks it helpful, the
facilitator brings it to the next gathering; the directory hides addresses unless chosen;
a message through the forum arrives; bad input changes nothing."""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation.matching import NOT_MET, SAME_STAGE, SHARED_TAGS
from rooms.forum_models import ForumMessage, HelpAnswer, HelpRequest, SearchDoc
from rooms.models import Municipality, Person, Project
from server.i18n import using_locale
from server.keys import LIVE
from server.pages.network import POSTING, reason_text
from tests.conftest import Connect, send
from tests.factories import World, add_gathering, add_participant
from tests.mailbox import Inbox, parts
from tests.server.browsing import Browser, csrf_of
from tests.server.test_projects import signed_in_browser

QUESTION = "Hvordan målte dere matsvinn i skolekjøkken?"
MATCHES = "Passer med prosjektet deres"  # "Matches your project", in bokmål


@pytest.fixture
async def peers(world: World, sessions: async_sessionmaker) -> dict[str, Person]:
    """Askvik needs to measure food waste; Brekke can share just that; Dalen (Dina) runs
    something else entirely."""
    async with sessions() as s:
        dalen = Municipality(name="Dalen kommune")
        s.add(dalen)
        await s.flush()
        s.add_all([
            Project(municipality_id=world.alice.municipality_id, theme_id=world.theme.id,
                    title="Mindre matsvinn i kantina", stage="gjennomforing",
                    tags=["skolekjøkken"], grant_year=2025,
                    needs_help="Hvordan måle matsvinn"),
            Project(municipality_id=world.bjorn.municipality_id, theme_id=world.theme.id,
                    title="Skolemat i Brekke", stage="gjennomforing", tags=["skolekjøkken"],
                    grant_year=2024, can_share="Vi måler matsvinn hver uke"),
            Project(municipality_id=dalen.id, theme_id=world.theme.id, title="Sykkelveier",
                    stage="oppstart", tags=["transport"], grant_year=2025),
        ])
        await s.commit()
        dalen_id = dalen.id
    dina = await add_participant(sessions, world.theme, "dina@example.org", "Dina Dalen",
                                 dalen_id)
    return {"dina": dina}


async def as_(server: TestServer, sessions: async_sessionmaker, person: Person) -> Browser:
    return await signed_in_browser(server, sessions, person.id)


async def alice_asks(server: TestServer, sessions: async_sessionmaker, world: World) -> str:
    """Alice asks the network about tenders; the request's page."""
    async with await as_(server, sessions, world.alice) as alice:
        _, _, response = await alice.submit("/themes/mat/help", "/themes/mat/help", {
            "title": "Anbud", "body": "Hvem har erfaring?"}, allow_redirects=False)
        return str(response.headers["Location"])


def text_of(html: str) -> str:
    """The page's text as read: tags dropped, spaces collapsed."""
    return htmllib.unescape(" ".join(re.sub(r"<[^>]+>", "", html).split()))


async def test_a_question_reaches_the_matching_peer_who_answers_and_it_goes_to_the_agenda(
        world: World, peers: dict[str, Person], server: TestServer,
        sessions: async_sessionmaker) -> None:
    soon = await add_gathering(sessions, world.theme, 2,
                               starts_at=datetime.now(UTC) + timedelta(days=14))
    async with await as_(server, sessions, world.alice) as alice:
        status, _, response = await alice.submit("/themes/mat/help", "/themes/mat/help", {
            "title": "Måling av matsvinn", "body": QUESTION}, allow_redirects=False)
        assert status == 303
        page = response.headers["Location"]
        request_id = int(page.rsplit("/", 1)[1])
    async with await as_(server, sessions, world.bjorn) as bjorn:
        listing = text_of((await bjorn.get("/themes/mat/help"))[1])
        assert "Måling av matsvinn" in listing
        assert (f"{MATCHES}: både i gjennomføring, begge: skolekjøkken; dere kan dele det de "
                "trenger: matsvinn"
                in listing)
        status, _, response = await bjorn.submit(page, f"{page}/answers", {
            "body": "Vi veier **hver uke**."}, allow_redirects=False)
        assert status == 303
        answer_id = int(response.headers["Location"].rsplit("-", 1)[1])
    async with await as_(server, sessions, peers["dina"]) as dina:
        listing = text_of((await dina.get("/themes/mat/help"))[1])
        assert "Måling av matsvinn" in listing and MATCHES not in listing
    async with await as_(server, sessions, world.expert) as eva:  # the experts see them all
        assert "Måling av matsvinn" in (await eva.get("/themes/mat/help"))[1]
    async with await as_(server, sessions, world.alice) as alice:
        shown = (await alice.get(page))[1]
        assert "<strong>hver uke</strong>" in shown  # the answer's Markdown, rendered
        status, shown, _ = await alice.submit(
            page, f"{page}/answers/{answer_id}/helpful", {"helpful": "1"})
        assert status == 200 and 'class="helpful"' in shown
        # the asker may not bring it to a gathering: that is the facilitator's
        assert f'action="{page}/agenda"' not in shown
    async with await as_(server, sessions, world.facilitator) as frida:
        status, shown, _ = await frida.submit(page, f"{page}/agenda")
        assert status == 200 and "Lagt til på agendaen for Samling 2" in shown
    state = await server.app[LIVE].state(soon.id)
    assert [(s.kind, s.title) for s in state.agenda][-2:] == [
        ("plenary", "Måling av matsvinn"), ("wrap_up", "Oppsummering")]
    async with sessions() as s:
        request = await s.get(HelpRequest, request_id)
        assert request is not None and request.agenda_gathering_id == soon.id
        assert (request.stage, request.tags) == ("gjennomforing", ["skolekjøkken"])
        found = {(d.kind, d.url) for d in await s.scalars(select(SearchDoc))}
        assert ("help", page) in found
        assert ("answer", f"{page}#answer-{answer_id}") in found


async def test_outsiders_are_refused_and_observers_only_read(
        world: World, peers: dict[str, Person], server: TestServer,
        sessions: async_sessionmaker) -> None:
    page = await alice_asks(server, sessions, world)
    async with await as_(server, sessions, world.outsider) as ulf:
        for path in ("/themes/mat/help", page, "/themes/mat/peers"):
            assert (await ulf.get(path))[0] == 403, path
        # a form token from a page of their own theme does not open this one
        token = csrf_of((await ulf.get("/themes/areal/help"))[1])
        status, _, _ = await ulf.post(f"{page}/answers", {"csrf_token": token, "body": "Hei"})
        assert status == 403
        status, _, _ = await ulf.post("/themes/areal/peers/message", {
            "csrf_token": token, "recipient_id": str(world.alice.id), "body": "Hei"})
        assert status == 403  # they share no theme
    async with await as_(server, sessions, world.observer) as ola:
        status, shown, _ = await ola.get(page)
        assert status == 200 and f'action="{page}/answers"' not in shown
        assert 'action="/themes/mat/help"' not in (await ola.get("/themes/mat/help"))[1]
    async with await as_(server, sessions, world.bjorn) as bjorn:  # neither asker nor runner
        shown = (await bjorn.get(page))[1]
        assert f'action="{page}/close"' not in shown
        status, _, _ = await bjorn.post(f"{page}/close", {"csrf_token": csrf_of(shown)})
        assert status == 403
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(HelpAnswer)) == 0
        assert await s.scalar(select(func.count()).select_from(ForumMessage)) == 0
        assert (await s.scalar(select(HelpRequest.closed_at))) is None


async def test_addresses_are_hidden_unless_chosen_and_like_projects_say_why(
        world: World, peers: dict[str, Person], server: TestServer,
        sessions: async_sessionmaker) -> None:
    async with await as_(server, sessions, world.alice) as alice:
        shown = text_of((await alice.get("/themes/mat/peers"))[1])
        assert "bjorn@example.org" not in shown and "dina@example.org" not in shown
        assert "Send Bjørn Brekke en melding gjennom forumet" in shown
        assert ("Skolemat i Brekke – Brekke kommune: både i gjennomføring, begge: "
                "skolekjøkken; de kan dele det dere trenger: matsvinn; "
                "dere har ikke vært i gruppe sammen") in shown
        assert "Sykkelveier – Dalen" not in shown  # listed, but not like ours
        assert "Sykkelveier" in shown
    async with await as_(server, sessions, world.bjorn) as bjorn:
        status, _, _ = await bjorn.submit("/themes/mat/peers", "/themes/mat/peers/contact",
                                          {"show_email": "on"})
        assert status == 200
    async with await as_(server, sessions, world.alice) as alice:
        shown = (await alice.get("/themes/mat/peers"))[1]
        assert 'href="mailto:bjorn@example.org"' in shown
        assert "dina@example.org" not in shown


async def test_a_message_through_the_forum_arrives_in_the_inbox(
        world: World, peers: dict[str, Person], server: TestServer,
        sessions: async_sessionmaker) -> None:
    async with await as_(server, sessions, world.alice) as alice:
        status, shown, _ = await alice.submit("/themes/mat/peers", "/themes/mat/peers/message", {
            "recipient_id": str(world.bjorn.id), "body": "Hei!\n<b>Kan vi snakkes?</b>"})
        assert status == 200 and "Meldingen er sendt." in shown
    async with await as_(server, sessions, world.bjorn) as bjorn:
        shown = (await bjorn.get("/messages"))[1]
        assert "Alice Askvik, Askvik kommune" in shown and "(ulest)" in shown
        assert '<span class="unread-count">(1 ulest)</span>' in shown  # in the menu
        assert "Hei!<br>&lt;b&gt;Kan vi snakkes?&lt;/b&gt;" in shown
        message_id = int(shown.split('id="message-', 1)[1].split('"', 1)[0])
        status, shown, _ = await bjorn.submit("/messages", f"/messages/{message_id}/read")
        assert status == 200 and "(ulest)" not in shown and "1 ulest" not in shown
        status, shown, _ = await bjorn.submit("/messages", "/messages", {
            "recipient_id": str(world.alice.id), "body": "Gjerne!"})
        assert status == 200 and "Meldingen er sendt." in shown
    async with await as_(server, sessions, world.alice) as alice:
        assert "Gjerne!" in (await alice.get("/messages"))[1]
        # someone else's message is not theirs to mark
        token = csrf_of((await alice.get("/messages"))[1])
        status, _, _ = await alice.post(f"/messages/{message_id}/read", {"csrf_token": token})
        assert status == 404


@pytest.mark.parametrize(("page", "action", "form", "kept"), [
    ("/themes/mat/help", "/themes/mat/help",
     {"title": "x" * 201, "body": "Teksten beholdes"}, "Teksten beholdes"),
    ("/themes/mat/help", "/themes/mat/help", {"title": "Tittelen beholdes", "body": " "},
     "Tittelen beholdes"),
    ("/themes/mat/peers", "/themes/mat/peers/message",
     {"recipient_id": "BJORN", "body": "Beholdes " + "y" * 2000}, "Beholdes"),
    ("/themes/mat/peers", "/messages", {"recipient_id": "x", "body": "Ugyldig mottaker"},
     None),
])
async def test_oversize_or_empty_input_gets_a_clear_error_and_keeps_what_was_typed(
        page: str, action: str, form: dict[str, str], kept: str | None, world: World,
        peers: dict[str, Person], server: TestServer, sessions: async_sessionmaker) -> None:
    form = {k: v.replace("BJORN", str(world.bjorn.id)) for k, v in form.items()}
    async with await as_(server, sessions, world.alice) as alice:
        token = csrf_of((await alice.get(page))[1])
        status, shown, _ = await alice.post(action, {"csrf_token": token, **form})
        assert status == 400 and 'role="alert"' in shown
        if kept:
            assert kept in shown
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(HelpRequest)) == 0
        assert await s.scalar(select(func.count()).select_from(ForumMessage)) == 0


async def test_an_oversize_answer_is_refused_and_kept(
        world: World, peers: dict[str, Person], server: TestServer,
        sessions: async_sessionmaker) -> None:
    page = await alice_asks(server, sessions, world)
    async with await as_(server, sessions, world.bjorn) as bjorn:
        status, shown, _ = await bjorn.submit(page, f"{page}/answers",
                                              {"body": "Beholdt " + "z" * 5000})
        assert status == 400 and "Skriv et svar på 1 til 5 000 tegn." in shown
        assert "Beholdt zzz" in shown
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(HelpAnswer)) == 0


def test_the_reasons_read_as_one_sentence_in_bokmal() -> None:
    reasons = ((SAME_STAGE, "gjennomforing"), (SHARED_TAGS, ("skolekjøkken",)), (NOT_MET, None))
    with using_locale("nb"):
        assert reason_text(reasons, {"gjennomforing": "Gjennomføring"}) == (
            "både i gjennomføring, begge: skolekjøkken; dere har ikke vært i gruppe sammen")
    with using_locale("nn"):
        assert reason_text(reasons, {"gjennomforing": "Gjennomføring"}) == (
            "både i gjennomføring, begge: skolekjøkken; de har ikkje vore i gruppe saman")


async def test_a_flood_of_posts_is_stopped_with_a_clear_error(
        world: World, peers: dict[str, Person], server: TestServer,
        sessions: async_sessionmaker) -> None:
    server.app[POSTING].count = 2  # before anyone has posted: a budget of two
    async with await as_(server, sessions, world.alice) as alice:
        for n in range(2):
            status, _, _ = await alice.submit("/themes/mat/help", "/themes/mat/help", {
                "title": f"Spørsmål {n}", "body": "Tekst"})
            assert status == 200
        status, shown, _ = await alice.submit("/themes/mat/help", "/themes/mat/help", {
            "title": "Ett til", "body": "Beholdes"})
        assert status == 429 and 'role="alert"' in shown and "Beholdes" in shown
    async with await as_(server, sessions, world.bjorn) as bjorn:  # their own budget
        status, _, _ = await bjorn.submit("/themes/mat/peers", "/themes/mat/peers/message", {
            "recipient_id": str(world.alice.id), "body": "Hei"})
        assert status == 200
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(HelpRequest)) == 2


async def test_peers_who_shared_a_breakout_group_are_no_longer_news_to_each_other(
        world: World, peers: dict[str, Person], server: TestServer,
        sessions: async_sessionmaker, connect: Connect) -> None:
    """The who-met-whom memory of the breakouts: once Askvik and Brekke were in a group
    together, "you have not been in a group together" is no longer a reason."""
    not_met = "dere har ikke vært i gruppe sammen"
    async with await as_(server, sessions, world.alice) as alice:
        assert not_met in text_of((await alice.get("/themes/mat/peers"))[1])
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    for client in (frida, await connect(world.alice), await connect(world.bjorn)):
        await send(client, gid, "room.join")
    await send(frida, gid, "room.open")
    assert (await send(frida, gid, "breakouts.propose", rule="mixed", group_size=2))["ok"]
    await send(frida, gid, "breakouts.open", minutes=5)
    assert (await send(frida, gid, "breakouts.recall"))["ok"]
    async with await as_(server, sessions, world.alice) as alice:
        shown = text_of((await alice.get("/themes/mat/peers"))[1])
        assert "Skolemat i Brekke – Brekke kommune: både i gjennomføring" in shown
        assert not_met not in shown


async def test_the_recipient_of_a_message_hears_of_it_by_mail_unless_they_want_none(
        world: World, peers: dict[str, Person], mail_server: TestServer,
        inbox: tuple[Inbox, int], sessions: async_sessionmaker) -> None:
    async with sessions() as s:
        dina = await s.get(Person, peers["dina"].id)
        assert dina is not None
        dina.notify = "never"
        await s.commit()
    async with await as_(mail_server, sessions, world.alice) as alice:
        for to, body in ((peers["dina"], "Til Dina"), (world.bjorn, "Hei!\n<b>Ses?</b>")):
            status, _, _ = await alice.submit("/themes/mat/peers", "/themes/mat/peers/message",
                                              {"recipient_id": str(to.id), "body": body})
            assert status == 200
    mails = await inbox[0].wait_for(1)
    assert [m["To"].addresses[0].addr_spec for m in mails] == ["bjorn@example.org"]
    assert mails[0]["Subject"] == "En melding fra Alice Askvik i Klimasats-forum"
    assert "alice@example.org" not in mails[0].as_string()  # her address stays hers
    text, html = parts(mails[0])
    assert "Hei!\n<b>Ses?</b>" in text.replace("\r\n", "\n")
    assert "Hei!<br>&lt;b&gt;Ses?&lt;/b&gt;" in html
    assert "https://forum.example.org/messages" in text


async def test_a_request_goes_to_a_gathering_only_if_one_is_coming_and_only_once(
        world: World, peers: dict[str, Person], server: TestServer,
        sessions: async_sessionmaker) -> None:
    page = await alice_asks(server, sessions, world)
    async with await as_(server, sessions, world.facilitator) as frida:
        status, shown, _ = await frida.submit(page, f"{page}/agenda")
        assert status == 409 and "Temaet har ingen kommende samling" in shown
        await add_gathering(sessions, world.theme, 2,
                            starts_at=datetime.now(UTC) + timedelta(days=30))
        status, shown, _ = await frida.submit(page, f"{page}/agenda")
        assert status == 200 and f'action="{page}/agenda"' not in shown  # done: no button
        token = csrf_of(shown)
        status, shown, _ = await frida.post(f"{page}/agenda", {"csrf_token": token})
        assert status == 409 and "står allerede på agendaen" in shown
