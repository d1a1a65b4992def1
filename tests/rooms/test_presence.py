"""Presence: the same behaviour table for MemoryPresence and RedisPresence (real Redis);
revisions, the coalescing feed, and the heartbeat that takes a dead worker's people out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from rooms.presence import Change, MemoryPresence, Presence, PresenceFeed, RedisPresence
from rooms.worker import Worker
from tests.server.live_helpers import eventually, fetched_until

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

    def __call__(self, ttl: float = 15) -> RedisPresence:
        client = Redis.from_url(self.url, decode_responses=True)
        self.clients.append(client)
        return RedisPresence(client, Worker(client, prefix=self.prefix, ttl=ttl),
                             prefix=self.prefix)

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
            change = await presence.arrive(GATHERING, person)
            here[person["person_id"]] = here.get(person["person_id"], 0) + 1
        else:
            change = await presence.leave(GATHERING, person["person_id"])
            here[person["person_id"]] -= 1
        assert (change is not None) is expected, (step, call, person["name"])
        if change is not None:
            assert change.person_id == person["person_id"]
            assert change.person == (person if call == "arrive" else None)
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
    assert await presence.arrive(OTHER, ALICE) is not None
    assert await presence.people(OTHER) == [ALICE]
    assert await presence.leave(OTHER, ALICE["person_id"]) is not None
    assert ids(await presence.people(GATHERING)) == [3, 4]


async def test_two_workers_see_each_others_counts(make_presence: Callable[[], Presence]) -> None:
    a, b = make_presence(), make_presence()
    assert await a.arrive(GATHERING, ALICE) is not None
    assert await b.arrive(GATHERING, ALICE) is None  # the same person, another worker
    assert await b.arrive(GATHERING, BJORN) is not None
    assert ids(await a.people(GATHERING)) == [3, 4]
    assert ids(await b.people(GATHERING)) == [3, 4]
    assert await a.leave(GATHERING, ALICE["person_id"]) is None
    assert ids(await b.people(GATHERING)) == [3, 4]
    assert await b.leave(GATHERING, ALICE["person_id"]) is not None
    assert await a.people(GATHERING) == [BJORN]
    # each worker takes back only connections it counted (its own sockets): Bjørn's is B's
    assert await b.leave(GATHERING, BJORN["person_id"]) is not None
    assert await a.people(GATHERING) == []


async def test_concurrent_arrivals_and_leaves_count_exactly(
    make_presence: Callable[[], Presence]
) -> None:
    workers = [make_presence() for _ in range(3)]
    arrived = await asyncio.gather(*(w.arrive(GATHERING, ALICE) for w in workers * 4))
    assert len([c for c in arrived if c is not None]) == 1
    left = await asyncio.gather(*(w.leave(GATHERING, ALICE["person_id"]) for w in workers * 4))
    assert len([c for c in left if c is not None]) == 1
    assert await workers[0].people(GATHERING) == []


async def test_reload_across_workers_keeps_the_person_present(
    make_presence: Callable[[], Presence]
) -> None:
    """A page reload: the old socket leaves on one worker while the new one arrives on
    another. Whichever comes first, the person must be present afterwards, and their
    next leave must be their last."""
    a, b = make_presence(), make_presence()
    for _ in range(5):
        assert await a.arrive(GATHERING, ALICE) is not None
        await asyncio.gather(a.leave(GATHERING, ALICE["person_id"]), b.arrive(GATHERING, ALICE))
        assert await a.people(GATHERING) == [ALICE]
        assert await b.leave(GATHERING, ALICE["person_id"]) is not None
        assert await a.people(GATHERING) == []


async def test_redis_keys_live_under_the_prefix(redis_workers: RedisWorkers) -> None:
    presence = redis_workers()
    await presence.arrive(GATHERING, ALICE)
    keys = await redis_workers.keys()
    assert keys and all(k.startswith(redis_workers.prefix) for k in keys)
    await presence.leave(GATHERING, ALICE["person_id"])
    assert await redis_workers.keys() == []  # nothing left behind for someone who left


# -- revisions ------------------------------------------------------------------------------

async def test_changes_carry_a_growing_revision_that_the_roster_reflects(
    make_presence: Callable[[], Presence]
) -> None:
    a, b = make_presence(), make_presence()
    assert (await a.roster(GATHERING)).rev == 0  # nobody yet
    first = await a.arrive(GATHERING, ALICE)
    second = await b.arrive(GATHERING, BJORN)
    assert first is not None and second is not None
    assert 0 < first.rev < second.rev
    roster = await a.roster(GATHERING)
    assert roster.rev == second.rev
    assert ids(roster.people) == [3, 4]
    assert await b.arrive(GATHERING, ALICE) is None  # a second tab changes nothing...
    assert (await b.roster(GATHERING)).rev == second.rev  # ...not even the revision
    left = await a.leave(GATHERING, ALICE["person_id"])
    assert left is None
    left = await b.leave(GATHERING, ALICE["person_id"])
    assert left is not None and left.rev > second.rev and not left.joined
    assert left.to_wire() == {"type": "presence.left", "rev": left.rev, "data": {"person_id": 3}}
    assert first.to_wire() == {"type": "presence.joined", "rev": first.rev, "data": ALICE}
    assert await b.roster(GATHERING) == type(roster)([BJORN], left.rev)


async def test_the_revision_keeps_growing_after_the_room_was_empty(
    redis_workers: RedisWorkers
) -> None:
    presence = redis_workers()
    await presence.arrive(GATHERING, ALICE)
    left = await presence.leave(GATHERING, ALICE["person_id"])
    assert left is not None
    assert await redis_workers.keys() == []  # the revision went with the last person...
    again = await presence.arrive(GATHERING, ALICE)
    assert again is not None and again.rev > left.rev  # ...and starts again above it


def follow(roster_people: list[dict[str, Any]], base: int,
           batches: list[list[Change]]) -> list[int]:
    """What a client ends with (static/src/reducer.js applyPresence), as person ids."""
    people = {p["person_id"]: p for p in roster_people}
    seen: dict[int, int] = {}
    for batch in batches:
        for change in batch:
            if change.rev <= max(base, seen.get(change.person_id, 0)):
                continue
            seen[change.person_id] = change.rev
            people.pop(change.person_id, None)
            if change.person is not None:
                people[change.person_id] = change.person
    return sorted(people)


async def test_a_reload_across_workers_ends_present_whatever_order_the_batches_come(
    make_presence: Callable[[], Presence]
) -> None:
    a, b = make_presence(), make_presence()
    await b.arrive(GATHERING, BJORN)
    for _ in range(5):
        assert await a.arrive(GATHERING, ALICE) is not None
        roster = await a.roster(GATHERING)
        left, joined = await asyncio.gather(a.leave(GATHERING, ALICE["person_id"]),
                                            b.arrive(GATHERING, ALICE))
        from_a = [c for c in (left,) if c is not None]
        from_b = [c for c in (joined,) if c is not None]
        for order in ([from_a, from_b], [from_b, from_a]):
            assert follow(roster.people, roster.rev, order) == [3, 4]
        assert ids((await a.roster(GATHERING)).people) == [3, 4]
        assert await b.leave(GATHERING, ALICE["person_id"]) is not None


# -- the feed -------------------------------------------------------------------------------

class Published:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[Change]]] = []

    async def __call__(self, gathering_id: str, changes: list[Change]) -> None:
        self.messages.append((gathering_id, changes))

    async def wait(self, count: int) -> None:
        await eventually(lambda: len(self.messages) >= count, what=f"{count} broadcasts")


def joined(person: dict[str, Any], rev: int) -> Change:
    return Change(person["person_id"], rev, person)


def left(person: dict[str, Any], rev: int) -> Change:
    return Change(person["person_id"], rev)


async def test_the_feed_sends_a_window_of_changes_as_one_broadcast_in_revision_order() -> None:
    published = Published()
    feed = PresenceFeed(published, window=0.2)
    carl = {**ALICE, "person_id": 5, "name": "Carl"}
    feed.add(GATHERING, joined(BJORN, 11))
    feed.add(GATHERING, joined(ALICE, 10))  # finished its arrival first, reported later
    feed.add(OTHER, joined(ALICE, 3))
    feed.add(GATHERING, joined(carl, 12))
    await published.wait(2)
    assert sorted(published.messages, key=lambda m: m[0]) == [
        (GATHERING, [joined(ALICE, 10), joined(BJORN, 11), joined(carl, 12)]),
        (OTHER, [joined(ALICE, 3)]),
    ]
    # the next change opens a new window
    feed.add(GATHERING, left(BJORN, 13))
    await published.wait(3)
    assert published.messages[2] == (GATHERING, [left(BJORN, 13)])
    await feed.close()
    assert len(published.messages) == 3


async def test_a_join_then_a_leave_in_one_window_is_sent_as_the_leave() -> None:
    published = Published()
    feed = PresenceFeed(published, window=0.2)
    feed.add(GATHERING, joined(ALICE, 20))
    feed.add(GATHERING, joined(BJORN, 21))
    feed.add(GATHERING, left(ALICE, 22))
    feed.add(GATHERING, joined(ALICE, 19))  # an older change reported late loses
    await published.wait(1)
    assert published.messages == [(GATHERING, [joined(BJORN, 21), left(ALICE, 22)])]
    assert follow([ALICE], 19, [published.messages[0][1]]) == [4]


async def test_closing_the_feed_sends_what_is_pending_at_once() -> None:
    published = Published()
    feed = PresenceFeed(published, window=3600)
    feed.add(GATHERING, joined(ALICE, 1))
    await feed.close()
    assert published.messages == [(GATHERING, [joined(ALICE, 1)])]


# -- workers that die ----------------------------------------------------------------------

# Workers here live long (their keys last a minute unless a test says otherwise), so "A is
# alive" holds however slow the machine; a worker that crashes or stalls has its last beat
# give its key a short life instead, which the test then waits out.
LONG_TTL = 60


async def last_beat(presence: RedisPresence) -> None:
    """The worker's last beat before it crashes or stalls: its key lives only a moment more
    (as it would for a whole TTL, only sooner). Its next beat, if any, is a normal one."""
    ttl = presence.worker.ttl
    presence.worker.ttl = 0.2
    await presence.worker.beat()
    presence.worker.ttl = ttl


async def until_swept(presence: RedisPresence) -> list[tuple[str, Change]]:
    """Sweep until a dead worker's heartbeat key has expired and its entries go."""
    return await fetched_until(presence.sweep, bool, what="something swept")


