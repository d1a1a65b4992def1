"""Group commit: commands that reach a gathering together are decided one after another and
stored in one transaction, on both databases. Each keeps its own answer, its own event and
its own receipt; a refusal refuses only its own command."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import Rejected, Role
from facilitation import commands as c
from rooms.live import LiveRooms
from rooms.models import Person
from rooms.store import GatheringStore
from tests.factories import World, add_participant
from tests.rooms.test_store import actor, db, engine, log_of, world  # noqa: F401

ARRIVING = 40


class CountingStore(GatheringStore):
    def __init__(self, sessions: async_sessionmaker) -> None:
        super().__init__(sessions)
        self.commits = 0

    async def commit_all(self, state: Any, entries: Any, **kwargs: Any) -> Any:
        self.commits += 1
        return await super().commit_all(state, entries, **kwargs)


async def newcomers(db: async_sessionmaker, world: World, count: int) -> list[Person]:  # noqa: F811
    return [await add_participant(db, world.theme, f"ny{i}@example.org", f"Ny {i}")
            for i in range(count)]


def rooms_of(store: GatheringStore) -> tuple[LiveRooms, list[list[dict[str, Any]]]]:
    broadcasts: list[list[dict[str, Any]]] = []

    async def publish(gathering_id: str, events: list[dict[str, Any]]) -> None:
        broadcasts.append(events)

    return LiveRooms(store, publish=publish), broadcasts


async def test_a_crowd_arriving_at_once_is_stored_in_a_few_commits_one_event_each(
        db: async_sessionmaker, world: World) -> None:  # noqa: F811
    store = CountingStore(db)
    live, broadcasts = rooms_of(store)
    gid = world.gathering.id
    people = await newcomers(db, world, ARRIVING)
    outcomes = await asyncio.gather(*(live.execute(actor(p, Role.PARTICIPANT), gid,
                                                   c.JoinRoom()) for p in people))
    assert store.commits < ARRIVING // 4, store.commits
    assert len(broadcasts) == store.commits  # one broadcast per commit, not per arrival
    assert await log_of(db, gid) == [(v, "attendee.arrived") for v in range(1, ARRIVING + 1)]
    stored = await store.events_since(gid, 0)
    assert sorted(s.data["person_id"] for s in stored) == sorted(p.id for p in people)
    for person, outcome in zip(people, outcomes, strict=True):
        assert person.id in outcome.state.attendees  # each sees at least its own arrival
        [event] = outcome.events
        assert event.data["person_id"] == person.id
    again = await asyncio.gather(*(live.execute(actor(p, Role.PARTICIPANT), gid, c.JoinRoom())
                                   for p in people[:5]))
    assert all(o.events == [] for o in again)  # a second join changes nothing
    assert len(await log_of(db, gid)) == ARRIVING


async def test_a_command_sent_twice_in_one_batch_is_stored_once(
        db: async_sessionmaker, world: World) -> None:  # noqa: F811
    live, _ = rooms_of(GatheringStore(db))
    gid = world.gathering.id
    alice = actor(world.alice, Role.PARTICIPANT)
    first, second = await asyncio.gather(
        live.execute(alice, gid, c.SendChat(text="én gang"), "alice-1"),
        live.execute(alice, gid, c.SendChat(text="én gang"), "alice-1"))
    assert first.answer == second.answer == {"ok": True, "version": 1}
    assert await log_of(db, gid) == [(1, "chat.posted")]


async def test_a_refusal_in_a_batch_refuses_only_its_own_command_and_is_remembered(
        db: async_sessionmaker, world: World) -> None:  # noqa: F811
    live, _ = rooms_of(GatheringStore(db))
    gid = world.gathering.id
    frida = actor(world.facilitator, Role.FACILITATOR)
    alice = actor(world.alice, Role.PARTICIPANT)
    refused, posted = await asyncio.gather(
        live.execute(frida, gid, c.ExtendItem(minutes=5), "frida-1"),
        live.execute(alice, gid, c.SendChat(text="hei"), "alice-1"),
        return_exceptions=True)
    assert isinstance(refused, Rejected)
    assert not isinstance(posted, BaseException) and posted.answer["ok"]
    assert await log_of(db, gid) == [(1, "chat.posted")]
    repeat = await live.execute(frida, gid, c.ExtendItem(minutes=5), "frida-1")
    assert repeat.answer["ok"] is False  # the refusal's receipt, not a second decision
    assert repeat.answer["error"]["message"] == refused.reason
