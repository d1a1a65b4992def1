"""Announcements from the facilitator: to a theme, to chosen municipalities of it, or (the
programme lead) to every theme; replies under each. One function per action; each checks
the person's rights by the rules of facilitation/forum_rights.py and raises
`AnnouncementError` when they refuse. Every announcement and reply is indexed in the
archive (rooms/search.py) in the same transaction as its write, with the same audience.

Who is who for an announcement to every theme (`theme_id` None): the programme lead runs
it, everyone with a role in any theme reads it (and may reply), and nobody narrows it to
municipalities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitation.forum_rights import (
    may_delete_post,
    may_post_announcement,
    may_read_announcement,
    may_reply,
)
from facilitation.roles import Role
from rooms.forum_models import Announcement, AnnouncementReply
from rooms.models import Membership, Municipality, Person, Project, Theme
from rooms.refusals import Refusal
from rooms.search import Findable, index, unindex

MAX_TITLE = 200
MAX_BODY = 20_000
MAX_REPLY = 5_000
ANNOUNCEMENT, REPLY = "announcement", "reply"  # their kinds in the archive
NORWAY = ZoneInfo("Europe/Oslo")  # an announcement's year is Norway's


class AnnouncementError(Refusal):
    """A refusal. `code`: not_allowed, not_found, bounds (a title, a text too long or
    empty), audience (a municipality not of the theme, or one chosen for every theme)."""


@dataclass(frozen=True)
class AnnouncementView:
    id: int
    theme_id: int | None  # None: to every theme
    title: str
    body: str  # Markdown, as written
    author: str | None  # None: the author's account is gone
    author_id: int | None
    created_at: datetime
    municipality_ids: tuple[int, ...]  # empty: the whole theme
    audience: tuple[str, ...]  # the chosen municipalities' names
    emailed: bool
    replies: int
    may_delete: bool

    @property
    def every_theme(self) -> bool:
        return self.theme_id is None


@dataclass(frozen=True)
class ReplyView:
    id: int
    author: str | None
    author_id: int | None
    body: str
    created_at: datetime
    may_delete: bool


@dataclass(frozen=True)
class Thread:
    announcement: AnnouncementView
    replies: list[ReplyView]
    may_reply: bool


def announcement_url(slug: str | None, announcement_id: int) -> str:
    """Where an announcement is read: in its theme, or (to every theme) under /announcements,
    which sends each reader on to one of their themes."""
    if slug is None:
        return f"/announcements/{announcement_id}"
    return f"/themes/{slug}/announcements/{announcement_id}"


async def reader_role(session: AsyncSession, person: Person, theme_id: int | None) -> Role | None:
    """The person's role for announcements of `theme_id` (None: to every theme, where
    everyone but the lead is a reader)."""
    if person.is_programme_lead:
        return Role.PROGRAMME_LEAD
    if theme_id is None:
        member = await session.scalar(select(Membership.id).where(
            Membership.person_id == person.id).limit(1))
        return None if member is None else Role.PARTICIPANT
    role = await session.scalar(select(Membership.role).where(
        Membership.person_id == person.id, Membership.theme_id == theme_id))
    return None if role is None else Role(role)


async def theme_municipalities(sessions: async_sessionmaker,
                               theme_id: int) -> list[Municipality]:
    """The municipalities an announcement may be narrowed to: those with a project in the
    theme or a member in it, by name."""
    async with sessions() as session:
        return await _theme_municipalities(session, theme_id)


async def _theme_municipalities(session: AsyncSession, theme_id: int) -> list[Municipality]:
    with_projects = select(Project.municipality_id).where(Project.theme_id == theme_id)
    with_members = (select(Person.municipality_id)
                    .join(Membership, Membership.person_id == Person.id)
                    .where(Membership.theme_id == theme_id, Person.municipality_id.is_not(None)))
    rows = await session.scalars(select(Municipality).where(
        or_(Municipality.id.in_(with_projects), Municipality.id.in_(with_members)))
        .order_by(Municipality.name))
    return list(rows)


def _text(value: str, limit: int, *, one_line: bool = False) -> str:
    text = " ".join(value.split()) if one_line else value.strip()
    if not text or len(text) > limit:
        raise AnnouncementError("bounds", f"1 to {limit} characters")
    return text


async def _slug(session: AsyncSession, theme_id: int | None) -> str | None:
    if theme_id is None:
        return None
    return await session.scalar(select(Theme.slug).where(Theme.id == theme_id))


def _year(moment: datetime) -> int:
    return moment.astimezone(NORWAY).year


async def _index_announcement(session: AsyncSession, row: Announcement) -> str:
    url = announcement_url(await _slug(session, row.theme_id), row.id)
    await index(session, Findable(
        kind=ANNOUNCEMENT, ref=str(row.id), title=row.title, body=row.body,
        url=f"{url}#announcement-{row.id}", year=_year(row.created_at),
        created_at=row.created_at, theme_id=row.theme_id,
        audience=tuple(row.municipality_ids or ())))
    return url


async def post_announcement(sessions: async_sessionmaker, person: Person, *,
                            theme_id: int | None, title: str, body: str,
                            municipality_ids: tuple[int, ...] = (),
                            now: datetime | None = None) -> Announcement:
    """A new announcement to the theme (or to every theme), indexed in the archive."""
    title, body = _text(title, MAX_TITLE, one_line=True), _text(body, MAX_BODY)
    chosen = sorted(set(municipality_ids))
    async with sessions() as session, session.begin():
        role = await reader_role(session, person, theme_id)
        if not may_post_announcement(role, every_theme=theme_id is None):
            raise AnnouncementError("not_allowed")
        if theme_id is not None and await session.get(Theme, theme_id) is None:
            raise AnnouncementError("not_found")
        if chosen:
            allowed = set() if theme_id is None else {
                m.id for m in await _theme_municipalities(session, theme_id)}
            if not set(chosen) <= allowed:
                raise AnnouncementError("audience")
        row = Announcement(theme_id=theme_id, author_id=person.id, title=title, body=body,
                           municipality_ids=chosen, emailed=False,
                           created_at=now or datetime.now(UTC))
        session.add(row)
        await session.flush()
        await _index_announcement(session, row)
    return row


async def _readable(session: AsyncSession, person: Person,
                    announcement_id: int) -> tuple[Announcement, Role | None]:
    """The announcement and the person's role for it; not_found also when they may not
    read it (its existence is not theirs to know)."""
    row = await session.get(Announcement, announcement_id)
    if row is None:
        raise AnnouncementError("not_found")
    role = await reader_role(session, person, row.theme_id)
    if not may_read_announcement(role, person.municipality_id, row.municipality_ids or ()):
        raise AnnouncementError("not_found")
    return row, role


async def _index_reply(session: AsyncSession, row: Announcement, reply: AnnouncementReply,
                       url: str) -> None:
    await index(session, Findable(
        kind=REPLY, ref=str(reply.id), title=row.title, body=reply.body,
        url=f"{url}#reply-{reply.id}", year=_year(reply.created_at),
        created_at=reply.created_at, theme_id=row.theme_id,
        audience=tuple(row.municipality_ids or ())))


async def reindex(sessions: async_sessionmaker) -> int:
    """Every announcement and reply into the archive again (after the index was rebuilt);
    how many were indexed."""
    count = 0
    async with sessions() as session, session.begin():
        rows = list(await session.scalars(select(Announcement).order_by(Announcement.id)))
        for row in rows:
            url = await _index_announcement(session, row)
            replies = await session.scalars(select(AnnouncementReply).where(
                AnnouncementReply.announcement_id == row.id))
            for reply in replies:
                await _index_reply(session, row, reply, url)
                count += 1
            count += 1
    return count


async def post_reply(sessions: async_sessionmaker, person: Person, announcement_id: int,
                     body: str, now: datetime | None = None) -> AnnouncementReply:
    """A reply under an announcement the person may read, indexed with its audience."""
    body = _text(body, MAX_REPLY)
    async with sessions() as session, session.begin():
        row, role = await _readable(session, person, announcement_id)
        if not may_reply(role, person.municipality_id, row.municipality_ids or ()):
            raise AnnouncementError("not_allowed")
        reply = AnnouncementReply(announcement_id=row.id, author_id=person.id, body=body,
                                  created_at=now or datetime.now(UTC))
        session.add(reply)
        await session.flush()
        await _index_reply(session, row, reply,
                           announcement_url(await _slug(session, row.theme_id), row.id))
    return reply


async def delete_announcement(sessions: async_sessionmaker, person: Person,
                              announcement_id: int) -> None:
    """Its author or the theme's runners: the announcement, its replies and their places in
    the archive."""
    async with sessions() as session, session.begin():
        row, role = await _readable(session, person, announcement_id)
        if not may_delete_post(role, is_author=row.author_id == person.id):
            raise AnnouncementError("not_allowed")
        replies = list(await session.scalars(select(AnnouncementReply).where(
            AnnouncementReply.announcement_id == row.id)))
        for reply in replies:
            await unindex(session, REPLY, str(reply.id))
            await session.delete(reply)
        await unindex(session, ANNOUNCEMENT, str(row.id))
        await session.delete(row)


async def delete_reply(sessions: async_sessionmaker, person: Person, reply_id: int) -> int:
    """Its author or the theme's runners; returns the announcement's id."""
    async with sessions() as session, session.begin():
        reply = await session.get(AnnouncementReply, reply_id)
        if reply is None:
            raise AnnouncementError("not_found")
        _row, role = await _readable(session, person, reply.announcement_id)
        if not may_delete_post(role, is_author=reply.author_id == person.id):
            raise AnnouncementError("not_allowed")
        await unindex(session, REPLY, str(reply.id))
        await session.delete(reply)
        return reply.announcement_id


async def mark_emailed(sessions: async_sessionmaker, announcement_id: int) -> None:
    """The announcement went out by e-mail to its audience (the instant notices skip it)."""
    async with sessions() as session, session.begin():
        row = await session.get(Announcement, announcement_id)
        if row is not None:
            row.emailed = True


# --- reading --------------------------------------------------------------------------------


async def _names(session: AsyncSession, ids: set[int], model: type[Person] | type[Municipality]
                 ) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(model.id, model.name).where(model.id.in_(ids)))
    return {i: name for i, name in rows}


async def _views(session: AsyncSession, person: Person, rows: list[Announcement],
                 role: Role | None) -> list[AnnouncementView]:
    ids = [row.id for row in rows]
    counts: dict[int, int] = {}
    if ids:
        counts = {i: n for i, n in await session.execute(
            select(AnnouncementReply.announcement_id, func.count())
            .where(AnnouncementReply.announcement_id.in_(ids))
            .group_by(AnnouncementReply.announcement_id))}
    authors = await _names(session, {r.author_id for r in rows if r.author_id}, Person)
    places = await _names(session, {m for r in rows for m in r.municipality_ids or ()},
                          Municipality)
    every_role = (await reader_role(session, person, None)
                  if any(row.theme_id is None for row in rows) else None)
    views = []
    for row in rows:
        row_role = role if row.theme_id is not None else every_role
        views.append(AnnouncementView(
            id=row.id, theme_id=row.theme_id, title=row.title, body=row.body,
            author=authors.get(row.author_id) if row.author_id else None,
            author_id=row.author_id, created_at=row.created_at,
            municipality_ids=tuple(row.municipality_ids or ()),
            audience=tuple(sorted(places.get(m, "") for m in row.municipality_ids or ())),
            emailed=row.emailed, replies=counts.get(row.id, 0),
            may_delete=may_delete_post(row_role, is_author=row.author_id == person.id)))
    return views


async def announcements_for(sessions: async_sessionmaker, person: Person, theme_id: int,
                            *, limit: int | None = None,
                            offset: int = 0) -> list[AnnouncementView]:
    """What the person may read in the theme (its own and those to every theme), newest
    first, `limit` of them from `offset`; nothing for someone outside the theme."""
    async with sessions() as session:
        role = await reader_role(session, person, theme_id)
        if role is None:
            return []
        rows = await session.scalars(
            select(Announcement)
            .where(or_(Announcement.theme_id == theme_id, Announcement.theme_id.is_(None)))
            .order_by(Announcement.created_at.desc(), Announcement.id.desc()))
        readable = [row for row in rows if may_read_announcement(
            role, person.municipality_id, () if row.theme_id is None else
            row.municipality_ids or ())]
        end = None if limit is None else offset + limit
        return await _views(session, person, readable[offset:end], role)


async def thread(sessions: async_sessionmaker, person: Person, announcement_id: int,
                 theme_id: int | None = None) -> Thread:
    """The announcement with its replies, oldest first; not_found when it is not there, not
    of `theme_id` (nor to every theme) or not the person's to read."""
    async with sessions() as session:
        row, role = await _readable(session, person, announcement_id)
        if theme_id is not None and row.theme_id not in (theme_id, None):
            raise AnnouncementError("not_found")
        [view] = await _views(session, person, [row], role)
        rows = list(await session.scalars(
            select(AnnouncementReply).where(AnnouncementReply.announcement_id == row.id)
            .order_by(AnnouncementReply.created_at, AnnouncementReply.id)))
        authors = await _names(session, {r.author_id for r in rows if r.author_id}, Person)
        replies = [ReplyView(
            id=r.id, author=authors.get(r.author_id) if r.author_id else None,
            author_id=r.author_id, body=r.body, created_at=r.created_at,
            may_delete=may_delete_post(role, is_author=r.author_id == person.id))
            for r in rows]
        return Thread(view, replies, may_reply(role, person.municipality_id,
                                               row.municipality_ids or ()))


