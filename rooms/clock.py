"""The server's clock: it ticks every live gathering this process holds, through the same
command path as people, so deadlines and one-minute warnings happen once, on time.

Every worker ticks the gatherings it holds; the decision is idempotent (a warning given
is remembered in the state), so two workers ticking at once cause one event."""

from __future__ import annotations

import asyncio
import logging

from facilitation import Actor, Phase, Role, decide
from facilitation.commands import Tick
from rooms.faults import Faults
from rooms.live import LiveRooms

log = logging.getLogger(__name__)
SYSTEM = Actor(person_id=0, name="Klimasats-forum", role=Role.SYSTEM)
TICK = Tick()


def _due(live: LiveRooms) -> list[str]:
    """Gatherings whose tick would cause an event now (decided in memory, no I/O)."""
    now = live.clock()
    due = []
    for state in live.cached():
        if state.phase is Phase.LIVE and decide(state, SYSTEM, TICK, now)[1]:
            due.append(state.gathering_id)
    return due


async def run_clock(live: LiveRooms, faults: Faults, interval: float = 1.0) -> None:
    while True:
        await asyncio.sleep(interval)
        for gathering_id in _due(live):
            try:
                await live.execute(SYSTEM, gathering_id, TICK)
            except Exception as exc:  # one gathering's trouble must not stop the others'
                if not faults.failed(exc):  # an outage is logged once, not every second
                    log.exception("tick failed for gathering %s", gathering_id)
