"""A gathering's committed events, sent to its room in version order: one `event`, or one
`events` message for a commit of several (docs/protocol.md, "Events and versions").

In a large room, arrivals (`attendee.arrived`: the log's record that someone came, which
clients only count as a version) are held for up to `HELD_SECONDS` and go out with the next
broadcast, or alone when that time is up. A thousand people joining within a few seconds
would otherwise make a broadcast to the whole room after every commit of arrivals: about a
hundred messages to each of a thousand people, the largest cost of the storm."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import socketio

from rooms.channels import room_of

HELD_TYPES = frozenset({"attendee.arrived"})
LARGE_ROOM = 100  # connections of this worker in the gathering's room
HELD_SECONDS = 0.25


class Broadcast:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio
        self._held: dict[str, list[dict[str, Any]]] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}
        # one sender at a time per gathering, so what is held never overtakes what follows
        self._turns: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def send(self, gathering_id: str, events: list[dict[str, Any]]) -> None:
        async with self._turns[gathering_id]:
            held = self._held.pop(gathering_id, [])
            if self._may_wait(gathering_id, events):
                self._held[gathering_id] = held + events
                if gathering_id not in self._timers:
                    self._timers[gathering_id] = asyncio.create_task(self._later(gathering_id))
                return
            await self._emit(gathering_id, held + events)

    def _may_wait(self, gathering_id: str, events: list[dict[str, Any]]) -> bool:
        if not all(event["type"] in HELD_TYPES for event in events):
            return False
        room = self.sio.manager.rooms.get("/", {}).get(room_of(gathering_id), ())
        return len(room) > LARGE_ROOM

    async def _later(self, gathering_id: str) -> None:
        try:
            await asyncio.sleep(HELD_SECONDS)
            async with self._turns[gathering_id]:
                held = self._held.pop(gathering_id, [])
                if held:
                    await self._emit(gathering_id, held)
        finally:
            self._timers.pop(gathering_id, None)

    async def _emit(self, gathering_id: str, events: list[dict[str, Any]]) -> None:
        if len(events) == 1:
            await self.sio.emit("event", events[0], room=room_of(gathering_id))
        else:
            await self.sio.emit("events", {"gathering": gathering_id, "events": events},
                                room=room_of(gathering_id))
