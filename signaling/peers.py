"""The media peers of each gathering: browser tabs (socket.io sids) that want audio and
video, shared by every worker process (a Redis hash when REDIS_URL is set, else memory),
and the rule for which of them a new peer is told about.

`MediaPeers` is the logic behind the socket events `media.join`, `media.leave` and
`media.ice` (their socket.io edge is server/sockets/media.py). Which peers may connect is decided
by facilitation.media.may_connect against the gathering's live state, now: a peer that
joined while its group was open is still refused once the groups are recalled. A runner who
is in no group may name the one group they visit; naming another one later is a new visit:
the peers of the last one are told the runner left."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from redis.asyncio import Redis

from facilitation import Actor, GatheringState
from facilitation.media import may_connect
from facilitation.roles import Role
from signaling.ice import IceConfig

PEERS_TTL = 24 * 3600  # a gathering's peer hash outlives no meeting (a crashed worker's sids)


@dataclass(frozen=True)
class Peer:
    peer: str  # the socket.io sid of the browser tab
    person_id: int
    name: str
    role: str
    visiting: str | None = None  # the group a runner in no group visits (None: any)

    @property
    def who(self) -> tuple[int, Role, str | None]:
        return self.person_id, Role(self.role), self.visiting

    def public(self) -> dict[str, Any]:
        return {"peer": self.peer, "person_id": self.person_id, "name": self.name}


class PeerRegistry(Protocol):
    async def add(self, gathering_id: str, peer: Peer) -> None: ...

    async def remove(self, gathering_id: str, sid: str) -> bool:
        """Forget a peer; True when it was there."""

    async def get(self, gathering_id: str, sid: str) -> Peer | None: ...

    async def all(self, gathering_id: str) -> list[Peer]: ...


class MemoryPeers:
    def __init__(self) -> None:
        self._peers: defaultdict[str, dict[str, Peer]] = defaultdict(dict)

    async def add(self, gathering_id: str, peer: Peer) -> None:
        self._peers[gathering_id][peer.peer] = peer

    async def remove(self, gathering_id: str, sid: str) -> bool:
        return self._peers[gathering_id].pop(sid, None) is not None

    async def get(self, gathering_id: str, sid: str) -> Peer | None:
        return self._peers[gathering_id].get(sid)

    async def all(self, gathering_id: str) -> list[Peer]:
        return list(self._peers[gathering_id].values())


class RedisPeers:
    def __init__(self, redis: Redis, prefix: str = "forum:media") -> None:
        self.redis = redis
        self.prefix = prefix

    def _key(self, gathering_id: str) -> str:
        return f"{self.prefix}:{gathering_id}:peers"

    async def add(self, gathering_id: str, peer: Peer) -> None:
        key = self._key(gathering_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, peer.peer, json.dumps(asdict(peer)))
            pipe.expire(key, PEERS_TTL)
            await pipe.execute()

    async def remove(self, gathering_id: str, sid: str) -> bool:
        return bool(await self.redis.hdel(self._key(gathering_id), sid))

    async def get(self, gathering_id: str, sid: str) -> Peer | None:
        raw = await self.redis.hget(self._key(gathering_id), sid)
        return None if raw is None else Peer(**json.loads(raw))

    async def all(self, gathering_id: str) -> list[Peer]:
        raw = await self.redis.hvals(self._key(gathering_id))
        return [Peer(**json.loads(value)) for value in raw]


def media_room(gathering_id: str) -> str:
    """The socket.io room of a gathering's media peers (peer_left goes to all of them)."""
    return f"m:{gathering_id}"


def peer_left(gathering_id: str, sid: str) -> dict[str, Any]:
    """The `media` message that tells a gathering's media peers that `sid` left."""
    return {"gathering": gathering_id, "type": "peer_left", "peer": sid}


Emit = Callable[[str, dict[str, Any], str], Awaitable[None]]  # (event, data, to sid)
Broadcast = Callable[[str, dict[str, Any], str, str], Awaitable[None]]  # (..., room, skip)


class MediaPeers:
    """Joining and leaving the mesh, and the ICE servers each peer gets."""

    def __init__(self, registry: PeerRegistry, ice: IceConfig) -> None:
        self.registry = registry
        self.ice = ice
        self.local: dict[str, set[str]] = {}  # sid on this worker -> gatherings it joined

    async def join(self, sid: str, actor: Actor, gathering_id: str, state: GatheringState,
                   emit: Emit, now: float, *, visiting: str | None = None,
                   broadcast: Broadcast | None = None) -> dict[str, Any]:
        me = Peer(sid, actor.person_id, actor.name, actor.role.value, visiting)
        before = await self.registry.get(gathering_id, sid)
        await self.registry.add(gathering_id, me)
        self.local.setdefault(sid, set()).add(gathering_id)
        if before is not None and before.visiting != visiting and broadcast is not None:
            await broadcast("media", peer_left(gathering_id, sid), media_room(gathering_id), sid)
        allowed = [p for p in await self.registry.all(gathering_id)
                   if p.peer != sid and may_connect(state, me.who, p.who)]
        for peer in allowed:
            await emit("media", {"gathering": gathering_id, "type": "peer_joined",
                                 **me.public()}, peer.peer)
        return {"ok": True, "peer": sid, **self.ice_answer(actor, now),
                "peers": [p.public() for p in allowed]}

    def ice_answer(self, actor: Actor, now: float) -> dict[str, Any]:
        return {"ice_servers": self.ice.servers(actor.person_id, now),
                "ice_ttl": self.ice.turn_ttl}

    async def leave(self, sid: str, gathering_id: str, broadcast: Broadcast) -> bool:
        joined = self.local.get(sid)
        if joined is not None:
            joined.discard(gathering_id)
            if not joined:
                del self.local[sid]
        if not await self.registry.remove(gathering_id, sid):
            return False
        await broadcast("media", peer_left(gathering_id, sid), media_room(gathering_id), sid)
        return True

    def joined(self, sid: str) -> set[str]:
        return set(self.local.get(sid, ()))
