"""The store, the command path and accounts on both databases: SQLite and real PostgreSQL.

Every test here runs twice through the `database_url` fixture. The "two workers" tests
use two engines, two stores and two LiveRooms over one database, as two server
processes would, but without sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from facilitation import Actor, Rejected, Role
from facilitation import commands as c
from facilitation import events as e
from rooms.accounts import (
    create_invitation,
    end_session,
    person_for_session,
    redeem_invitation,
    revoke_invitations,
    start_session,
)
from rooms.db import create_engine, sessionmaker
from rooms.live import LiveRooms
from rooms.migrate import alembic_config, include_object, upgrade
from rooms.models import Base, Gathering, GatheringEvent, Person, Theme
from rooms.search import outside_models
from rooms.store import Entry, GatheringStore, VersionClash
from tests.factories import World, build_world

HOSTILE = ("'); DROP TABLE gathering_events; -- \" \\ \x00 \u202e <img src=x onerror=alert(1)> "
           "{{7*7}} ${x} \U0001f331 \t\n\r")
NORWEGIAN = "Blåbærsyltetøy fra Ærøy og Øksnes — ÆØÅ æøå"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db(engine: AsyncEngine) -> async_sessionmaker:
    await upgrade(engine)
    return sessionmaker(engine)


@pytest.fixture
async def world(db: async_sessionmaker) -> World:
    return await build_world(db)


def actor(person: Person, role: Role) -> Actor:
    return Actor(person_id=person.id, name=person.name, role=role, municipality=None)


def chat(person: Person, text: str, at: float = 1000.0) -> e.ChatPosted:
    return e.ChatPosted(person_id=person.id, name=person.name, municipality=None, text=text,
                        at=at)


async def log_of(sessions: async_sessionmaker, gathering_id: str) -> list[tuple[int, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(GatheringEvent.seq, GatheringEvent.type)
            .where(GatheringEvent.gathering_id == gathering_id)
            .order_by(GatheringEvent.seq))
        return [(seq, type_) for seq, type_ in rows]


# --- migrations ----------------------------------------------------------------------


def _table_names(connection: Any) -> set[str]:
    """The tables, but the archive's full-text machinery (not a model: rooms/search.py)."""
    return {name for name in inspect(connection).get_table_names()
            if not outside_models(name)}


def _schema_diff(connection: Any) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"include_object": include_object})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_apply_from_empty_and_are_idempotent(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.run_sync(_table_names) == set()

    await upgrade(engine)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    async with engine.connect() as connection:
        tables = await connection.run_sync(_table_names)
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
        assert (await connection.scalar(text("SELECT version_num FROM alembic_version"))) == head
        # the migrations build exactly what the models describe
        assert await connection.run_sync(_schema_diff) == []

    sessions = sessionmaker(engine)
    async with sessions() as session:
        session.add(Theme(slug="kept", name="Kept across upgrades", description=""))
        await session.commit()

    await upgrade(engine)  # a second run changes nothing and keeps the data
    async with engine.connect() as connection:
        assert await connection.run_sync(_table_names) == set(Base.metadata.tables) | {
            "alembic_version"}
        versions = (await connection.execute(text("SELECT version_num FROM alembic_version")))
        assert [row[0] for row in versions] == [head]
    async with sessions() as session:
        assert await session.scalar(select(Theme.name).where(Theme.slug == "kept")) == (
            "Kept across upgrades")


async def test_build_world(db: async_sessionmaker, world: World) -> None:
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Person)) == 8
        assert await session.scalar(select(func.count()).select_from(Gathering)) == 2
        gathering = await session.get(Gathering, world.gathering.id)
        assert gathering is not None
        assert [i.position for i in gathering.items] == [0, 1, 2, 3]
        assert gathering.theme.slug == "mat"
        bjorn = await session.get(Person, world.bjorn.id)
        assert bjorn is not None and bjorn.name == "Bjørn Brekke"
        assert bjorn.municipality is not None and bjorn.municipality.name == "Brekke kommune"

    state = await GatheringStore(db).initial_state(world.gathering.id)
    assert state is not None and state.version == 0
    assert [slot.kind for slot in state.agenda] == ["welcome", "expert_talk", "breakout",
                                                    "wrap_up"]
    assert await GatheringStore(db).initial_state("no-such-gathering") is None


async def test_datetimes_come_back_as_the_same_instant_in_utc(
    db: async_sessionmaker, world: World
) -> None:
    oslo = datetime(2026, 12, 3, 9, 0, tzinfo=ZoneInfo("Europe/Oslo"))  # 08:00 UTC
    async with db() as session:
        gathering = await session.get(Gathering, world.gathering.id)
        assert gathering is not None
        gathering.starts_at = oslo
        await session.commit()
    async with db() as session:
        loaded = await session.get(Gathering, world.gathering.id)
        assert loaded is not None
        assert loaded.starts_at.tzinfo is not None, "a naive datetime reads as local time"
        assert loaded.starts_at == oslo
        assert loaded.starts_at.utcoffset() == timedelta(0)
        assert loaded.starts_at.isoformat() == "2026-12-03T08:00:00+00:00"


