"""Gathering headers as the socket layer reads them on every join: from the database at most
once per `HEADER_SECONDS` per gathering in each worker, so a thousand people joining at once
cost one read, not a thousand. Concurrent reads of one header wait for the same query.

An edit or a cancellation made through this worker's pages is seen at once (`forget`); one
made on another worker or from the command line within `HEADER_SECONDS`. The room's own
state never comes from here: it is the event log's."""

from __future__ import annotations

from functools import partial

from async_lru import alru_cache
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.directory import GatheringHeader, gathering_header

HEADER_SECONDS = 2.0


class Headers:
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._read = alru_cache(maxsize=1024, ttl=HEADER_SECONDS)(
            partial(gathering_header, sessions))

    async def get(self, gathering_id: str) -> GatheringHeader | None:
        return await self._read(gathering_id)

    def forget(self, gathering_id: str) -> None:
        """The gathering's row changed here: read it afresh next time."""
        self._read.cache_invalidate(gathering_id)
