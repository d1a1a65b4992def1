"""rooms/privacy.py on SQLite and PostgreSQL: what `personal_data` returns (theirs only, no
tokens), and what `erase_person` changes: events naming them at any depth, free text naming
them anywhere, the rows that go, the tombstone that stays, the last programme lead."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import create_invitation, start_session
from rooms.models import (
    CommandReceipt,
    GatheringEvent,
    Invitation,
    Membership,
    Notice,
    Person,
    Summary,
    WebSession,
)
from rooms.privacy import (
    DELETED_NAME,
    LastProgrammeLead,
    erase_person,
    people,
    personal_data,
)
from tests.factories import World, build_world


@pytest.fixture
def sessions(db: async_sessionmaker) -> async_sessionmaker:
    """Everything here on both databases."""
    return db


def alice_ref(world: World) -> dict[str, Any]:
    return {"person_id": world.alice.id, "name": "Alice Askvik", "municipality": "Askvik kommune"}


async def logged(sessions: async_sessionmaker, world: World) -> None:
    """A log naming Alice in every shape events name people, and Bjørn beside her."""
    gid = world.gathering.id
    bjorn = {"person_id": world.bjorn.id, "name": "Bjørn Brekke",
             "municipality": "Brekke kommune"}
    events: list[tuple[str, dict[str, Any], int | None]] = [
        ("attendee.arrived", alice_ref(world), world.alice.id),
        ("attendee.arrived", bjorn, world.bjorn.id),
        ("chat.posted", {**alice_ref(world), "text": "Hei fra Askvik", "at": 1.0},
         world.alice.id),
        ("chat.posted", {**bjorn, "text": "Hei, ALICE ASKVIK! Skriv til alice@example.org",
                         "at": 2.0}, world.bjorn.id),
        ("question.asked", {"question_id": 1, "text": "Hva kostet det?", "at": 3.0,
                            "author": alice_ref(world), "asker_id": world.alice.id},
         world.alice.id),
        ("breakouts.proposed", {"round": 1, "item_id": None, "plan": {}, "groups": [
            {"id": "g1", "name": "Gruppe 1", "members": [
                {**alice_ref(world), "stage": "oppstart", "tags": []},
                {**bjorn, "stage": None, "tags": []}]}]}, world.facilitator.id),
        ("breakouts.broadcast", {"text": "Ett minutt igjen", "at": 4.0,
                                 "name": "Alice Askvik"}, world.alice.id),
    ]
    async with sessions() as s:
        for seq, (type_, data, person) in enumerate(events, start=1):
            s.add(GatheringEvent(gathering_id=gid, seq=seq, type=type_, data=data, at=seq,
                                 person_id=person))
        s.add(CommandReceipt(person_id=world.alice.id, command_id="c1", gathering_id=gid,
                             answer={"ok": True}, at=1.0))
        s.add(CommandReceipt(person_id=world.bjorn.id, command_id="c2", gathering_id=gid,
                             answer={"ok": True, "echo": "Alice Askvik"}, at=2.0))
        s.add(Summary(gathering_id=gid, intro="Takk til Alice Askvik!",
                      published_by=world.facilitator.id))
        s.add(Notice(theme_id=world.theme.id, gathering_id=gid, kind="note",
                     data={"by": "alice@example.org"}, created_at=datetime.now(UTC)))
        await s.commit()


async def test_personal_data_is_theirs_only(sessions: async_sessionmaker) -> None:
    world = await build_world(sessions)
    await logged(sessions, world)
    await create_invitation(sessions, world.alice.id, days=1)
    await start_session(sessions, world.alice.id, days=1)
    data = await personal_data(sessions, world.alice.id)
    assert data is not None
    assert data["profile"]["name"] == "Alice Askvik"
    assert data["memberships"] == [{"theme": "mat", "theme_name": "Mat og matsvinn",
                                    "role": "participant"}]
    assert len(data["invitations"]) == 1 and len(data["sessions"]) == 1
    assert data["command_receipts"] == 1
    types = [e["type"] for e in data["gathering_events"]]
    assert types == ["attendee.arrived", "chat.posted", "question.asked",
                     "breakouts.proposed", "breakouts.broadcast"]
    proposed = data["gathering_events"][3]
    assert proposed["about_you"] == [{**alice_ref(world), "stage": "oppstart", "tags": []}]
    text = json.dumps(data, ensure_ascii=False)
    assert "Bjørn" not in text  # nothing of the others beside her
    assert "token" not in text
    assert await personal_data(sessions, 10**6) is None


async def test_erasing_rewrites_every_trace(sessions: async_sessionmaker) -> None:
    world = await build_world(sessions)
    await logged(sessions, world)
    await create_invitation(sessions, world.alice.id, days=1)
    await start_session(sessions, world.alice.id, days=1)
    erased = await erase_person(sessions, world.alice.id, world.lead.id)
    assert erased is not None and erased.gathering_ids == (world.gathering.id,)

    async with sessions() as s:
        rows = list(await s.scalars(select(GatheringEvent).order_by(GatheringEvent.seq)))
        data = [r.data for r in rows]
        assert data[0] == {"person_id": world.alice.id, "name": DELETED_NAME,
                           "municipality": None}
        assert data[1]["name"] == "Bjørn Brekke"  # the others stay as they were
        assert data[2]["text"] == "" and data[2]["name"] == DELETED_NAME  # her chat
        assert data[3]["text"] == (f"Hei, {DELETED_NAME}! Skriv til {DELETED_NAME}")
        assert data[4]["text"] == "Hva kostet det?"  # her question stays, anonymous
        assert data[4]["author"]["name"] == DELETED_NAME
        members = data[5]["groups"][0]["members"]
        assert [m["name"] for m in members] == [DELETED_NAME, "Bjørn Brekke"]
        assert data[6]["name"] == DELETED_NAME
        assert "Alice" not in json.dumps(data, ensure_ascii=False)

        tombstone = await s.get(Person, world.alice.id)
        assert tombstone is not None
        assert (tombstone.name, tombstone.title, tombstone.municipality_id) == (
            DELETED_NAME, "", None)
        assert tombstone.email.endswith(".invalid") and tombstone.mail_opt_out
        for table in (Invitation, WebSession, Membership, CommandReceipt):
            assert not list(await s.scalars(select(table).where(
                table.person_id == world.alice.id))), table
        receipt = await s.scalar(select(CommandReceipt))
        assert receipt is not None and receipt.answer["echo"] == DELETED_NAME
        summary = await s.get(Summary, world.gathering.id)
        assert summary is not None and summary.intro == f"Takk til {DELETED_NAME}!"
        notice = await s.scalar(select(Notice))
        assert notice is not None and notice.data == {"by": DELETED_NAME}
    assert world.alice.id not in [p.id for p in await people(sessions)]
    # erased twice: the tombstone has nothing left to find, and nothing breaks
    assert await erase_person(sessions, world.alice.id, world.lead.id) is not None
    assert await erase_person(sessions, 10**6, world.lead.id) is None


async def test_the_last_programme_lead_stays(sessions: async_sessionmaker) -> None:
    world = await build_world(sessions)
    with pytest.raises(LastProgrammeLead):
        await erase_person(sessions, world.lead.id, world.lead.id)
    async with sessions() as s:
        lead = await s.get(Person, world.lead.id)
        assert lead is not None and lead.name == "Per Programleder"  # nothing half-done
        second = await s.get(Person, world.facilitator.id)
        assert second is not None
        second.is_programme_lead = True
        await s.commit()
    assert await erase_person(sessions, world.lead.id, world.facilitator.id) is not None
