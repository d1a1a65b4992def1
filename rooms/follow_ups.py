"""Follow-ups from a gathering: one function per action, each checking rights by the
rules in facilitation/follow_ups.py; every write is indexed for the archive (kind
"follow_up") in the same transaction.

The due gathering is stored (`FollowUp.due_gathering_id`) so the reminder and the live
room can ask "what is due here" with one query; `redue` works it out again from the
theme's calendar before anything reads it, so a gathering planned, moved or cancelled
after a follow-up was made is taken into account (only unfinished follow-ups move: a
finished one stays where it was done)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from facilitation.follow_ups import (
    MAX_REPORT,
    MAX_SOURCE,
    MAX_TEXT,
    UNFINISHED,
    GatheringTime,
    Pending,
    Status,
    due_gathering,
    is_overdue,
    may_change_status,
    may_create,
    may_update,
    reminders_due,
    valid_link,
)
from facilitation.roles import Role
from rooms.directory import role_in_theme
from rooms.forum_models import FollowUp
from rooms.models import Gathering, Membership, Municipality, Person, Theme
from rooms.search import Findable, index

KIND = "follow_up"  # in the archive


class Refused(Exception):
    """The action was not done: `status` 404 (no such thing), 403 (not allowed) or 400
    (bad input), with the reason in English (pages show their own words)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class FollowUpView:
    id: int
    theme_id: int
    theme_slug: str
    theme_name: str
    gathering_id: str | None
    gathering_title: str
    due_gathering_id: str | None
    due_title: str
    due_starts_at: datetime | None
    municipality_id: int
    municipality: str
    text: str
    source: str
    status: Status
    report: str
    link: str
    updated_at: datetime
    updated_by: str | None
    overdue: bool

    def as_json(self) -> dict[str, object]:
        """What the live room shows (static/src/follow-ups.js)."""
        return {"id": self.id, "municipality": self.municipality, "text": self.text,
                "status": self.status.value, "report": self.report, "link": self.link}


# --- reading ---------------------------------------------------------------------------------

_MADE, _DUE, _BY = aliased(Gathering), aliased(Gathering), aliased(Person)


Query = Select[FollowUp, str, Theme, Gathering, Gathering, str]  # outer joins: None too


def _query() -> Query:
    return (select(FollowUp, Municipality.name, Theme, _MADE, _DUE, _BY.name)
            .join(Municipality, Municipality.id == FollowUp.municipality_id)
            .join(Theme, Theme.id == FollowUp.theme_id)
            .outerjoin(_MADE, _MADE.id == FollowUp.gathering_id)
            .outerjoin(_DUE, _DUE.id == FollowUp.due_gathering_id)
            .outerjoin(_BY, _BY.id == FollowUp.updated_by))


async def _views(session: AsyncSession, query: Query, now: datetime) -> list[FollowUpView]:
    views = []
    for f, place, theme, made, due, by in await session.execute(query):
        status = Status(f.status)
        due_start = due.starts_at if due is not None else None
        views.append(FollowUpView(
            f.id, f.theme_id, theme.slug, theme.name, f.gathering_id,
            made.title if made is not None else "", f.due_gathering_id,
            due.title if due is not None else "", due_start, f.municipality_id, place,
            f.text, f.source, status, f.report, f.link, f.updated_at, by,
            is_overdue(status, due_start, now)))
    return views


def _order() -> tuple[ColumnElement[Any], ...]:
    return (_DUE.starts_at.is_(None), _DUE.starts_at.asc(), Municipality.name.asc(),
            FollowUp.id.asc())


async def _calendar(session: AsyncSession, theme_id: int) -> list[GatheringTime]:
    rows = await session.execute(select(Gathering.id, Gathering.starts_at,
                                        Gathering.cancelled_at)
                                 .where(Gathering.theme_id == theme_id))
    return [GatheringTime(i, start, cancelled is not None) for i, start, cancelled in rows]