# --- the event log -------------------------------------------------------------------


async def test_commit_and_events_since_round_trip(db: async_sessionmaker, world: World) -> None:
    store = GatheringStore(db)
    gid = world.gathering.id
    state = await store.initial_state(gid)
    assert state is not None
    events: list[e.Event] = [
        e.RoomOpened(at=1000.5),
        chat(world.bjorn, NORWEGIAN),
        chat(world.alice, HOSTILE),
        e.ItemStarted(index=0, item_id=world.gathering.items[0].id, started_at=1001.25,
                      planned_seconds=600),
    ]
    stored = await store.commit(state, events, person_id=world.facilitator.id, command_id=None,
                                answer={"ok": True}, now=1000.5)
    assert [s.version for s in stored] == [1, 2, 3, 4]

    loaded = await store.events_since(gid, 0)
    assert loaded == stored
    assert [s.data for s in loaded] == [ev.data() for ev in events]
    assert loaded[1].data["text"] == NORWEGIAN and loaded[1].data["name"] == "Bjørn Brekke"
    assert loaded[2].data["text"] == HOSTILE
    assert loaded[0].to_wire(gid) == {"gathering": gid, "version": 1, "type": "room.opened",
                                      "data": {"at": 1000.5}}
    assert [s.version for s in await store.events_since(gid, 2)] == [3, 4]
    assert await store.events_since(gid, 4) == []
    assert await store.events_since(world.other_gathering.id, 0) == []


async def test_second_commit_at_same_version_clashes_and_leaves_log_unchanged(
    db: async_sessionmaker, world: World
) -> None:
    store = GatheringStore(db)
    gid = world.gathering.id
    state = await store.initial_state(gid)
    assert state is not None
    await store.commit(state, [chat(world.alice, "først")], person_id=world.alice.id,
                       command_id="a-1", answer={"ok": True, "version": 1}, now=1.0)
    late: list[e.Event] = [chat(world.bjorn, "for sent"), chat(world.bjorn, "igjen")]
    with pytest.raises(VersionClash):
        # a stale writer, still at version 0, with two events and its own receipt
        await store.commit(state, late,
                           person_id=world.bjorn.id, command_id="b-1",
                           answer={"ok": True, "version": 2}, now=2.0)
    assert [(s.version, s.data["text"]) for s in await store.events_since(gid, 0)] == [
        (1, "først")]
    assert await store.receipt(world.bjorn.id, "b-1") is None  # the receipt rolled back too
    # the store still works after the clash
    caught_up = await store.catch_up(state)
    await store.commit(caught_up, [chat(world.bjorn, "nå")], person_id=world.bjorn.id,
                       command_id="b-1", answer={"ok": True, "version": 2}, now=3.0)
    assert await log_of(db, gid) == [(1, "chat.posted"), (2, "chat.posted")]


async def test_receipts(db: async_sessionmaker, world: World) -> None:
    store = GatheringStore(db)
    gid = world.gathering.id
    state = await store.initial_state(gid)
    assert state is not None
    answer = {"ok": False, "error": {"code": "rejected", "message": "ikke nå – æøå"}}
    await store.commit(state, [], person_id=world.alice.id, command_id="cmd-1", answer=answer,
                       now=1.0)
    assert await store.receipt(world.alice.id, "cmd-1") == answer
    assert await store.receipt(world.alice.id, "cmd-2") is None
    assert await store.receipt(world.bjorn.id, "cmd-1") is None  # ids are per person

    # the same (person, command id) again is refused, even at a free version
    with pytest.raises(VersionClash):
        await store.commit(state, [chat(world.alice, "to ganger")], person_id=world.alice.id,
                           command_id="cmd-1", answer={"ok": True, "version": 1}, now=2.0)
    assert await store.events_since(gid, 0) == []
    assert await store.receipt(world.alice.id, "cmd-1") == answer

    # another person may use the same id
    await store.commit(state, [chat(world.bjorn, "hei")], person_id=world.bjorn.id,
                       command_id="cmd-1", answer={"ok": True, "version": 1}, now=3.0)
    assert await store.receipt(world.bjorn.id, "cmd-1") == {"ok": True, "version": 1}


