"""Whose microphone and camera are on: the last media state each person of a gathering
announced (`media.state`), shared by every worker process (a Redis hash when REDIS_URL is
set, else a small bounded map in memory), so a tab that starts watching learns the states
of the people already sending (`media.states`). The socket.io edge is server/sockets/media_state.py.

A state is ephemeral and the browser is its source of truth: each tab announces its state
whenever it changes and whenever it starts sending media, so a lost or stale entry is
corrected by the next announcement. An entry remembers the tab (sid) that wrote it, and
that tab's disconnection forgets it unless another tab of the person wrote since."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Protocol

from pydantic import Field
from redis.asyncio import Redis

from signaling.relay import GatheringId, Strict

STATES_TTL = 24 * 3600  # a gathering's state hash outlives no meeting
MAX_GATHERINGS = 256  # gatherings whose states one process keeps in memory (no Redis)
MAX_PEOPLE = 1000  # people per gathering whose states are kept
STATES_PER_SECOND = 5  # media.state, media.states and media.mute share one budget
STATES_BURST = 20

PersonId = Annotated[int, Field(ge=1, le=2**53)]


class MediaStateIn(Strict):
    """`media.state`: what this tab sends now; true means on (not muted, camera on)."""

    gathering: GatheringId
    audio: bool
    video: bool


class MuteRequest(Strict):
    """`media.mute`: a runner asks a person's tabs to mute their microphone."""

    gathering: GatheringId
    person_id: PersonId


@dataclass(frozen=True)
class MediaState:
    person_id: int
    audio: bool
    video: bool
    sid: str  # the tab that announced it; never sent to clients

    def public(self, gathering_id: str) -> dict[str, Any]:
        return {"gathering": gathering_id, "person_id": self.person_id,
                "audio": self.audio, "video": self.video}


class MediaStates(Protocol):
    async def put(self, gathering_id: str, state: MediaState) -> None: ...

    async def all(self, gathering_id: str) -> list[MediaState]: ...

    async def forget(self, gathering_id: str, person_id: int, sid: str) -> None:
        """Drop the person's state if the tab `sid` wrote it last."""


class MemoryMediaStates:
    """One process: the states of the MAX_GATHERINGS gatherings used most recently."""

    def __init__(self, max_gatherings: int = MAX_GATHERINGS,
                 max_people: int = MAX_PEOPLE) -> None:
        self.max_gatherings = max_gatherings
        self.max_people = max_people
        self._states: OrderedDict[str, OrderedDict[int, MediaState]] = OrderedDict()

    def _gathering(self, gathering_id: str) -> OrderedDict[int, MediaState]:
        states = self._states.setdefault(gathering_id, OrderedDict())
        self._states.move_to_end(gathering_id)
        while len(self._states) > self.max_gatherings:
            self._states.popitem(last=False)
        return states

    async def put(self, gathering_id: str, state: MediaState) -> None:
        states = self._gathering(gathering_id)
        states[state.person_id] = state
        states.move_to_end(state.person_id)
        while len(states) > self.max_people:
            states.popitem(last=False)

    async def all(self, gathering_id: str) -> list[MediaState]:
        return list(self._states.get(gathering_id, {}).values())

    async def forget(self, gathering_id: str, person_id: int, sid: str) -> None:
        states = self._states.get(gathering_id)
        if states is not None and person_id in states and states[person_id].sid == sid:
            del states[person_id]


# Delete the person's entry only if it is still the one this tab wrote (another tab of the
# same person, on any worker, may have announced since).
_FORGET = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw and cjson.decode(raw)['sid'] == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


class RedisMediaStates:
    """Every worker: one hash per gathering, person id -> the state as JSON."""

    def __init__(self, redis: Redis, prefix: str = "forum:media-state",
                 max_people: int = MAX_PEOPLE) -> None:
        self.redis = redis
        self.prefix = prefix
        self.max_people = max_people

    def _key(self, gathering_id: str) -> str:
        return f"{self.prefix}:{gathering_id}"

    async def put(self, gathering_id: str, state: MediaState) -> None:
        key = self._key(gathering_id)
        if await self.redis.hlen(key) >= self.max_people and not await self.redis.hexists(
                key, str(state.person_id)):
            return  # full: the announcement still reaches everyone, only late joiners miss it
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, str(state.person_id), json.dumps(asdict(state)))
            pipe.expire(key, STATES_TTL)
            await pipe.execute()

    async def all(self, gathering_id: str) -> list[MediaState]:
        raw = await self.redis.hvals(self._key(gathering_id))
        return [MediaState(**json.loads(value)) for value in raw]

    async def forget(self, gathering_id: str, person_id: int, sid: str) -> None:
        await self.redis.eval(_FORGET, 1, self._key(gathering_id), str(person_id), sid)