async def redue(session: AsyncSession, theme_id: int) -> None:
    """Each unfinished follow-up of the theme due at the theme's next gathering after the
    one it was made at, as the calendar is now (flushed, not committed)."""
    calendar = await _calendar(session, theme_id)
    times = {g.id: g for g in calendar}
    for f in await session.scalars(select(FollowUp).where(
            FollowUp.theme_id == theme_id, FollowUp.status.in_([s.value for s in UNFINISHED]),
            FollowUp.gathering_id.is_not(None))):
        made = times.get(f.gathering_id or "")
        due = due_gathering(made, calendar) if made is not None else None
        if (due.id if due else None) != f.due_gathering_id:
            f.due_gathering_id = due.id if due else None
    await session.flush()


async def _fresh(sessions: async_sessionmaker, theme_id: int) -> None:
    async with sessions() as session, session.begin():
        await redue(session, theme_id)


async def of_theme(sessions: async_sessionmaker, theme_id: int, now: datetime
                   ) -> list[FollowUpView]:
    """The theme's follow-ups: by due gathering (none last), then owner."""
    await _fresh(sessions, theme_id)
    async with sessions() as session:
        return await _views(session, _query().where(FollowUp.theme_id == theme_id)
                            .order_by(*_order()), now)


async def due_at_gathering(sessions: async_sessionmaker, gathering: Gathering,
                           now: datetime) -> list[FollowUpView]:
    """The follow-ups due at `gathering` (what its agenda brings up), by owner."""
    await _fresh(sessions, gathering.theme_id)
    async with sessions() as session:
        return await _views(session, _query().where(
            FollowUp.due_gathering_id == gathering.id)
            .order_by(Municipality.name, FollowUp.id), now)


async def made_at_gathering(sessions: async_sessionmaker, gathering_id: str, now: datetime
                            ) -> list[FollowUpView]:
    async with sessions() as session:
        return await _views(session, _query().where(FollowUp.gathering_id == gathering_id)
                            .order_by(Municipality.name, FollowUp.id), now)


async def follow_up(sessions: async_sessionmaker, follow_up_id: int, now: datetime
                    ) -> FollowUpView | None:
    async with sessions() as session:
        theme_id = await session.scalar(select(FollowUp.theme_id).where(
            FollowUp.id == follow_up_id))
    if theme_id is None:
        return None
    await _fresh(sessions, theme_id)
    async with sessions() as session:
        found = await _views(session, _query().where(FollowUp.id == follow_up_id), now)
        return found[0] if found else None


async def theme_municipalities(sessions: async_sessionmaker, theme_id: int
                               ) -> list[tuple[int, str]]:
    """The municipalities a runner chooses an owner among: those with a member in the
    theme, by name."""
    async with sessions() as session:
        rows = await session.execute(
            select(Municipality.id, Municipality.name).distinct()
            .join(Person, Person.municipality_id == Municipality.id)
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.theme_id == theme_id).order_by(Municipality.name))
        return [(i, name) for i, name in rows]


async def may_edit(sessions: async_sessionmaker, person: Person, view: FollowUpView) -> bool:
    role = await role_in_theme(sessions, person, view.theme_id)
    return may_update(role, own_municipality=person.municipality_id,
                      owner_municipality=view.municipality_id)


# --- writing ---------------------------------------------------------------------------------


def _findable(f: FollowUp, place: str, year: int) -> Findable:
    body = "\n".join(part for part in (place, f.source, f.report) if part)
    return Findable(KIND, str(f.id), f.text, body, f"/follow-ups/{f.id}", year, f.created_at,
                    f.theme_id, f.gathering_id)


async def create(sessions: async_sessionmaker, person: Person, *, gathering_id: str,
                 municipality_id: int, text: str, source: str = "", now: datetime) -> int:
    """A follow-up made at `gathering_id` for `municipality_id`; its id."""
    text, source = text.strip(), source.strip()
    if not text or len(text) > MAX_TEXT or len(source) > MAX_SOURCE:
        raise Refused(400, "the text is empty or too long")
    async with sessions() as session:
        gathering = await session.get(Gathering, gathering_id)
        place = await session.get(Municipality, municipality_id)
    if gathering is None or place is None:
        raise Refused(404, "no such gathering or municipality")
    role = await role_in_theme(sessions, person, gathering.theme_id)
    if not may_create(role, own_municipality=person.municipality_id,
                      owner_municipality=municipality_id):
        raise Refused(403, "not allowed to make a follow-up for this municipality")
    async with sessions() as session, session.begin():
        due = due_gathering(GatheringTime(gathering.id, gathering.starts_at),
                            await _calendar(session, gathering.theme_id))
        made = FollowUp(theme_id=gathering.theme_id, gathering_id=gathering.id,
                        due_gathering_id=due.id if due else None,
                        municipality_id=municipality_id, text=text, source=source,
                        status=Status.OPEN.value, report="", link="", created_by=person.id,
                        created_at=now, updated_at=now, updated_by=person.id)
        session.add(made)
        await session.flush()
        await index(session, _findable(made, place.name, gathering.year))
        return made.id


