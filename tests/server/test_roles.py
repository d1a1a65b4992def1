"""The role matrix over the real server: every role in the world x every command."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import Role
from server.keys import LIVE
from server.sockets.protocol import COMMANDS
from tests.conftest import Connect, send
from tests.facilitation.test_rules import EXPECTED_RIGHTS
from tests.facilitation.test_rules import RUN as RUN_ROLES
from tests.facilitation.test_rules import SPEAK as SPEAK_ROLES
from tests.factories import World, add_gathering
from tests.server.live_helpers import event_log, received, version

# command -> the roles (people of the world) that may send it: the role table the pure rule
# tests write out (not derived from RIGHTS, so a change to the rights has to change
# that table too), for the commands a client can send.
WHO = {Role.PROGRAMME_LEAD: "lead", Role.FACILITATOR: "facilitator", Role.EXPERT: "expert",
       Role.PARTICIPANT: "participant", Role.OBSERVER: "observer"}
ALLOWED: dict[str, set[str]] = {
    type_: {WHO[role] for role in roles if role in WHO}
    for type_, roles in EXPECTED_RIGHTS.items() if type_ in COMMANDS}
RUN = {WHO[role] for role in RUN_ROLES}
SPEAK = {WHO[role] for role in SPEAK_ROLES}

PEOPLE = {"lead": "lead", "facilitator": "facilitator", "expert": "expert",
          "participant": "alice", "observer": "observer"}


def test_the_matrix_covers_every_registered_command() -> None:
    assert set(ALLOWED) == set(COMMANDS)


@pytest.mark.parametrize("role", sorted(PEOPLE))
async def test_role_matrix(role: str, world: World, connect: Connect,
                           server: TestServer, sessions: async_sessionmaker) -> None:
    """Each command is tried by `role` in a state where it would succeed; where the role may
    not send it, the answer is `forbidden`, nothing changes, and a helper facilitator does
    it instead so the walk through the gathering can go on."""
    gid = world.gathering.id
    me = await connect(getattr(world, PEOPLE[role]))
    helper = await connect(world.cofacilitator)
    tried: dict[str, bool] = {}

    async def attempt(type_: str, **fields: Any) -> bool:
        before = await version(server, gid)
        answer = await send(me, gid, type_, **fields)
        allowed = role in ALLOWED[type_]
        if allowed:
            assert answer["ok"] is True, (role, type_, answer)
        else:
            assert answer["ok"] is False, (role, type_, answer)
            assert answer["error"]["code"] == "forbidden", (role, type_, answer)
            assert isinstance(answer["error"]["message"], str)
            assert await version(server, gid) == before, (role, type_)
        tried[type_] = allowed
        return allowed

    async def helped(type_: str, **fields: Any) -> None:
        answer = await send(helper, gid, type_, **fields)
        assert answer["ok"] is True, (type_, answer)

    async def or_helper(type_: str, **fields: Any) -> None:
        if not await attempt(type_, **fields):
            await helped(type_, **fields)

    spare = await add_gathering(sessions, world.theme, 2)  # an agenda to copy
    await or_helper("agenda.use_template", template="standard")
    await or_helper("agenda.copy_from", from_gathering=spare.id)
    ids = [item["id"] for item in (await send(helper, gid, "room.join"))["snapshot"]["agenda"]]
    await attempt("room.join")
    await attempt("room.sync", since=0)
    await attempt("chat.send", text="Hei")
    await or_helper("room.open")
    await or_helper("agenda.next", from_item=None)
    await helped("agenda.next", from_item=ids[0])
    await attempt("agenda.previous", from_item=ids[1])
    await attempt("agenda.extend", minutes=5)
    await attempt("hand.raise")
    await attempt("hand.lower")
    await helped("hand.raise")
    await attempt("hand.call_next")
    await or_helper("agenda.pause")
    await or_helper("agenda.resume")
    bjorn = await connect(world.bjorn)  # a participant to group
    await send(bjorn, gid, "room.join")
    await or_helper("breakouts.propose", rule="self_select")
    await attempt("breakouts.choose", group="g1")
    await or_helper("breakouts.move", person_id=world.bjorn.id, to_group="g1")
    await or_helper("breakouts.rename", group="g1", name="Innkjøp")
    await or_helper("breakouts.open", minutes=10)
    await or_helper("breakouts.broadcast", text="Fem minutter igjen")
    await or_helper("breakouts.recall")
    await or_helper("agenda.add_item", kind="break", title="Pause", planned_minutes=5)
    added = (await server.app[LIVE].state(gid)).agenda[-1].id
    await or_helper("agenda.update_item", item_id=added, title="Kaffepause")
    await or_helper("agenda.move_item", item_id=added, position=2)
    await or_helper("agenda.remove_item", item_id=added)
    # fresh connections: the walk is longer than one connection's burst of 30 commands
    me = await connect(getattr(world, PEOPLE[role]))
    helper = await connect(world.cofacilitator)
    await or_helper("questions.settings", anonymous_allowed=True)
    await attempt("question.bring_advance")  # none asked before the day: brings nothing
    await attempt("question.ask", text="Hva koster det?", anonymous=True)
    await helped("question.ask", text="Hvem betaler?")
    theirs = len((await server.app[LIVE].state(gid)).questions)  # not one's own: votable
    await attempt("question.upvote", question_id=theirs)
    await attempt("question.unvote", question_id=theirs)
    await or_helper("stage.spotlight", person_id=getattr(world, PEOPLE[role]).id)
    await attempt("question.pick", question_id=theirs)
    await attempt("question.answered", question_id=theirs)
    await or_helper("question.hide", question_id=theirs)
    await or_helper("poll.launch", question="Hvordan går det?", kind="single",
                    options=["Bra", "Dårlig"])
    await attempt("poll.answer", poll_id=1, choices=[0])
    await or_helper("poll.close", poll_id=1)
    # the person in the spotlight (the role's own) agrees to be recorded; an observer may
    # not, so the helper takes the stage and agrees instead
    on_stage = getattr(world, PEOPLE[role])
    if not await attempt("recording.consent"):
        on_stage = world.cofacilitator
        await helped("stage.spotlight", person_id=on_stage.id)
        await helped("recording.consent")
    await or_helper("recording.start")
    await or_helper("recording.stop")
    await or_helper("recording.start")
    if not await attempt("recording.withdraw"):
        await helped("recording.withdraw")
    await or_helper("stage.take_off", person_id=on_stage.id)
    await or_helper("stage.clear")
    await or_helper("gathering.end")
    await or_helper("notes.reopen")
    await or_helper("notes.close")

    assert tried == {type_: role in roles for type_, roles in ALLOWED.items()}
    log = [e.type for e in await event_log(server, gid)]
    assert log[-3:] == ["gathering.ended", "notes.reopened", "notes.closed"]
    assert log.count("chat.posted") == (1 if role in SPEAK else 0)
    assert log.count("agenda.item_started") == (3 if role in RUN else 2)
    assert log.count("hand.called") == (1 if role in RUN else 0)
    assert log.count("question.asked") == (2 if role in SPEAK else 1)
    assert log.count("question.upvoted") == (1 if role in SPEAK else 0)
    assert log.count("question.picked") == (1 if role in RUN | {"expert"} else 0)
    assert log.count("poll.results") == (1 if role in SPEAK else 0)
    assert log.count("recording.started") == 2
    assert [e.data["reason"] for e in await event_log(server, gid)
            if e.type == "recording.stopped"] == ["stopped", "consent_withdrawn"]


@pytest.mark.parametrize("type_", sorted(ALLOWED))
async def test_an_outsider_may_send_nothing_not_even_join(type_: str, world: World,
                                                          connect: Connect,
                                                          server: TestServer) -> None:
    """Ulf belongs to another theme: every command on this gathering is forbidden."""
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    await send(frida, gid, "room.join")
    await send(frida, gid, "room.open")
    before = await version(server, gid)
    ulf = await connect(world.outsider)
    answer = await send(ulf, gid, type_, **_fields(type_))
    assert answer["ok"] is False
    assert answer["error"]["code"] == "forbidden"
    assert await version(server, gid) == before
    assert received(ulf) == []


async def test_an_outsider_is_at_home_in_their_own_theme(world: World, connect: Connect) -> None:
    ulf = await connect(world.outsider)
    answer = await send(ulf, world.other_gathering.id, "room.join")
    assert answer["ok"] is True
    assert answer["snapshot"]["you"]["role"] == "participant"


async def test_the_programme_lead_is_lead_in_every_theme(world: World, connect: Connect) -> None:
    per = await connect(world.lead)
    for gathering in (world.gathering, world.other_gathering):
        answer = await send(per, gathering.id, "room.join")
        assert answer["snapshot"]["you"]["role"] == "programme_lead"
        assert (await send(per, gathering.id, "room.open"))["ok"] is True


@pytest.mark.parametrize("type_", sorted(ALLOWED))
async def test_an_unknown_gathering_is_not_found(type_: str, world: World, connect: Connect,
                                                 server: TestServer) -> None:
    frida = await connect(world.facilitator)
    answer = await send(frida, "0" * 32, type_, **_fields(type_))
    assert answer["ok"] is False
    assert answer["error"]["code"] == "not_found"
    assert await event_log(server, world.gathering.id) == []


def _fields(type_: str) -> dict[str, Any]:
    fields: dict[str, dict[str, Any]] = {
        "room.sync": {"since": 0}, "agenda.next": {"from_item": None},
        "agenda.previous": {"from_item": None}, "agenda.extend": {"minutes": 5},
        "chat.send": {"text": "Hei"}, "breakouts.choose": {"group": "g1"},
        "breakouts.move": {"person_id": 1, "to_group": "g1"},
        "breakouts.rename": {"group": "g1", "name": "Innkjøp"},
        "breakouts.broadcast": {"text": "Hei"},
        "agenda.add_item": {"kind": "break", "title": "Pause", "planned_minutes": 5},
        "agenda.update_item": {"item_id": 1, "title": "Pause"},
        "agenda.move_item": {"item_id": 1, "position": 2},
        "agenda.remove_item": {"item_id": 1},
        "agenda.copy_from": {"from_gathering": "0" * 32},
        "agenda.use_template": {"template": "standard"},
        "question.ask": {"text": "Hei?"}, "question.upvote": {"question_id": 1},
        "question.unvote": {"question_id": 1}, "question.answered": {"question_id": 1},
        "question.hide": {"question_id": 1}, "questions.settings": {"anonymous_allowed": True},
        "poll.launch": {"question": "Hei?", "kind": "word"},
        "poll.answer": {"poll_id": 1, "word": "hei"}, "poll.close": {"poll_id": 1},
        "stage.spotlight": {"person_id": 1}, "stage.take_off": {"person_id": 1}}
    return fields.get(type_, {})
