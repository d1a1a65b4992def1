"""Expert slots, questions, polls and reactions over a real server, with python-socketio's
real clients: the Q&A story, what reaches whom (never an anonymous asker, a voter, or who
answered a poll what), rights refusals and bounds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.models import AgendaItem
from server.sockets.reactions import REACTIONS
from tests.conftest import WAIT, Connect, send
from tests.factories import World, add_gathering
from tests.server.live_helpers import event_log, eventually, joined, received, version

AGENDA = [("welcome", "Velkommen og innsjekk", 10), ("expert_talk", "Innlegg: matsvinn", 20),
          ("qa", "Spørsmål til Eva", 15), ("wrap_up", "Oppsummering", 5)]
CHECKIN = {"question": "Hvordan går det i prosjektet?", "kind": "single",
           "options": ["Godt", "Sånn passe", "Tungt"]}


async def qa_gathering(sessions: async_sessionmaker, world: World) -> str:
    """A gathering whose welcome item has a check-in poll and whose expert talk and Q&A
    name Eva Ekspert."""
    gathering = await add_gathering(sessions, world.theme, 2, agenda=AGENDA)
    async with sessions() as s:
        items = list(await s.scalars(select(AgendaItem).where(
            AgendaItem.gathering_id == gathering.id).order_by(AgendaItem.position)))
        items[0].settings = {"poll": CHECKIN}
        items[1].expert_id = world.expert.id
        items[2].expert_id = world.expert.id
        await s.commit()
    return gathering.id


async def qa_room(sessions: async_sessionmaker, world: World, connect: Connect,
                  *people: Any) -> tuple[str, list[socketio.AsyncClient]]:
    """A `qa_gathering` and a client for each of `people`, joined to its room."""
    gid = await qa_gathering(sessions, world)
    return gid, await joined(connect, gid, *people)


async def ok(client: socketio.AsyncClient, gid: str, type_: str, **fields: Any) -> int:
    answer = await send(client, gid, type_, **fields)
    assert answer["ok"] is True, (type_, fields, answer)
    return int(answer["version"])


async def refused(client: socketio.AsyncClient, server: TestServer, gid: str, type_: str,
                  code: str, **fields: Any) -> str:
    before = await version(server, gid)
    answer = await send(client, gid, type_, **fields)
    assert answer["ok"] is False, (type_, fields, answer)
    assert answer["error"]["code"] == code, (type_, fields, answer)
    assert await version(server, gid) == before, (type_, fields)
    return str(answer["error"]["message"])


async def delivered(client: socketio.AsyncClient, until: int) -> list[dict[str, Any]]:
    await eventually(lambda: any(m["version"] >= until for m in received(client)),
                     what=f"event {until}")
    return received(client)


def of_type(messages: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [m["data"] for m in messages if m["type"] == type_]


# --- the Q&A story -------------------------------------------------------------------------


async def test_the_expert_slot_and_qa_ordering_by_votes(world: World, connect: Connect,
                                                        server: TestServer,
                                                        sessions: async_sessionmaker) -> None:
    gid, (frida, alice, bjorn, eva, ola) = await qa_room(
        sessions, world, connect, world.facilitator, world.alice, world.bjorn, world.expert,
        world.observer)

    # before the gathering: a named question; anonymous ones only once allowed
    await ok(alice, gid, "question.ask", text="Hva kostet kjøkkenet?")
    assert "anonymous" in await refused(bjorn, server, gid, "question.ask", "rejected",
                                        text="Hvem betaler?", anonymous=True)
    await ok(frida, gid, "questions.settings", anonymous_allowed=True)
    await ok(bjorn, gid, "question.ask", text="Hvem betaler?", anonymous=True)
    await ok(alice, gid, "question.ask", text="Hvordan måler dere svinnet?")

    # the expert slot: Eva gets the stage for everyone
    await ok(frida, gid, "room.open")
    await ok(frida, gid, "agenda.next", from_item=None)
    items = [i["id"] for i in (await send(ola, gid, "room.join"))["snapshot"]["agenda"]]
    at = await ok(frida, gid, "agenda.next", from_item=items[0])
    for client in (alice, ola, eva):
        spotlights = of_type(await delivered(client, at), "stage.spotlight")
        assert spotlights == [{"person_id": world.expert.id, "name": "Eva Ekspert",
                               "municipality": None, "item_id": items[1]}]

    # votes: 2 gets three, 3 gets two, 1 gets one; voting twice is voting once
    for voter, question_id in ((alice, 2), (frida, 2), (eva, 2), (bjorn, 3), (frida, 3),
                               (bjorn, 1), (bjorn, 1)):
        await ok(voter, gid, "question.upvote", question_id=question_id)
    assert "own" in await refused(bjorn, server, gid, "question.upvote", "rejected",
                                  question_id=2)
    snapshot = (await send(ola, gid, "room.join"))["snapshot"]
    assert [(q["question_id"], q["votes"]) for q in snapshot["questions"]] == [(2, 3), (3, 2),
                                                                              (1, 1)]
    assert snapshot["spotlight"]["person_id"] == world.expert.id
    assert snapshot["anonymous_questions"] is True

    # the expert on stage picks the top-voted, then the next; a participant may not
    await refused(alice, server, gid, "question.pick", "forbidden")
    await ok(eva, gid, "question.pick")
    picked = await ok(eva, gid, "question.pick")
    assert [(m["type"], m["data"]["question_id"]) for m in await delivered(alice, picked)
            if m["version"] > picked - 2] == [("question.answered", 2), ("question.picked", 3)]
    await ok(eva, gid, "question.answered", question_id=3)
    mine = (await send(alice, gid, "room.join"))["snapshot"]["questions"]
    assert [(q["question_id"], q["status"], q["mine"], q["voted"]) for q in mine] == [
        (2, "answered", False, True), (3, "answered", True, False), (1, "open", True, False)]

    # the Q&A item names Eva too: she keeps the stage; then the wrap-up takes it back
    await ok(frida, gid, "agenda.next", from_item=items[1])
    at = await ok(frida, gid, "agenda.next", from_item=items[2])
    assert of_type(await delivered(ola, at), "stage.cleared")
    assert [d["item_id"] for d in of_type(received(ola), "questions.opened")] == [items[2]]
    assert [d["item_id"] for d in of_type(received(ola), "stage.spotlight")] == [items[1]]
    await refused(eva, server, gid, "question.pick", "forbidden")


async def test_an_anonymous_asker_and_the_voters_are_sent_to_nobody(
        world: World, connect: Connect, server: TestServer,
        sessions: async_sessionmaker) -> None:
    gid, (frida, alice, bjorn, ola) = await qa_room(
        sessions, world, connect, world.facilitator, world.alice, world.bjorn, world.observer)
    await ok(frida, gid, "questions.settings", anonymous_allowed=True)
    asked = await ok(bjorn, gid, "question.ask", text="Hvem betaler?", anonymous=True)
    voted = await ok(alice, gid, "question.upvote", question_id=1)
    for client in (frida, alice, bjorn, ola):  # the asker's own connection too
        messages = await delivered(client, voted)
        (question,) = of_type(messages, "question.asked")
        assert set(question) == {"question_id", "text", "at", "author"}
        assert (question["question_id"], question["text"], question["author"]) == (
            1, "Hvem betaler?", None)
        assert of_type(messages, "question.upvoted") == [{"question_id": 1, "votes": 1}]
    # catching up sends the same
    sync = await send(ola, gid, "room.sync", since=asked - 1)
    assert [e["type"] for e in sync["events"]] == ["question.asked", "question.upvoted"]
    assert [set(e["data"]) for e in sync["events"]] == [
        {"question_id", "text", "at", "author"}, {"question_id", "votes"}]
    assert "voter_id" not in json.dumps(sync) and "asker_id" not in json.dumps(sync)
    # no snapshot names the asker; the asker's own says it is theirs
    for client, mine in ((frida, False), (ola, False), (bjorn, True)):
        (question,) = (await send(client, gid, "room.join"))["snapshot"]["questions"]
        assert question["author"] is None and question["mine"] is mine
        assert "asker_id" not in question and "voters" not in question
    # the log keeps who asked and who voted (for the rules and moderation)
    log = {e.type: e.data for e in await event_log(server, gid)}
    assert log["question.asked"]["asker_id"] == world.bjorn.id
    assert log["question.upvoted"]["voter_id"] == world.alice.id


# --- polls ---------------------------------------------------------------------------------


async def test_poll_results_are_broadcast_as_totals_without_personal_answers(
        world: World, connect: Connect, server: TestServer,
        sessions: async_sessionmaker) -> None:
    gid, (frida, alice, bjorn, ola) = await qa_room(
        sessions, world, connect, world.facilitator, world.alice, world.bjorn, world.observer)
    await ok(frida, gid, "room.open")
    # the welcome item launches its check-in poll
    at = await ok(frida, gid, "agenda.next", from_item=None)
    (launched,) = of_type(await delivered(ola, at), "poll.launched")
    assert {k: launched[k] for k in ("poll_id", "question", "kind", "options")} == {
        "poll_id": 1, **CHECKIN}
    await ok(alice, gid, "poll.answer", poll_id=1, choices=[0])
    await ok(bjorn, gid, "poll.answer", poll_id=1, choices=[2])
    last = await ok(alice, gid, "poll.answer", poll_id=1, choices=[2])  # Alice changes her mind
    assert await ok(alice, gid, "poll.answer", poll_id=1, choices=[2]) == last  # same again
    for client in (frida, bjorn, ola):
        results = of_type(await delivered(client, last), "poll.results")
        assert [r["counts"] for r in results] == [[1, 0, 0], [1, 0, 1], [0, 0, 2]]
        assert all(set(r) == {"poll_id", "respondents", "counts", "words"} for r in results)
    snapshots = {name: (await send(c, gid, "room.join"))["snapshot"]["polls"][0]
                 for name, c in (("alice", alice), ("bjorn", bjorn), ("ola", ola))}
    assert snapshots["alice"]["mine"] == {"choices": [2], "word": None}
    assert snapshots["bjorn"]["mine"] == {"choices": [2], "word": None}
    assert snapshots["ola"]["mine"] is None
    assert {json.dumps(s["counts"]) for s in snapshots.values()} == {"[0, 0, 2]"}

    # a word poll closes the check-in; answers are counted by spelling, not by person
    await ok(frida, gid, "poll.launch", question="Ett ord om dagen?", kind="word")
    await ok(alice, gid, "poll.answer", poll_id=2, word="Nyttig")
    last = await ok(bjorn, gid, "poll.answer", poll_id=2, word=" nyttig ")
    (*_, results) = of_type(await delivered(ola, last), "poll.results")
    assert results == {"poll_id": 2, "respondents": 2, "counts": [],
                       "words": [{"word": "nyttig", "count": 2}]}
    # launching the word poll closed the check-in
    assert "closed" in await refused(alice, server, gid, "poll.answer", "rejected", poll_id=1,
                                     choices=[1])
    await ok(frida, gid, "poll.close", poll_id=2)
    assert "closed" in await refused(alice, server, gid, "poll.answer", "rejected", poll_id=2,
                                     word="sent")
    log = [e.data for e in await event_log(server, gid) if e.type == "poll.results"]
    assert [(d["person_id"], d["choices"], d["word"]) for d in log][-1] == (
        world.bjorn.id, [], "nyttig")  # kept in the log, for the fold and the summary


# --- rights and bounds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "type_", "fields"),
    [
        ("observer", "question.ask", {"text": "Får jeg spørre?"}),
        ("observer", "question.upvote", {"question_id": 1}),
        ("observer", "poll.answer", {"poll_id": 1, "choices": [0]}),
        ("alice", "question.hide", {"question_id": 1}),
        ("alice", "questions.settings", {"anonymous_allowed": True}),
        ("alice", "question.pick", {}),
        ("alice", "question.answered", {"question_id": 1}),
        ("alice", "poll.launch", {"question": "Hei?", "kind": "word"}),
        ("alice", "poll.close", {"poll_id": 1}),
        ("alice", "stage.spotlight", {"person_id": 1}),
        ("expert", "stage.clear", {}),
        ("expert", "question.pick", {}),  # the role may, but Eva is not on stage
        ("expert", "question.answered", {"question_id": 1}),
        ("outsider", "question.ask", {"text": "Hei?"}),
    ],
)
async def test_rights_refusals(who: str, type_: str, fields: dict[str, Any], world: World,
                               connect: Connect, server: TestServer) -> None:
    gid = world.gathering.id
    frida, alice = await joined(connect, gid, world.facilitator, world.alice)
    await ok(frida, gid, "room.open")
    await ok(alice, gid, "question.ask", text="Hva nå?")
    await ok(frida, gid, "poll.launch", question="Hvordan?", kind="single", options=["A", "B"])
    client = await connect(getattr(world, who))
    await refused(client, server, gid, type_, "forbidden", **fields)


@pytest.mark.parametrize(
    ("type_", "fields", "code"),
    [
        ("question.ask", {"text": "x" * 501}, "too_large"),
        ("question.ask", {"text": ""}, "invalid_format"),
        ("question.ask", {"text": 5}, "invalid_format"),
        ("question.ask", {"text": "Hei?", "anonymous": "yes"}, "invalid_format"),
        ("question.ask", {"text": "Hei?", "author": "Ola"}, "invalid_format"),
        ("question.upvote", {"question_id": "1"}, "invalid_format"),
        ("question.upvote", {"question_id": 0}, "invalid_format"),
        ("question.upvote", {}, "invalid_format"),
        ("question.pick", {"question_id": True}, "invalid_format"),
        ("questions.settings", {"anonymous_allowed": 1}, "invalid_format"),
        ("poll.launch", {"question": "x" * 301, "kind": "word"}, "too_large"),
        ("poll.launch", {"question": "Hei?", "kind": "essay"}, "invalid_format"),
        ("poll.launch", {"question": "Hei?", "kind": "single",
                         "options": [f"v{n}" for n in range(9)]}, "too_large"),
        ("poll.launch", {"question": "Hei?", "kind": "single", "options": ["a", "x" * 101]},
         "too_large"),
        ("poll.launch", {"question": "Hei?", "kind": "single", "options": ["a", 5]},
         "invalid_format"),
        ("poll.launch", {"question": "Hei?", "kind": "single", "options": "a,b"},
         "invalid_format"),
        ("poll.answer", {"poll_id": 1, "word": "x" * 41}, "too_large"),
        ("poll.answer", {"poll_id": 1, "choices": ["0"]}, "invalid_format"),
        ("poll.answer", {"poll_id": 1, "choices": [8]}, "invalid_format"),
        ("poll.answer", {"poll_id": 1, "choices": [0] * 9}, "too_large"),
        ("poll.answer", {"poll_id": 1, "choices": [0], "person_id": 3}, "invalid_format"),
        ("stage.spotlight", {"person_id": "3"}, "invalid_format"),
        # well-formed, but not possible now
        ("question.ask", {"text": "   "}, "rejected"),
        ("question.ask", {"text": "Hei?", "anonymous": True}, "rejected"),
        ("question.upvote", {"question_id": 7}, "rejected"),
        ("poll.launch", {"question": "Hei?", "kind": "single", "options": ["Ja"]}, "rejected"),
        ("poll.launch", {"question": "Hei?", "kind": "word", "options": ["Ja", "Nei"]},
         "rejected"),
        ("poll.answer", {"poll_id": 1, "choices": [0, 1]}, "rejected"),
        ("poll.answer", {"poll_id": 1, "choices": [5]}, "rejected"),
        ("poll.answer", {"poll_id": 1, "word": "ja"}, "rejected"),
        ("poll.answer", {"poll_id": 2, "choices": [0]}, "rejected"),
        ("stage.spotlight", {"person_id": 424242}, "rejected"),
    ],
    ids=lambda value: repr(value)[:50],
)
async def test_bounds_and_bad_input(type_: str, fields: dict[str, Any], code: str,
                                    world: World, connect: Connect, server: TestServer) -> None:
    gid = world.gathering.id
    frida, alice = await joined(connect, gid, world.facilitator, world.alice)
    await ok(frida, gid, "room.open")
    await ok(frida, gid, "poll.launch", question="Hvordan?", kind="single", options=["A", "B"])
    sender = alice if type_.startswith(("question.ask", "question.upvote", "poll.answer")) \
        else frida
    await refused(sender, server, gid, type_, code, **fields)


async def test_what_a_question_or_poll_says_travels_as_data(world: World, connect: Connect,
                                                            server: TestServer) -> None:
    hostile = "<script>alert(1)</script>"
    gid = world.gathering.id
    frida, alice = await joined(connect, gid, world.facilitator, world.alice)
    await ok(frida, gid, "room.open")
    await ok(alice, gid, "question.ask", text=hostile)
    await ok(frida, gid, "poll.launch", question=hostile, kind="single",
             options=[hostile, "<b>"])
    snapshot = (await send(alice, gid, "room.join"))["snapshot"]
    assert snapshot["questions"][0]["text"] == hostile
    assert snapshot["polls"][0]["question"] == hostile
    assert snapshot["polls"][0]["options"] == [hostile, "<b>"]


# --- reactions -----------------------------------------------------------------------------


def watch_reactions(client: socketio.AsyncClient) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    client.on("reaction", seen.append)
    return seen


async def react(client: socketio.AsyncClient, message: Any) -> dict[str, Any]:
    answer: dict[str, Any] = await client.call("reaction", message, timeout=WAIT)
    return answer


async def test_a_reaction_floats_for_everyone_without_a_name(world: World, connect: Connect,
                                                             server: TestServer) -> None:
    gid = world.gathering.id
    frida, alice, ola = await joined(connect, gid, world.facilitator, world.alice,
                                     world.observer)
    seen = {name: watch_reactions(c) for name, c in (("frida", frida), ("ola", ola))}
    before = await version(server, gid)
    assert await react(alice, {"gathering": gid, "emoji": "heart"}) == {"ok": True}
    for name in seen:
        await eventually(lambda n=name: len(seen[n]) == 1, what=f"{name}'s reaction")
        assert seen[name] == [{"gathering": gid, "type": "reaction.sent",
                               "data": {"emoji": "heart"}}]
    assert await version(server, gid) == before  # not in the versioned log, not stored


async def test_reactions_are_rate_limited_per_connection(world: World,
                                                         connect: Connect) -> None:
    gid = world.gathering.id
    alice, alice_again = await joined(connect, gid, world.alice, world.alice)
    answers = [await react(alice, {"gathering": gid, "emoji": e}) for e in REACTIONS[:4]]
    assert [a["ok"] for a in answers] == [True, True, True, False]  # a burst of three
    assert answers[3]["error"]["code"] == "rate_limited"
    # another connection has its own allowance
    assert (await react(alice_again, {"gathering": gid, "emoji": "idea"}))["ok"] is True


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"emoji": "poop"}, "invalid_format"),
        ({"emoji": "❤️"}, "invalid_format"),
        ({"emoji": "heart", "name": "Alice"}, "invalid_format"),
        ({"emoji": 1}, "invalid_format"),
        ({}, "invalid_format"),
        ("heart", "invalid_format"),
    ],
    ids=repr,
)
async def test_a_reaction_must_be_one_of_the_set(message: Any, code: str, world: World,
                                                 connect: Connect) -> None:
    gid = world.gathering.id
    (alice,) = await joined(connect, gid, world.alice)
    full = {"gathering": gid, **message} if isinstance(message, dict) else message
    answer = await react(alice, full)
    assert answer["ok"] is False and answer["error"]["code"] == code


@pytest.mark.parametrize(("who", "join", "code"), [
    ("observer", True, "forbidden"),  # observers follow; they do not speak
    ("outsider", False, "forbidden"),  # not in the theme
    ("alice", False, "rejected"),  # not in the room yet
])
async def test_who_may_react(who: str, join: bool, code: str, world: World,
                             connect: Connect) -> None:
    gid = world.gathering.id
    (frida,) = await joined(connect, gid, world.facilitator)
    seen = watch_reactions(frida)
    client = await connect(getattr(world, who))
    if join:
        await send(client, gid, "room.join")
    answer = await react(client, {"gathering": gid, "emoji": "applause"})
    assert answer["ok"] is False and answer["error"]["code"] == code
    await react(frida, {"gathering": gid, "emoji": "idea"})  # a reaction that does go out
    await eventually(lambda: len(seen) >= 1)
    assert [m["data"]["emoji"] for m in seen] == ["idea"]


def test_the_browser_offers_exactly_the_servers_reactions() -> None:
    root = Path(__file__).resolve().parents[2]
    script = (root / "static" / "src" / "qa-state.js").read_text(encoding="utf-8")
    listed = re.search(r"export const REACTIONS = \[([^\]]*)\]", script)
    assert listed is not None
    assert tuple(re.findall(r'"(\w+)"', listed[1])) == REACTIONS
    template = (root / "server" / "templates" / "room" / "_qa.html").read_text(encoding="utf-8")
    assert tuple(re.findall(r'data-emoji="(\w+)"', template)) == REACTIONS