async def home_theme(sessions: async_sessionmaker, person: Person) -> str | None:
    """The slug of the theme where the person reads announcements to every theme: their
    first theme by name (any theme for the lead); None when they are in none."""
    async with sessions() as session:
        query = select(Theme.slug).order_by(Theme.name).limit(1)
        if not person.is_programme_lead:
            query = query.join(Membership, Membership.theme_id == Theme.id).where(
                Membership.person_id == person.id)
        return await session.scalar(query)


async def audience_of(sessions: async_sessionmaker, announcement_id: int) -> list[Person]:
    """Who the e-mail of an announcement goes to: everyone who may read it, its author
    excepted; for a theme, its members (the programme lead only when a member); for every
    theme, every member of any theme and the programme leads. Whether each wants mail at
    all is the postbox's to check (Person.mail_opt_out)."""
    async with sessions() as session:
        row = await session.get(Announcement, announcement_id)
        if row is None:
            return []
        if row.theme_id is None:
            people = await session.scalars(select(Person).where(or_(
                Person.is_programme_lead,
                Person.id.in_(select(Membership.person_id)))).order_by(Person.id))
            return [p for p in people.unique() if p.id != row.author_id]
        members = await session.execute(
            select(Person, Membership.role).join(Membership, Membership.person_id == Person.id)
            .where(Membership.theme_id == row.theme_id).order_by(Person.id))
        return [person for person, role in members.unique()
                if person.id != row.author_id
                and may_read_announcement(Role(role), person.municipality_id,
                                          row.municipality_ids or ())]
