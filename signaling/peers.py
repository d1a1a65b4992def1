"""The media peers of each gathering: browser tabs (socket.io sids) that want audio and
video, shared by every worker process (a Redis hash when REDIS_URL is set, else memory),
and the rule for which of them a new peer is told about.

`MediaPeers` is the logic behind the socket events `media.join`, `media.leave` and
`media.ice` (their socket.io edge is server/sockets/media.py). Which peers may connect is decided
by facilitation.media.may_connect against the gathering's live state, now: a peer that
joined while its group was open is still refused once the groups are recalled. A runner who
is in no group may name the one group they visit; naming another one later is a new visit:
the peers of the last one are told the runner left.

A person has one media presence per gathering: the newest tab's `media.join` replaces their
older peer (a laptop and a phone, or two tabs, would otherwise both send camera and
microphone to the group, and echo). The registry swaps them in one step, so two tabs joining
at once leave exactly one; the older tab is told (`replaced`) and the others see it leave.
Each join has its own `presence` id, which `replaced` names: a tab whose own `media.join` was
on its way when the message came tells whether it lost that join or only an earlier one."""

from __future__ import annotations

import json
import secrets
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
    presence: str = ""  # this join's id, named by the `replaced` that ends it

    @property
    def who(self) -> tuple[int, Role, str | None]:
        return self.person_id, Role(self.role), self.visiting

    def public(self) -> dict[str, Any]:
        return {"peer": self.peer, "person_id": self.person_id, "name": self.name}


class PeerRegistry(Protocol):
    async def add(self, gathering_id: str, peer: Peer) -> list[Peer]:
        """Register a peer as its person's one presence in the gathering: forget the
        person's other peers, and return them."""

    async def remove(self, gathering_id: str, sid: str) -> bool:
        """Forget a peer; True when it was there."""

    async def get(self, gathering_id: str, sid: str) -> Peer | None: ...

    async def all(self, gathering_id: str) -> list[Peer]: ...


class MemoryPeers:
    def __init__(self) -> None:
        self._peers: defaultdict[str, dict[str, Peer]] = defaultdict(dict)

    async def add(self, gathering_id: str, peer: Peer) -> list[Peer]:
        peers = self._peers[gathering_id]
        older = [p for p in peers.values()
                 if p.person_id == peer.person_id and p.peer != peer.peer]
        for old in older:
            del peers[old.peer]
        peers[peer.peer] = peer
        return older

    async def remove(self, gathering_id: str, sid: str) -> bool:
        return self._peers[gathering_id].pop(sid, None) is not None

    async def get(self, gathering_id: str, sid: str) -> Peer | None:
        return self._peers[gathering_id].get(sid)

    async def all(self, gathering_id: str) -> list[Peer]:
        return list(self._peers[gathering_id].values())


# KEYS: the peers hash (sid -> peer), the holders hash (person -> the sid that joined last);
# ARGV: sid, person, peer, ttl. Answers the peer replaced, if it was still one. In one
# step: two tabs joining at once on two workers would otherwise each remove the other. A
# holder that left since stays in the holders hash, and is not a peer to remove any more.
_ADD = """
local previous = redis.call('HGET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
if previous and previous ~= ARGV[1] then
  local older = redis.call('HGET', KEYS[1], previous)
  if older then
    redis.call('HDEL', KEYS[1], previous)
    return older
  end
end
return false
"""


class RedisPeers:
    def __init__(self, redis: Redis, prefix: str = "forum:media") -> None:
        self.redis = redis
        self.prefix = prefix
        self._add = redis.register_script(_ADD)

    def _key(self, gathering_id: str) -> str:
        return f"{self.prefix}:{gathering_id}:peers"

    async def add(self, gathering_id: str, peer: Peer) -> list[Peer]:
        keys = [self._key(gathering_id), f"{self.prefix}:{gathering_id}:holders"]
        older = await self._add(keys=keys, args=[peer.peer, peer.person_id,
                                                 json.dumps(asdict(peer)), PEERS_TTL])
        return [] if older is None else [Peer(**json.loads(older))]

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


def replaced(gathering_id: str, older: Peer) -> dict[str, Any]:
    """The `media` message that tells a tab that another tab of its person took the place
    of its join `older` in the gathering's mesh."""
    return {"gathering": gathering_id, "type": "replaced", "peer": older.peer,
            "presence": older.presence}


Emit = Callable[[str, dict[str, Any], str], Awaitable[None]]  # (event, data, to sid)
Broadcast = Callable[[str, dict[str, Any], str, str], Awaitable[None]]  # (..., room, skip)


class MediaPeers:
    """Joining and leaving the mesh, and the ICE servers each peer gets."""

    def __init__(self, registry: PeerRegistry, ice: IceConfig) -> None:
        self.registry = registry
        self.ice = ice
        self.local: dict[str, set[str]] = {}  # sid on this worker -> gatherings it joined

    async def join(self, sid: str, actor: Actor, gathering_id: str, state: GatheringState,
                   emit: Emit, now: float, *, broadcast: Broadcast,
                   visiting: str | None = None) -> dict[str, Any]:
        me = Peer(sid, actor.person_id, actor.name, actor.role.value, visiting,
                  secrets.token_hex(8))
        before = await self.registry.get(gathering_id, sid)
        older = await self.registry.add(gathering_id, me)
        self.local.setdefault(sid, set()).add(gathering_id)
        for old in older:  # the older tab may be on another worker: `emit` reaches it there
            await emit("media", replaced(gathering_id, old), old.peer)
        moved = before is not None and before.visiting != visiting
        for gone in [*(old.peer for old in older), *([sid] if moved else [])]:
            await broadcast("media", peer_left(gathering_id, gone), media_room(gathering_id), sid)
        allowed = [p for p in await self.registry.all(gathering_id)
                   if p.peer != sid and may_connect(state, me.who, p.who)]
        for peer in allowed:
            await emit("media", {"gathering": gathering_id, "type": "peer_joined",
                                 **me.public()}, peer.peer)
        return {"ok": True, "peer": sid, "presence": me.presence, **self.ice_answer(actor, now),
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
