"""The store of microphone and camera states, in memory and in a real Redis: last write
per person wins, a closed tab forgets only what it wrote last, and memory stays bounded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from signaling.media_state import MediaState, MediaStates, MemoryMediaStates, RedisMediaStates


@pytest.fixture
async def redis_states(redis_url: str) -> AsyncIterator[RedisMediaStates]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    prefix = f"forum-test-{uuid.uuid4().hex}:media-state"
    try:
        yield RedisMediaStates(redis, prefix=prefix)
    finally:
        keys = [key async for key in redis.scan_iter(f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


@pytest.fixture(params=["memory", "redis"])
def states(request: pytest.FixtureRequest) -> MediaStates:
    if request.param == "memory":
        return MemoryMediaStates()
    redis_states: MediaStates = request.getfixturevalue("redis_states")
    return redis_states


async def test_the_last_state_of_each_person_wins(states: MediaStates) -> None:
    await states.put("g1", MediaState(7, True, True, "tab-a"))
    await states.put("g1", MediaState(7, False, True, "tab-b"))
    await states.put("g1", MediaState(8, True, False, "tab-c"))
    await states.put("g2", MediaState(9, True, True, "tab-d"))
    assert sorted(await states.all("g1"), key=lambda s: s.person_id) == [
        MediaState(7, False, True, "tab-b"), MediaState(8, True, False, "tab-c")]
    assert await states.all("nowhere") == []


async def test_a_tab_forgets_only_what_it_wrote_last(states: MediaStates) -> None:
    await states.put("g1", MediaState(7, True, True, "tab-a"))
    await states.put("g1", MediaState(7, False, True, "tab-b"))
    await states.forget("g1", 7, "tab-a")  # another tab of the person wrote since
    assert [s.sid for s in await states.all("g1")] == ["tab-b"]
    await states.forget("g1", 7, "tab-b")
    await states.forget("g1", 8, "tab-b")  # nothing there: nothing happens
    assert await states.all("g1") == []


async def test_memory_keeps_the_most_recent_gatherings_and_people() -> None:
    states = MemoryMediaStates(max_gatherings=2, max_people=2)
    for person in (1, 2, 3):
        await states.put("g1", MediaState(person, True, True, f"tab-{person}"))
    assert [s.person_id for s in await states.all("g1")] == [2, 3]
    await states.put("g2", MediaState(1, True, True, "x"))
    await states.put("g3", MediaState(1, True, True, "y"))
    assert await states.all("g1") == []  # the gathering used longest ago went
    assert len(await states.all("g3")) == 1