async def update(sessions: async_sessionmaker, person: Person, follow_up_id: int, *,
                 status: Status, report: str, link: str, now: datetime) -> None:
    """A new status, report and file link, by a runner or the owner municipality's people."""
    report, link = report.strip(), link.strip()
    if len(report) > MAX_REPORT or not valid_link(link):
        raise Refused(400, "the report is too long or the link is not an http(s) address")
    async with sessions() as session:
        theme_id = await session.scalar(select(FollowUp.theme_id).where(
            FollowUp.id == follow_up_id))
    if theme_id is None:
        raise Refused(404, "no such follow-up")
    role: Role | None = await role_in_theme(sessions, person, theme_id)
    async with sessions() as session, session.begin():
        found = await session.get(FollowUp, follow_up_id)
        if found is None:
            raise Refused(404, "no such follow-up")
        if not may_update(role, own_municipality=person.municipality_id,
                          owner_municipality=found.municipality_id):
            raise Refused(403, "not allowed to update this follow-up")
        if not may_change_status(Status(found.status), status):
            raise Refused(400, f"a follow-up {found.status} cannot become {status}")
        found.status, found.report, found.link = status.value, report, link
        found.updated_at, found.updated_by = now, person.id
        place = await session.get(Municipality, found.municipality_id)
        made = await session.get(Gathering, found.gathering_id) if found.gathering_id else None
        await index(session, _findable(found, place.name if place else "",
                                       made.year if made else found.created_at.year))


# --- the reminder ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """One owner municipality's unfinished follow-ups due at one gathering, and who hears."""

    gathering: Gathering
    municipality_id: int
    municipality: str
    follow_ups: tuple[FollowUpView, ...]
    people: tuple[Person, ...]  # the municipality's members of the theme

    @property
    def key(self) -> str:
        return f"{self.gathering.id}:{self.municipality_id}"


async def reminders(sessions: async_sessionmaker, now: datetime) -> list[Reminder]:
    """The reminders whose time has come (facilitation/follow_ups.py `reminders_due`);
    whether one went out already is the caller's claim (rooms/once.py)."""
    async with sessions() as session:
        themes = list(await session.scalars(select(FollowUp.theme_id).distinct().where(
            FollowUp.status.in_([s.value for s in UNFINISHED]))))
    pending: list[Pending] = []
    for theme_id in themes:
        await _fresh(sessions, theme_id)
        async with sessions() as session:
            calendar = {g.id: g for g in await _calendar(session, theme_id)}
            for f in await session.scalars(select(FollowUp).where(
                    FollowUp.theme_id == theme_id,
                    FollowUp.status.in_([s.value for s in UNFINISHED]))):
                pending.append(Pending(f.id, f.municipality_id, Status(f.status),
                                       calendar.get(f.due_gathering_id or "")))
    due = reminders_due(pending, now)
    found: list[Reminder] = []
    for (gathering_id, municipality_id), ids in sorted(due.items()):
        async with sessions() as session:
            gathering = await session.get(Gathering, gathering_id)
            if gathering is None:
                continue
            views = await _views(session, _query().where(FollowUp.id.in_(ids))
                                 .order_by(FollowUp.id), now)
            people = await session.scalars(
                select(Person).join(Membership, Membership.person_id == Person.id)
                .where(Membership.theme_id == gathering.theme_id,
                       Person.municipality_id == municipality_id).order_by(Person.id))
            found.append(Reminder(gathering, municipality_id, views[0].municipality,
                                  tuple(views), tuple(people.unique())))
    return found
