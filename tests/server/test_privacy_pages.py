"""Privacy over a real server, on SQLite and PostgreSQL: a person takes part in a gathering
(joins, chats, asks, votes, raises a hand, writes notes, is recorded, is named in the
published summary, is a project contact), then the programme lead erases them. Afterwards
their name and e-mail address are nowhere: not in any text or JSON column of any table
(nor in the notes' Yjs documents), not in the summary pages, the overview and its CSV, the
.ics, another person's data export or a room.sync snapshot; "slettet deltaker" is shown
where they were. Also: "My data", its JSON, self-erasure, rights, and the privacy page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from pycrdt import Doc, Text
from sqlalchemy import JSON, LargeBinary, String, select
from sqlalchemy import Text as SqlText
from sqlalchemy.ext.asyncio import async_sessionmaker

from recordings.storage import recording_path
from rooms.models import (
    Base,
    Municipality,
    NoteUpdate,
    Person,
    Project,
    ProjectContact,
    ProjectStageChange,
    Recording,
)
from rooms.privacy import DELETED_NAME, purge_sign_in_records
from server.keys import RECORDINGS
from server.settings import Settings
from tests.conftest import Connect, send
from tests.factories import World, add_participant
from tests.server.browsing import Browser, csrf_of
from tests.server.live_helpers import eventually, received
from tests.server.test_notes_socket import NoteClient, append
from tests.server.test_pages import signed_in
from tests.server.test_qa_polls import ok, qa_gathering

NAME, EMAIL = "Mari Slettmeg", "mari.slettmeg@example.org"
TRACES = ("slettmeg",)  # her surname is in her name and her address: nothing may keep it


@pytest.fixture
def sessions(db: async_sessionmaker) -> async_sessionmaker:
    """Everything here on both databases."""
    return db


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret", host="127.0.0.1")


@pytest.fixture
async def mari(world: World, sessions: async_sessionmaker) -> Person:
    async with sessions() as s:
        place = Municipality(name="Dalen kommune")
        s.add(place)
        await s.flush()
        place_id = place.id
        await s.commit()
    return await add_participant(sessions, world.theme, EMAIL, NAME, municipality_id=place_id)


def traces(value: Any) -> bool:
    return any(t in json.dumps(value, ensure_ascii=False).casefold() for t in TRACES)


async def database_traces(sessions: async_sessionmaker) -> list[str]:
    """Every text, JSON and note column of every table that still holds a trace of her."""
    found = []
    async with sessions() as s:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | SqlText | JSON | LargeBinary):
                    continue
                for (value,) in (await s.execute(select(column))).all():
                    if isinstance(value, bytes):
                        doc: Doc = Doc()
                        doc.apply_update(value)
                        value = str(doc.get("text", type=Text))
                    if value is not None and traces(value):
                        found.append(f"{table.name}.{column.name}: {value!r}"[:300])
    return found


async def gathering_with_mari(server: TestServer, sessions: async_sessionmaker, world: World,
                              mari: Person, connect: Connect) -> str:
    gid = await qa_gathering(sessions, world)
    frida, alice, her = (await connect(world.facilitator), await connect(world.alice),
                         await connect(mari))
    for client in (frida, alice, her):
        await ok(client, gid, "room.join")
    await ok(her, gid, "question.ask", text="Hvordan kom dere i gang med kjøkkenet?")
    await ok(alice, gid, "question.upvote", question_id=1)
    await ok(her, gid, "chat.send", text="Hei fra Dalen, dette er Mari")
    await ok(alice, gid, "chat.send", text=f"Velkommen, {NAME}!")
    await ok(frida, gid, "room.open")
    await ok(frida, gid, "agenda.next", from_item=None)  # the welcome item's check-in poll
    await ok(her, gid, "hand.raise")
    await ok(frida, gid, "hand.call_next")
    await eventually(lambda: any(m["type"] == "poll.launched" for m in received(her)),
                     what="the check-in poll")
    poll = next(m for m in received(her) if m["type"] == "poll.launched")["data"]
    await ok(her, gid, "poll.answer", poll_id=poll["poll_id"], choices=[0])
    notes = NoteClient(her, gid)
    assert (await notes.subscribe())["ok"]
    assert (await notes.edit(append(f"{NAME} skrev: vi deler menyene. ")))["ok"]
    frida_notes = NoteClient(frida, gid)
    assert (await frida_notes.subscribe())["ok"]
    assert (await frida_notes.edit(append("Felles: alle deler innkjøpsmaler.")))["ok"]
    await ok(frida, gid, "gathering.end")
    # recorded (the row and the file, as the recorder leaves them) and a project contact
    async with sessions() as s:
        now = datetime.now(UTC)
        s.add(Recording(id="ab" * 16, gathering_id=gid, item_id=None, person_id=mari.id,
                        person_name=NAME, consent_at=now, started_by=world.facilitator.id,
                        started_at=now, ended_at=now, seconds=3.0, size_bytes=5,
                        streams="audio", status="ready"))
        project = Project(municipality_id=mari.municipality_id, theme_id=world.theme.id,
                          title="Matsvinn i Dalen", stage="oppstart", tags=[], grant_year=2026)
        s.add(project)
        await s.flush()
        s.add(ProjectContact(project_id=project.id, person_id=mari.id))
        s.add(ProjectStageChange(project_id=project.id, stage="oppstart", changed_at=now,
                                 person_id=mari.id))
        await s.commit()
    path = recording_path(server.app[RECORDINGS].directory, "ab" * 16)
    path.write_bytes(b"movie")
    summary = f"/g/{gid}/summary"
    async with await signed_in(server, sessions, world.facilitator) as frida_browser:
        status, _, _ = await frida_browser.submit(summary, summary, {
            "intro": f"Takk til {NAME} ({EMAIL}) for innlegget.", "action": "publish"})
        assert status == 200
    return gid


async def pages_of(browser: Browser, gid: str) -> dict[str, str]:
    paths = [f"/g/{gid}/summary", f"/g/{gid}/summary.md", f"/g/{gid}/summary/print",
             f"/g/{gid}.ics", "/overview", f"/overview/g/{gid}", f"/overview/g/{gid}.csv",
             *(f"/overview/{t}.csv" for t in ("gatherings", "municipalities", "stages-now",
                                              "stages")),
             "/themes/mat", "/projects", "/me/data", "/me/data.json"]
    pages = {}
    for path in paths:
        status, text, _ = await browser.get(path)
        assert status == 200, (path, status)
        pages[path] = text
    return pages


async def test_an_erased_person_is_nowhere(server: TestServer, sessions: async_sessionmaker,
                                           world: World, mari: Person,
                                           connect: Connect) -> None:
    gid = await gathering_with_mari(server, sessions, world, mari, connect)
    recording = recording_path(server.app[RECORDINGS].directory, "ab" * 16)

    # before: her own data holds all of it, and the pages show her (so the test can fail)
    async with await signed_in(server, sessions, mari) as her:
        status, page, _ = await her.get("/me/data")
        assert status == 200 and NAME in page and EMAIL in page
        status, body, response = await her.get("/me/data.json")
        assert status == 200 and "attachment" in response.headers["Content-Disposition"]
    data = json.loads(body)
    assert data["profile"]["email"] == EMAIL and data["profile"]["municipality"] == "Dalen kommune"
    kinds = {e["type"] for e in data["gathering_events"]}
    assert {"attendee.arrived", "question.asked", "chat.posted",
            "hand.raised", "hand.called", "poll.results"} <= kinds, kinds
    assert data["notes_written"] and data["recordings"][0]["of_you"] is True
    assert data["project_contact_for"][0]["title"] == "Matsvinn i Dalen"
    assert not any("token" in key for key in json.dumps(data).split('"'))
    async with await signed_in(server, sessions, world.lead) as per:
        before = await pages_of(per, gid)
    assert NAME in before[f"/g/{gid}/summary"] and NAME in before[f"/overview/g/{gid}"]
    assert await database_traces(sessions)

    # the programme lead: no confirmation, no erasure; then erased
    async with await signed_in(server, sessions, world.lead) as per:
        status, listing, _ = await per.get("/privacy/people")
        assert status == 200 and f'href="/privacy/people/{mari.id}"' in listing
        status, page, _ = await per.post(f"/privacy/people/{mari.id}",
                                         {"csrf_token": csrf_of(listing)})
        assert status == 400 and "Kryss av" in page
        status, _, response = await per.submit(f"/privacy/people/{mari.id}",
                                               f"/privacy/people/{mari.id}",
                                               {"confirm": "yes"}, allow_redirects=False)
        assert status == 303 and response.headers["Location"] == "/privacy/people?erased=1"
        status, listing, _ = await per.get("/privacy/people")
        assert NAME not in listing
        assert (await per.get(f"/privacy/people/{mari.id}"))[0] == 404

    # the database: nothing of her in any column of any table; the recording's file is gone
    assert await database_traces(sessions) == []
    assert not recording.exists()
    async with sessions() as s:
        tombstone = await s.get(Person, mari.id)
        assert tombstone is not None and tombstone.name == DELETED_NAME
        notes = list(await s.scalars(select(NoteUpdate).where(NoteUpdate.gathering_id == gid)))
        assert all(n.person_id != mari.id for n in notes)

    # the pages and exports: her name nowhere, "slettet deltaker" where she was
    async with await signed_in(server, sessions, world.lead) as per:
        after = await pages_of(per, gid)
    for path, text in after.items():
        assert not traces(text), path
    summary = after[f"/g/{gid}/summary"]
    assert "slettet deltaker" in summary and "Alice Askvik" in summary
    assert "slettet deltaker skrev: vi deler menyene." in summary  # the notes, edited
    assert "slettet deltaker" in after[f"/overview/g/{gid}"]
    async with await signed_in(server, sessions, world.alice) as alice:
        _, theirs, _ = await alice.get("/me/data.json")
    assert not traces(theirs) and "Alice Askvik" in theirs

    # the live room: a snapshot for a client now
    frida = await connect(world.facilitator)
    snapshot = (await send(frida, gid, "room.sync", since=10**6))["snapshot"]
    assert not traces(snapshot), [(k, v) for k, v in snapshot.items() if traces(v)]
    assert DELETED_NAME in json.dumps(snapshot, ensure_ascii=False)

    # her old session is gone: she is signed out everywhere
    async with sessions() as s:
        assert (await s.get(Person, mari.id)).email.endswith(".invalid")  # type: ignore[union-attr]


async def test_my_data_and_deleting_myself(server: TestServer, sessions: async_sessionmaker,
                                           world: World, mari: Person) -> None:
    async with await signed_in(server, sessions, mari) as her:
        status, page, _ = await her.get("/me/data")
        assert status == 200
        assert 'href="/me/data.json"' in page and 'href="/me/delete"' in page
        assert 'href="/privacy"' in page  # the footer, on every page
        status, page, _ = await her.get("/me/delete")
        assert status == 200 and 'name="confirm"' in page
        status, page, _ = await her.post("/me/delete", {"csrf_token": csrf_of(page)})
        assert status == 400 and 'role="alert"' in page
        status, page, response = await her.submit("/me/delete", "/me/delete",
                                                  {"confirm": "yes"}, allow_redirects=False)
        assert status == 303 and response.headers["Location"] == "/privacy?deleted=1"
        status, page, _ = await her.get("/privacy?deleted=1")
        assert status == 200 and "slettet" in page and NAME not in page
        # signed out: her pages send her to the front page
        status, _, response = await her.get("/me/data", allow_redirects=False)
        assert status == 303
    assert await database_traces(sessions) == []


async def test_rights_and_the_last_programme_lead(server: TestServer,
                                                  sessions: async_sessionmaker,
                                                  world: World, mari: Person) -> None:
    async with await signed_in(server, sessions, world.facilitator) as frida:
        assert (await frida.get("/privacy/people"))[0] == 403
        assert (await frida.get(f"/privacy/people/{mari.id}"))[0] == 403
        assert (await frida.get(f"/privacy/people/{mari.id}/data.json"))[0] == 403
    anonymous = Browser(server)
    async with anonymous:
        status, page, _ = await anonymous.get("/privacy")
        assert status == 200 and "365" in page  # the recordings' retention, from settings
        assert (await anonymous.get("/me/data", allow_redirects=False))[0] == 303
        assert (await anonymous.get("/me/data.json", allow_redirects=False))[0] == 303
    async with await signed_in(server, sessions, world.lead) as per:
        status, body, _ = await per.get(f"/privacy/people/{mari.id}/data.json")
        assert status == 200 and json.loads(body)["profile"]["email"] == EMAIL
        status, page, _ = await per.submit(f"/privacy/people/{world.lead.id}",
                                           f"/privacy/people/{world.lead.id}",
                                           {"confirm": "yes"})
        assert status == 409
    async with sessions() as s:
        assert (await s.get(Person, world.lead.id)).name == "Per Programleder"  # type: ignore[union-attr]


async def test_old_sign_in_records_are_swept(sessions: async_sessionmaker, world: World) -> None:
    from rooms.accounts import create_invitation, start_session

    await start_session(sessions, world.alice.id, days=1)
    await create_invitation(sessions, world.alice.id, days=1)
    later = datetime(2100, 1, 1, tzinfo=UTC)
    assert await purge_sign_in_records(sessions, 90, now=datetime.now(UTC)) == 0
    assert await purge_sign_in_records(sessions, 90, now=later) == 2


def test_deleted_marker_is_translated_where_shown() -> None:
    from server.i18n import using_locale
    from server.pages.templates import shown

    with using_locale("nb"):
        assert shown(DELETED_NAME) == "slettet deltaker"
    with using_locale("nn"):
        assert shown(DELETED_NAME) == "sletta deltakar"
    assert shown("Alice Askvik") == "Alice Askvik"
    assert re.fullmatch(r"[a-z ]+", DELETED_NAME)