async def test_a_crashed_workers_people_are_swept_once_its_heartbeat_expires(
    redis_workers: RedisWorkers
) -> None:
    a, b = redis_workers(ttl=LONG_TTL), redis_workers(ttl=LONG_TTL)
    assert await a.beat() == [] and await b.beat() == []
    await a.arrive(GATHERING, ALICE)
    await a.arrive(GATHERING, ALICE)  # two tabs on A
    await a.arrive(GATHERING, BJORN)
    await b.arrive(GATHERING, BJORN)  # Bjørn has a tab on B too
    await a.arrive(OTHER, BJORN)
    before = await b.roster(GATHERING)
    assert await b.sweep() == []  # A is alive
    # A crashes: it never beats again, and says no goodbye
    await last_beat(a)
    swept = await until_swept(b)
    # Alice had no other connection; Bjørn left OTHER, where he was only on A
    assert sorted((g, c.person_id, c.joined) for g, c in swept) == [
        (GATHERING, 3, False), (OTHER, 4, False)]
    assert all(c.rev > before.rev for g, c in swept if g == GATHERING)
    after = await b.roster(GATHERING)
    assert after.people == [BJORN]  # present through B
    assert after.rev == max(c.rev for g, c in swept if g == GATHERING)
    assert await b.people(OTHER) == []
    assert await b.sweep() == []  # exactly once
    assert not [k for k in await redis_workers.keys() if a.worker.id in k]
    assert await b.leave(GATHERING, BJORN["person_id"]) is not None  # his last connection


