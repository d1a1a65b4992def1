"""Who is in a gathering's room right now, across all worker processes.

A person may be connected from several tabs or devices; they arrive with their first
connection and leave with their last. With Redis the counts are shared by all workers
(python-socketio's own participant list only sees local clients)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Protocol

from redis.asyncio import Redis


class Presence(Protocol):
    async def arrive(self, gathering_id: str, person: dict[str, Any]) -> bool:
        """Count one more connection; True when it is the person's first."""

    async def leave(self, gathering_id: str, person_id: int) -> bool:
        """Count one connection less; True when it was the person's last."""

    async def people(self, gathering_id: str) -> list[dict[str, Any]]: ...


class MemoryPresence:
    def __init__(self) -> None:
        self._counts: defaultdict[str, dict[int, int]] = defaultdict(dict)
        self._people: defaultdict[str, dict[int, dict[str, Any]]] = defaultdict(dict)

    async def arrive(self, gathering_id: str, person: dict[str, Any]) -> bool:
        counts = self._counts[gathering_id]
        person_id = person["person_id"]
        counts[person_id] = counts.get(person_id, 0) + 1
        self._people[gathering_id][person_id] = person
        return counts[person_id] == 1

    async def leave(self, gathering_id: str, person_id: int) -> bool:
        counts = self._counts[gathering_id]
        counts[person_id] = counts.get(person_id, 0) - 1
        if counts[person_id] > 0:
            return False
        counts.pop(person_id, None)
        self._people[gathering_id].pop(person_id, None)
        return True

    async def people(self, gathering_id: str) -> list[dict[str, Any]]:
        return list(self._people[gathering_id].values())


# Decrement and, at zero, forget the person in one step: as two commands, an arrival on
# another worker in between (a page reload) was wiped out by the second one.
LEAVE = """
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left > 0 then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""


class RedisPresence:
    def __init__(self, redis: Redis, prefix: str = "forum:presence") -> None:
        self.redis = redis
        self.prefix = prefix
        self._leave = redis.register_script(LEAVE)

    def _keys(self, gathering_id: str) -> tuple[str, str]:
        return f"{self.prefix}:{gathering_id}:count", f"{self.prefix}:{gathering_id}:people"

    async def arrive(self, gathering_id: str, person: dict[str, Any]) -> bool:
        count_key, people_key = self._keys(gathering_id)
        person_id = str(person["person_id"])
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(count_key, person_id, 1)
            pipe.hset(people_key, person_id, json.dumps(person))
            count, _ = await pipe.execute()
        return int(count) == 1

    async def leave(self, gathering_id: str, person_id: int) -> bool:
        last = await self._leave(keys=list(self._keys(gathering_id)), args=[str(person_id)])
        return bool(int(last))

    async def people(self, gathering_id: str) -> list[dict[str, Any]]:
        _, people_key = self._keys(gathering_id)
        raw = await self.redis.hvals(people_key)
        return [json.loads(value) for value in raw]
