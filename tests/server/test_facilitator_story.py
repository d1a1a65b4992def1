"""The facilitator's whole gathering, over a real server with real socket.io clients:
open, a check-in poll, the expert's slot, questions ordered by votes, breakouts by project
stage with a broadcast and notes, the recall, the end, and the summary that comes of it."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.models import Gathering, Person
from tests.conftest import Connect, send
from tests.factories import World, add_gathering
from tests.server.live_helpers import eventually, received
from tests.server.test_breakouts_story import people  # noqa: F401  (the fixture)
from tests.server.test_notes_socket import NoteClient, append
from tests.server.test_pages import signed_in

AGENDA = [
    ("welcome", "Velkommen og innsjekk", 10),
    ("expert_talk", "Innlegg: innkjøp av mat", 20),
    ("qa", "Spørsmål og svar", 10),
    ("breakout", "Grupper etter prosjektfase", 25),
    ("wrap_up", "Oppsummering", 5),
]


async def ok(client: Any, gid: str, type_: str, **fields: Any) -> dict[str, Any]:
    answer = await send(client, gid, type_, **fields)
    assert answer["ok"], (type_, answer)
    return answer


async def snapshot(client: Any, gid: str) -> dict[str, Any]:
    return (await send(client, gid, "room.sync", since=10**9))["snapshot"]


async def test_the_facilitators_gathering_from_opening_to_summary(
        world: World, people: dict[str, Person], connect: Connect,  # noqa: F811
        server: TestServer, sessions: async_sessionmaker) -> None:
    gathering = await add_gathering(sessions, world.theme, 2, agenda=AGENDA,
                                    title="Innkjøp og matsvinn")
    gid = gathering.id
    async with sessions() as s:  # the plan's details: a check-in, the expert, the groups
        planned = await s.get(Gathering, gid)
        assert planned is not None
        items = {i.kind: i for i in planned.items}
        items["welcome"].settings = {"poll": {"question": "Hvordan går prosjektet?",
                                              "kind": "single",
                                              "options": ["Godt", "Tungt"]}}
        items["expert_talk"].expert_id = world.expert.id
        items["qa"].expert_id = world.expert.id
        items["breakout"].settings = {"rule": "same_stage", "group_size": 4,
                                      "task": "Hva står dere fast på?",
                                      "note_template": "Utfordring:\n"}
        s.add_all(items.values())
        await s.commit()

    frida = await connect(world.facilitator)
    eva = await connect(world.expert)
    muni = {name: await connect(person) for name, person in people.items()}
    for client in (frida, eva, *muni.values()):
        await ok(client, gid, "room.join")
    ids = [i["id"] for i in (await snapshot(frida, gid))["agenda"]]

    # open, and the welcome item launches its check-in poll
    await ok(frida, gid, "room.open")
    await ok(frida, gid, "agenda.next", from_item=None)
    poll = (await snapshot(frida, gid))["polls"][-1]
    assert poll["question"] == "Hvordan går prosjektet?"
    for name, choice in [("Alta", 0), ("Bø", 0), ("Eid", 1)]:
        await ok(muni[name], gid, "poll.answer", poll_id=poll["poll_id"], choices=[choice])
    await eventually(lambda: any(m["type"] == "poll.results" and m["data"]["respondents"] == 3
                                 for m in received(muni["Fet"])), what="poll results")

    # the expert's slot: the expert has the stage for everyone
    await ok(frida, gid, "agenda.next", from_item=ids[0])
    assert (await snapshot(muni["Alta"], gid))["spotlight"]["person_id"] == world.expert.id

    # Q&A: questions come up by votes; the expert picks the top one and answers it
    await ok(frida, gid, "agenda.next", from_item=ids[1])
    await ok(muni["Alta"], gid, "question.ask", text="Hvordan stiller vi krav?")
    await ok(muni["Bø"], gid, "question.ask", text="Hva med små leverandører?")
    questions = {q["text"]: q["question_id"] for q in (await snapshot(frida, gid))["questions"]}
    for voter in ("Alta", "Eid", "Fet"):
        await ok(muni[voter], gid, "question.upvote",
                 question_id=questions["Hva med små leverandører?"])
    await ok(eva, gid, "question.pick")
    state = await snapshot(frida, gid)
    picked = [q for q in state["questions"] if q["status"] == "answering"]
    assert [q["text"] for q in picked] == ["Hva med små leverandører?"]
    await ok(eva, gid, "question.answered", question_id=picked[0]["question_id"])

    # breakouts by project stage open with the item; a broadcast; notes in each group
    await ok(frida, gid, "agenda.next", from_item=ids[2])
    state = await snapshot(frida, gid)
    groups = {g["name"]: g for g in state["breakouts"]["groups"]}
    assert {name: {m["name"] for m in g["members"]} for name, g in groups.items()} == {
        "Oppstart": {"Deltaker Alta", "Deltaker Bø", "Deltaker Dal"},
        "Gjennomføring": {"Deltaker Eid", "Deltaker Fet"},
    }
    await ok(frida, gid, "breakouts.broadcast", text="Ti minutter igjen")
    round_ = state["breakouts"]["round"]
    for name, writer in [("Oppstart", "Alta"), ("Gjennomføring", "Eid")]:
        note = NoteClient(muni[writer], gid, f"r{round_}-{groups[name]['id']}")
        assert (await note.subscribe())["may_write"]
        assert str(note) == "Utfordring:\n"  # seeded from the item's note template
        assert (await note.edit(append(f"{writer}: anbud tar tid")))["ok"]
    outsider_note = NoteClient(muni["Fet"], gid, f"r{round_}-{groups['Oppstart']['id']}")
    assert (await outsider_note.subscribe())["may_write"] is False

    # everyone back; the wrap-up; the end
    await ok(frida, gid, "breakouts.recall")
    await ok(frida, gid, "agenda.next", from_item=ids[3])
    await ok(frida, gid, "gathering.end")

    # the summary: agenda as run, attendance, the poll, the questions, the groups' notes
    async with await signed_in(server, sessions, world.facilitator) as browser:
        status, page, _ = await browser.get(f"/g/{gid}/summary")
    assert status == 200
    for expected in ["Innlegg: innkjøp av mat", "Alta kommune", "Eid kommune",
                     "Hvordan går prosjektet?", "Hva med små leverandører?",
                     "Alta: anbud tar tid", "Eid: anbud tar tid", "Oppstart", "Gjennomføring"]:
        assert expected in page, expected
