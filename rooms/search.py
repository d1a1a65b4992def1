"""The archive's search: one module, two back ends (PostgreSQL full-text search with the
`norwegian` configuration; SQLite FTS5), behind one function. Every area that writes
something findable calls `index` (or `unindex`) in the same transaction as its write.

(being built: the full-text index and `search`; `index`/`unindex` are the contract.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from rooms.forum_models import SearchDoc


@dataclass(frozen=True)
class Findable:
    """One thing the archive finds. `kind`: summary, note, question, help, answer,
    announcement, reply, recording; `ref` its key within the kind; `url` the exact place
    (with an #anchor); who may read it: see SearchDoc."""

    kind: str
    ref: str
    title: str
    body: str
    url: str
    year: int
    created_at: datetime
    theme_id: int | None
    gathering_id: str | None = None
    stage: str | None = None
    tags: tuple[str, ...] = ()
    audience: tuple[int, ...] = ()


async def index(session: AsyncSession, item: Findable) -> None:
    """Add `item` to the archive, or replace what was indexed under its kind and ref."""
    row = await session.scalar(select(SearchDoc).where(
        SearchDoc.kind == item.kind, SearchDoc.ref == item.ref))
    if row is None:
        row = SearchDoc(kind=item.kind, ref=item.ref)
        session.add(row)
    row.title, row.body, row.url, row.year = item.title, item.body, item.url, item.year
    row.created_at, row.theme_id, row.gathering_id = item.created_at, item.theme_id, \
        item.gathering_id
    row.stage, row.tags, row.audience = item.stage, list(item.tags), list(item.audience)
    await session.flush()


async def unindex(session: AsyncSession, kind: str, ref: str) -> None:
    await session.execute(delete(SearchDoc).where(SearchDoc.kind == kind, SearchDoc.ref == ref))