async def test_a_living_worker_sweeps_within_the_ttl_and_reports_who_left(
    redis_workers: RedisWorkers
) -> None:
    # B beats (and sweeps) every 2 s; it would lapse only if stalled for 6
    a, b = redis_workers(ttl=LONG_TTL), redis_workers(ttl=6)
    reported: list[tuple[str, Change]] = []
    async with b.alive(lambda g, c: reported.append((g, c))):
        await last_beat(a)
        await a.arrive(GATHERING, ALICE)
        await b.arrive(GATHERING, BJORN)
        # A never beats again: once its key expires, B's own beat sweeps A's people out
        await eventually(lambda: bool(reported), what="A's people to leave")
        assert [(g, c.person_id, c.joined) for g, c in reported] == [(GATHERING, 3, False)]
        assert await b.people(GATHERING) == [BJORN]
    # a graceful stop takes its own people out at once, and leaves no keys behind
    assert [(g, c.person_id, c.joined) for g, c in reported[1:]] == [(GATHERING, 4, False)]
    assert await redis_workers.keys() == []


async def test_a_stalled_worker_counts_its_connections_again_when_it_wakes(
    redis_workers: RedisWorkers
) -> None:
    a, b = redis_workers(ttl=LONG_TTL), redis_workers(ttl=LONG_TTL)
    await a.beat()
    await a.arrive(GATHERING, ALICE)
    await a.arrive(GATHERING, ALICE)
    await a.arrive(GATHERING, BJORN)
    # A stalls past its key's life: B takes its people out
    await last_beat(a)
    assert sorted(c.person_id for _, c in await until_swept(b)) == [3, 4]
    assert await b.people(GATHERING) == []
    # meanwhile Bjørn's only tab closes on A: already taken out, not taken out twice
    assert await a.leave(GATHERING, BJORN["person_id"]) is None
    # A wakes: its next beat finds its key gone and counts what it still holds
    restored = await a.beat()
    assert [(g, c.person_id, c.person) for g, c in restored] == [(GATHERING, 3, ALICE)]
    assert await a.beat() == []  # alive again: nothing more
    assert await b.people(GATHERING) == [ALICE]
    assert await b.sweep() == []
    # Alice's two tabs are counted exactly: the first to close is not her last
    assert await a.leave(GATHERING, ALICE["person_id"]) is None
    assert await a.leave(GATHERING, ALICE["person_id"]) is not None
    # only A's heartbeat key is left: nothing of the people, nothing to sweep
    assert await redis_workers.keys() == [a.worker.heartbeat_key()]
