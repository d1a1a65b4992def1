"""A project's stage or tags changed: the people of the theme's gatherings who are in the
room now show the stage their municipality's project has now, not the one it had when they
joined (their presence entry, rooms/presence.py, is made at the join)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.models import Gathering
from rooms.presence import Change, Presence
from rooms.projects import current_stages


async def restage(sessions: async_sessionmaker, presence: Presence,
                  theme_id: int) -> list[tuple[str, Change]]:
    """Bring the `stage` and `tags` of everyone present in the theme's gatherings (those not
    cancelled) up to date; answer the changes made, to be broadcast as any presence change."""
    async with sessions() as session:
        gathering_ids = list(await session.scalars(select(Gathering.id).where(
            Gathering.theme_id == theme_id, Gathering.cancelled_at.is_(None))))
    changes: list[tuple[str, Change]] = []
    for gathering_id in gathering_ids:
        people = await presence.people(gathering_id)
        if not people:
            continue
        now = await current_stages(sessions, theme_id, {p["person_id"] for p in people})
        for person in people:
            stage, tags = now.get(person["person_id"], (None, ()))
            change = await presence.update(gathering_id, person["person_id"],
                                           {"stage": stage, "tags": list(tags)})
            if change is not None:
                changes.append((gathering_id, change))
    return changes
