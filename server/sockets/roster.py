"""The presence part of a join's snapshot, encoded once per presence revision and shared by
everyone joining at that revision (a thousand people joining in one minute would otherwise
encode half a million entries).

Up to `PRESENCE_NAMED` people present, and always for those who run the gathering, the
snapshot carries everyone's entry. In a larger room a participant's snapshot names their own
municipality's people and those who run or speak, and gives everyone else as person ids by
municipality (`presence_others`; docs/protocol.md, "Presence")."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson

from facilitation import Actor
from facilitation.roles import RUNNERS
from facilitation.snapshot import PRESENCE_NAMED, presence_part
from rooms.presence import Presence


@dataclass
class EncodedRoster:
    """One gathering's presence at one revision, encoded as each kind of viewer gets it."""

    people: list[dict[str, Any]]
    rev: int
    read_at: float  # monotonic, when it was asked of presence
    _parts: dict[str | None, dict[str, Any]] = field(default_factory=dict)

    @cached_property
    def everyone(self) -> dict[str, Any]:
        return {"presence": orjson.Fragment(orjson.dumps(self.people)), "presence_rev": self.rev}

    def part(self, municipality: str | None) -> dict[str, Any]:
        part = self._parts.get(municipality)
        if part is None:
            named, others = presence_part(self.people, municipality)
            part = self._parts[municipality] = {
                "presence": orjson.Fragment(orjson.dumps(named)),
                "presence_others": orjson.Fragment(orjson.dumps(others)),
                "presence_rev": self.rev}
        return part


class Rosters:
    def __init__(self, presence: Presence) -> None:
        self.presence = presence
        self._latest: dict[str, EncodedRoster] = {}  # per gathering, its latest revision

    async def for_snapshot(self, gathering_id: str, viewer: Actor,
                           entered: float) -> dict[str, Any]:
        """The snapshot's `presence`, `presence_rev` and, in a large room, `presence_others`
        for `viewer`, whose connection entered the room at `entered` (monotonic).

        A roster read after that moment is recent enough, even if people came and went
        since: their changes carry revisions above the roster's and are broadcast to the
        room after they happen, which the connection was in by then; the client applies
        them on top (docs/protocol.md, "Presence"). Everyone answered after one commit of
        arrivals thus shares one read and one encoding."""
        roster = self._latest.get(gathering_id)
        if roster is None or roster.read_at < entered:
            read_at = time.monotonic()
            read = await self.presence.roster(gathering_id)
            roster = self._latest[gathering_id] = EncodedRoster(read.people, read.rev, read_at)
        if len(roster.people) <= PRESENCE_NAMED or viewer.role in RUNNERS:
            return roster.everyone
        return roster.part(viewer.municipality)
