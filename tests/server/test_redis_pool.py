"""A worker's Redis connections under a storm: more callers at once than it keeps
connections wait their turn; none fails as if Redis were down (redis-py's default pool
refuses the 101st caller at once, which refused a third of a 300-person join storm)."""

from __future__ import annotations

import asyncio
import uuid

from rooms.presence import RedisPresence
from server.app import REDIS_CONNECTIONS, create_app
from server.keys import ENGINE, SOCKETS
from server.settings import Settings

CALLERS = 3 * REDIS_CONNECTIONS  # and more than redis-py's default of 100


async def test_more_callers_than_connections_wait_their_turn(sqlite_url: str,
                                                            redis_url: str) -> None:
    app = create_app(Settings(database_url=sqlite_url, secret_key="test-secret",
                              redis_url=redis_url, redis_prefix=f"pool-{uuid.uuid4().hex}"))
    presence = app[SOCKETS].presence
    assert isinstance(presence, RedisPresence)
    redis, empty = presence.redis, f"pool-test-{uuid.uuid4().hex}"
    try:
        # each holds its connection for a moment, as a busy presence call does
        answers = await asyncio.gather(*(redis.blpop([empty], timeout=0.2)
                                         for _ in range(CALLERS)))
        assert answers == [None] * CALLERS
    finally:
        await redis.aclose()
        await app[ENGINE].dispose()
