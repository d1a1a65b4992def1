"""The forum's part of privacy (rooms/privacy.py): what its tables hold about a person, and
what erasing them deletes there. Their posts (announcements, replies, help requests and
answers, follow-ups) stay, with the author's tombstone, as the notes do: they are the
theme's; what is only theirs (messages, votes, sign-ups, visits, share links) goes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from rooms.forum_models import (
    AdvanceVote,
    ForumMessage,
    SignUp,
    TakeHomeLink,
    ThemeVisit,
)
from rooms.models import Base

#: rows that are the person's alone, deleted when they are erased
THEIRS_ALONE = (AdvanceVote, SignUp, TakeHomeLink, ThemeVisit)
#: columns never shown in the download (secrets' hashes)
HIDDEN = frozenset({"token_hash"})
#: the forum's tables (the live gathering's are gathered by rooms/privacy.py itself)
FORUM_TABLES = ("announcements", "announcement_replies", "follow_ups", "help_requests",
                "help_answers", "forum_messages", "expert_bookings", "advance_questions",
                "advance_votes", "sign_ups", "take_home_links", "theme_visits")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _person_columns(table: Table) -> list[Any]:
    return [column for column in table.columns
            if any(key.column.table.name == "people" for key in column.foreign_keys)]


async def forum_data(session: AsyncSession, person_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row of the forum's tables that names the person, by table, JSON-able."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name in FORUM_TABLES:
        table = Base.metadata.tables[name]
        columns = _person_columns(table)
        rows = await session.execute(
            select(table).where(or_(*(c == person_id for c in columns))))
        found[name] = [{k: _plain(v) for k, v in row._mapping.items() if k not in HIDDEN}
                       for row in rows]
    return found


async def erase_forum(session: AsyncSession, person_id: int) -> None:
    """Delete what is theirs alone: messages to and from them, their votes, sign-ups,
    visits and share links."""
    await session.execute(delete(ForumMessage).where(or_(
        ForumMessage.sender_id == person_id, ForumMessage.recipient_id == person_id)))
    for model in THEIRS_ALONE:
        await session.execute(delete(model).where(model.person_id == person_id))