async def test_catch_up_folds_only_newer_events(db: async_sessionmaker, world: World) -> None:
    store = GatheringStore(db)
    gid = world.gathering.id
    start = await store.initial_state(gid)
    assert start is not None
    first = [e.RoomOpened(at=10.0), chat(world.alice, "en")]
    await store.commit(start, first, person_id=world.facilitator.id, command_id=None,
                       answer={}, now=10.0)
    seen = await store.catch_up(start)
    assert seen.version == 2 and [m.text for m in seen.chat] == ["en"]

    more = [chat(world.bjorn, "to"), chat(world.alice, "tre")]
    await store.commit(seen, more, person_id=world.bjorn.id, command_id=None, answer={},
                       now=11.0)
    caught_up = await store.catch_up(seen)
    assert caught_up.version == 4
    assert [m.text for m in caught_up.chat] == ["en", "to", "tre"]  # nothing folded twice
    assert [m.seq for m in caught_up.chat] == [2, 3, 4]
    assert await store.catch_up(caught_up) == caught_up
    assert await store.catch_up(start) == caught_up  # from scratch gives the same state


# --- the command path, two workers over one database ---------------------------------


class Worker:
    """What one server process has: its own engine, store and LiveRooms."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url)
        self.store = GatheringStore(sessionmaker(self.engine))
        self.published: list[dict[str, Any]] = []
        self.live = LiveRooms(self.store, publish=self._publish)

    async def _publish(self, gathering_id: str, events: list[dict[str, Any]]) -> None:
        self.published.extend(events)


@pytest.fixture
async def workers(database_url: str, db: async_sessionmaker) -> AsyncIterator[tuple[Worker, ...]]:
    pair = (Worker(database_url), Worker(database_url))
    yield pair
    for worker in pair:
        await worker.engine.dispose()


async def test_two_workers_concurrent_chat_loses_nothing(
    workers: tuple[Worker, Worker], world: World, db: async_sessionmaker
) -> None:
    a, b = workers
    gid = world.gathering.id
    alice, bjorn = actor(world.alice, Role.PARTICIPANT), actor(world.bjorn, Role.PARTICIPANT)
    per_worker = 25
    calls = [a.live.execute(alice, gid, c.SendChat(text=f"a{i} æøå"), f"a-{i}")
             for i in range(per_worker)]
    calls += [b.live.execute(bjorn, gid, c.SendChat(text=f"b{i} ÆØÅ"), f"b-{i}")
              for i in range(per_worker)]
    outcomes = await asyncio.gather(*calls)

    total = 2 * per_worker
    assert all(o.answer["ok"] for o in outcomes), [o.answer for o in outcomes]
    assert sorted(o.answer["version"] for o in outcomes) == list(range(1, total + 1))
    assert await log_of(db, gid) == [(v, "chat.posted") for v in range(1, total + 1)]

    stored = await a.store.events_since(gid, 0)
    texts = {s.data["text"] for s in stored}
    assert texts == {f"a{i} æøå" for i in range(per_worker)} | {
        f"b{i} ÆØÅ" for i in range(per_worker)}
    # each event was published once, by the worker that committed it
    published = sorted(ev["version"] for ev in a.published + b.published)
    assert published == list(range(1, total + 1))
    state_a, state_b = await a.live.state(gid), await b.live.state(gid)
    assert state_a == state_b
    assert state_a.version == total and len(state_a.chat) == total

    # a resend of an answered command id returns the first answer and changes nothing
    again = await b.live.execute(alice, gid, c.SendChat(text="a0 æøå"), "a-0")
    assert again.answer == next(o.answer for o in outcomes[:per_worker]
                                if o.events[0].data["text"] == "a0 æøå")
    assert again.events == []
    assert len(await log_of(db, gid)) == total


async def test_two_facilitators_advancing_at_once_advance_once(
    workers: tuple[Worker, Worker], world: World, db: async_sessionmaker
) -> None:
    a, b = workers
    gid = world.gathering.id
    frida = actor(world.facilitator, Role.FACILITATOR)
    kari = actor(world.cofacilitator, Role.FACILITATOR)
    await a.live.execute(frida, gid, c.OpenRoom(), "open")
    # both workers have the gathering loaded at the same version before the race
    assert (await a.live.state(gid)).version == (await b.live.state(gid)).version == 1

    results = await asyncio.gather(
        a.live.execute(frida, gid, c.NextItem(from_item=None), "next-frida"),
        b.live.execute(kari, gid, c.NextItem(from_item=None), "next-kari"),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], Rejected) and lost[0].code == "conflict"
    assert won[0].answer == {"ok": True, "version": 2}
    assert await log_of(db, gid) == [(1, "room.opened"), (2, "agenda.item_started")]
    first_item = world.gathering.items[0].id
    for worker in (a, b):
        state = await worker.live.state(gid)
        assert state.current is not None and state.current.index == 0
        assert state.agenda[state.current.index].id == first_item
    # the loser's refusal is its receipt: a resend gets the same answer
    loser = "next-kari" if isinstance(results[1], BaseException) else "next-frida"
    loser_person = kari if loser == "next-kari" else frida
    receipt = await a.store.receipt(loser_person.person_id, loser)
    assert receipt is not None and receipt["ok"] is False
    assert receipt["error"]["code"] == "conflict"


class RacedStore(GatheringStore):
    """A store whose next commits find their version taken by another writer first.

    The other writer commits through the command's own session (the only one that may
    write while the command holds the gathering's write lock), so the clash is a real
    unique (gathering, seq) violation in the database."""

    def __init__(self, sessions: async_sessionmaker, races: int, rival: Person) -> None:
        super().__init__(sessions)
        self.races = races
        self.rival = rival

    async def commit_all(self, state: Any, entries: Any, **kwargs: Any) -> Any:
        if self.races:
            self.races -= 1
            rival = Entry(self.rival.id, (chat(self.rival, f"rival {self.races}"),))
            await super().commit_all(state, [rival], now=1.0, session=kwargs.get("session"))
        return await super().commit_all(state, entries, **kwargs)


async def test_a_version_clash_is_caught_up_and_retried(
    db: async_sessionmaker, world: World
) -> None:
    published: list[dict[str, Any]] = []

    async def publish(gathering_id: str, events: list[dict[str, Any]]) -> None:
        published.extend(events)

    store = RacedStore(db, races=2, rival=world.bjorn)
    live = LiveRooms(store, publish=publish)
    gid = world.gathering.id
    outcome = await live.execute(actor(world.alice, Role.PARTICIPANT), gid,
                                 c.SendChat(text="tredje gang"), "alice-1")
    assert outcome.answer == {"ok": True, "version": 3}
    assert [(s.version, s.data["text"]) for s in await store.events_since(gid, 0)] == [
        (1, "rival 1"), (2, "rival 0"), (3, "tredje gang")]
    assert [ev["version"] for ev in published] == [3]  # only what this command committed
    assert [m.text for m in (await live.state(gid)).chat] == ["rival 1", "rival 0",
                                                              "tredje gang"]
    assert await store.receipt(world.alice.id, "alice-1") == outcome.answer


async def test_endless_clashes_are_refused_and_change_nothing(
    db: async_sessionmaker, world: World
) -> None:
    store = RacedStore(db, races=1000, rival=world.bjorn)
    live = LiveRooms(store, publish=lambda gid, events: asyncio.sleep(0))
    gid = world.gathering.id
    with pytest.raises(Rejected) as refused:
        await live.execute(actor(world.alice, Role.PARTICIPANT), gid,
                           c.SendChat(text="kommer aldri fram"), "alice-1")
    assert refused.value.code == "conflict"
    assert all(s.data["name"] == "Bjørn Brekke" for s in await store.events_since(gid, 0))
    assert await store.receipt(world.alice.id, "alice-1") is None


# --- accounts ------------------------------------------------------------------------


async def test_single_use_invitation_redeemed_at_once_gives_one_person(
    database_url: str, db: async_sessionmaker, world: World
) -> None:
    other = create_engine(database_url)  # a second worker
    try:
        for attempt in range(5):
            token = await create_invitation(db, world.alice.id, days=1)
            results = await asyncio.gather(redeem_invitation(db, token),
                                           redeem_invitation(sessionmaker(other), token),
                                           redeem_invitation(db, token))
            people = [p for p in results if p is not None]
            assert len(people) == 1, (attempt, results)
            assert people[0].id == world.alice.id
            assert await redeem_invitation(db, token) is None  # spent
    finally:
        await other.dispose()


async def test_invitations_expired_revoked_and_reusable(
    db: async_sessionmaker, world: World
) -> None:
    expired = await create_invitation(db, world.alice.id, days=-1)
    assert await redeem_invitation(db, expired) is None
    assert await redeem_invitation(db, "not-a-token") is None

    reusable = await create_invitation(db, world.bjorn.id, days=1, reusable=True)
    for _ in range(3):
        person = await redeem_invitation(db, reusable)
        assert person is not None and person.email == "bjorn@example.org"

    revoked = await create_invitation(db, world.bjorn.id, days=1, reusable=True)
    await revoke_invitations(db, world.bjorn.id)
    assert await redeem_invitation(db, revoked) is None
    assert await redeem_invitation(db, reusable) is None


async def test_sessions(db: async_sessionmaker, world: World) -> None:
    token = await start_session(db, world.alice.id, days=30)
    person = await person_for_session(db, token)
    assert person is not None and person.id == world.alice.id
    assert person.municipality is not None and person.municipality.name == "Askvik kommune"
    assert await person_for_session(db, token + "x") is None
    assert await person_for_session(db, None) is None
    assert await person_for_session(db, "") is None

    expired = await start_session(db, world.bjorn.id, days=-1)
    assert await person_for_session(db, expired) is None

    await end_session(db, token)
    assert await person_for_session(db, token) is None
