"""Presence: the same behaviour table for MemoryPresence and RedisPresence (real Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from rooms.presence import MemoryPresence, Presence, RedisPresence

ALICE: dict[str, Any] = {"person_id": 3, "name": "Alice Askvik", "municipality": "Askvik kommune",
         "role": "participant"}
BJORN: dict[str, Any] = {"person_id": 4, "name": "Bjørn Brekke", "municipality": "Brække kommune",
         "role": "participant"}
GATHERING = "g1"
OTHER = "g2"

# one step: (call, person, expected answer) -- "arrive" answers "first connection?",
# "leave" answers "last connection?"
TABLE: list[tuple[str, dict[str, Any], bool]] = [
    ("arrive", ALICE, True),   # first connection
    ("arrive", ALICE, False),  # a second tab
    ("arrive", BJORN, True),
    ("leave", ALICE, False),   # one of two tabs closed: still here
    ("leave", ALICE, True),    # the last one
    ("arrive", ALICE, True),   # back again
    ("leave", BJORN, True),
]


class RedisWorkers:
    """RedisPresence instances as separate worker processes have them: each with its own
    client, all under one key prefix unique to the test, deleted afterwards."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"forum-test:{uuid.uuid4().hex}:presence"
        self.clients: list[Redis] = []

    def __call__(self) -> RedisPresence:
        client = Redis.from_url(self.url, decode_responses=True)
        self.clients.append(client)
        return RedisPresence(client, prefix=self.prefix)

    async def keys(self) -> list[str]:
        return [key async for key in self.clients[0].scan_iter(f"{self.prefix}:*")]

    async def close(self) -> None:
        if self.clients:
            keys = await self.keys()
            if keys:
                await self.clients[0].delete(*keys)
        for client in self.clients:
            await client.aclose()


@pytest.fixture
async def redis_workers(redis_url: str) -> AsyncIterator[RedisWorkers]:
    workers = RedisWorkers(redis_url)
    try:
        yield workers
    finally:
        await workers.close()


@pytest.fixture(params=["memory", "redis"])
def make_presence(request: pytest.FixtureRequest) -> Callable[[], Presence]:
    """A factory of Presence instances that share their state (as workers do)."""
    if request.param == "memory":
        shared = MemoryPresence()
        return lambda: shared
    workers: RedisWorkers = request.getfixturevalue("redis_workers")
    return workers


def ids(people: list[dict[str, Any]]) -> list[int]:
    return sorted(p["person_id"] for p in people)


async def test_behaviour_table(make_presence: Callable[[], Presence]) -> None:
    presence = make_presence()
    here: dict[int, int] = {}
    for step, (call, person, expected) in enumerate(TABLE):
        if call == "arrive":
            answer = await presence.arrive(GATHERING, person)
            here[person["person_id"]] = here.get(person["person_id"], 0) + 1
        else:
            answer = await presence.leave(GATHERING, person["person_id"])
            here[person["person_id"]] -= 1
        assert answer is expected, (step, call, person["name"])
        # people() lists each person present once, whatever their number of connections
        assert ids(await presence.people(GATHERING)) == sorted(k for k, n in here.items() if n)
    assert await presence.people(GATHERING) == [ALICE]
    assert await presence.people(OTHER) == []


async def test_people_lists_each_person_once_with_their_details(
    make_presence: Callable[[], Presence]
) -> None:
    presence = make_presence()
    for person in (ALICE, BJORN, ALICE, ALICE, BJORN):
        await presence.arrive(GATHERING, person)
    people = await presence.people(GATHERING)
    assert sorted(people, key=lambda p: p["person_id"]) == [ALICE, BJORN]
    # gatherings are separate
    assert await presence.arrive(OTHER, ALICE) is True
    assert await presence.people(OTHER) == [ALICE]
    assert await presence.leave(OTHER, ALICE["person_id"]) is True
    assert ids(await presence.people(GATHERING)) == [3, 4]


async def test_two_workers_see_each_others_counts(make_presence: Callable[[], Presence]) -> None:
    a, b = make_presence(), make_presence()
    assert await a.arrive(GATHERING, ALICE) is True
    assert await b.arrive(GATHERING, ALICE) is False  # the same person, another worker
    assert await b.arrive(GATHERING, BJORN) is True
    assert ids(await a.people(GATHERING)) == [3, 4]
    assert ids(await b.people(GATHERING)) == [3, 4]
    assert await a.leave(GATHERING, ALICE["person_id"]) is False
    assert ids(await b.people(GATHERING)) == [3, 4]
    assert await b.leave(GATHERING, ALICE["person_id"]) is True
    assert await a.people(GATHERING) == [BJORN]
    assert await a.leave(GATHERING, BJORN["person_id"]) is True
    assert await b.people(GATHERING) == []


async def test_concurrent_arrivals_and_leaves_count_exactly(
    make_presence: Callable[[], Presence]
) -> None:
    workers = [make_presence() for _ in range(3)]
    arrived = await asyncio.gather(*(w.arrive(GATHERING, ALICE) for w in workers * 4))
    assert arrived.count(True) == 1
    left = await asyncio.gather(*(w.leave(GATHERING, ALICE["person_id"]) for w in workers * 4))
    assert left.count(True) == 1
    assert await workers[0].people(GATHERING) == []


async def test_reload_across_workers_keeps_the_person_present(
    make_presence: Callable[[], Presence]
) -> None:
    """A page reload: the old socket leaves on one worker while the new one arrives on
    another. Whichever comes first, the person must be present afterwards, and their
    next leave must be their last."""
    a, b = make_presence(), make_presence()
    for _ in range(5):
        assert await a.arrive(GATHERING, ALICE) is True
        await asyncio.gather(a.leave(GATHERING, ALICE["person_id"]), b.arrive(GATHERING, ALICE))
        assert await a.people(GATHERING) == [ALICE]
        assert await b.leave(GATHERING, ALICE["person_id"]) is True
        assert await a.people(GATHERING) == []


async def test_redis_keys_live_under_the_prefix(redis_workers: RedisWorkers) -> None:
    presence = redis_workers()
    await presence.arrive(GATHERING, ALICE)
    keys = await redis_workers.keys()
    assert keys and all(k.startswith(redis_workers.prefix) for k in keys)
    await presence.leave(GATHERING, ALICE["person_id"])
    assert await redis_workers.keys() == []  # nothing left behind for someone who left
