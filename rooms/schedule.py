"""The year's gatherings: create, edit, reschedule and cancel them, by their rules.

Who: the programme lead in every theme, a theme's facilitator in their own theme
(`by=None` is the operator at the command line, who may do everything). A gathering's
date and time are Norwegian wall-clock time (Europe/Oslo), stored in UTC; a time that
does not exist (the hour the clocks skip in March) is refused, an hour that happens twice
(October) is read as the first of the two (summer time).

The rules:
- a theme's gathering numbers 1-4 are unique within the year among gatherings not cancelled
  (a cancelled gathering's number can be given to its replacement);
- a change of the start or the planned length is a reschedule; it is refused once the room
  has been opened (live) or has ended, and for a cancelled gathering;
- cancelling is refused once the room has been opened (live or ended): a gathering that
  ran is history, not a cancellation. Cancelling twice changes nothing;
- every change the calendars show (title, start, length, cancellation) raises
  `Gathering.sequence`, iCalendar's SEQUENCE, so calendar apps take the newer version;
- a reschedule and a cancellation leave a `Notice` for the theme's members.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitation import Phase
from facilitation.planning import TEMPLATES, template_agenda
from rooms.db import write_locked
from rooms.models import AgendaItem, Gathering, Membership, Notice, Person, Theme
from rooms.refusals import Refusal
from rooms.store import GatheringStore

OSLO = ZoneInfo("Europe/Oslo")
MIN_NUMBER, MAX_NUMBER = 1, 4
MIN_LENGTH, MAX_LENGTH = 30, 480  # a gathering's planned minutes: half an hour to a day
MAX_TITLE = 200
RESCHEDULED, CANCELLED = "gathering_rescheduled", "gathering_cancelled"
SCHEDULE_LOCK_SPACE = 0x5343  # "SC": one change to a theme's schedule at a time


class ScheduleError(Refusal):
    """A change the rules refuse. `code`: not_allowed, not_found, no_theme, number_taken,
    no_such_time, no_template, bounds, cancelled, live, ended."""


@dataclass(frozen=True)
class Change:
    """What an edit did: the gathering as it is now, and its times before."""

    gathering: Gathering
    rescheduled: bool
    changed: bool
    previous_starts_at: datetime
    previous_minutes: int


def oslo_to_utc(wall: datetime) -> datetime:
    """Norwegian wall-clock time (naive) as a UTC instant; ScheduleError("no_such_time") for
    a time the clocks skip."""
    aware = wall.replace(tzinfo=OSLO, fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(OSLO).replace(tzinfo=None) != wall.replace(fold=0):
        raise ScheduleError("no_such_time", f"{wall:%Y-%m-%d %H:%M} does not exist in Norway")
    return instant


def oslo_wall(instant: datetime) -> datetime:
    """A UTC instant as Norwegian wall-clock time (naive), as a form shows it."""
    return instant.astimezone(OSLO).replace(tzinfo=None)


def template_items(name: str) -> list[AgendaItem]:
    """A new gathering's agenda from one of the planner's templates ('' for none)."""
    if not name:
        return []
    slots = template_agenda(name)
    if slots is None:
        raise ScheduleError("no_template", f"there is no template {name!r}")
    return [AgendaItem(position=i, kind=s.kind, title=s.title, planned_minutes=s.planned_minutes,
                       settings=asdict(s.breakout) if s.breakout else {})
            for i, s in enumerate(slots)]


def template_minutes(name: str) -> int:
    return sum(minutes for _, _, minutes, _ in TEMPLATES.get(name, ()))


async def may_schedule(session: AsyncSession, person: Person | None, theme_id: int) -> bool:
    """The programme lead, a facilitator of the theme, or the operator (None)."""
    if person is None or person.is_programme_lead:
        return True
    role = await session.scalar(select(Membership.role).where(
        Membership.person_id == person.id, Membership.theme_id == theme_id))
    return role == "facilitator"


async def schedulable_themes(sessions: async_sessionmaker, person: Person) -> list[Theme]:
    """The themes whose gatherings the person may plan, by name."""
    async with sessions() as session:
        query = select(Theme).order_by(Theme.name)
        if not person.is_programme_lead:
            query = query.join(Membership, Membership.theme_id == Theme.id).where(
                Membership.person_id == person.id, Membership.role == "facilitator")
        return list(await session.scalars(query))


async def gatherings_in(sessions: async_sessionmaker, theme_ids: list[int],
                        year: int) -> list[Gathering]:
    """The themes' gatherings of a year (cancelled ones too), by theme and start."""
    async with sessions() as session:
        rows = await session.scalars(
            select(Gathering).where(Gathering.theme_id.in_(theme_ids), Gathering.year == year)
            .order_by(Gathering.theme_id, Gathering.starts_at))
        return list(rows)


async def phase_of(sessions: async_sessionmaker, session: AsyncSession,
                   gathering_id: str) -> Phase:
    """Where the gathering's room is: lobby (not opened yet), live or ended."""
    store = GatheringStore(sessions)
    state = await store.initial_state(gathering_id, session)
    if state is None:
        raise ScheduleError("not_found")
    return (await store.catch_up(state, session)).phase


def _check(title: str, number: int, minutes: int) -> str:
    title = " ".join(title.split())
    if not 1 <= len(title) <= MAX_TITLE or not MIN_NUMBER <= number <= MAX_NUMBER \
            or not MIN_LENGTH <= minutes <= MAX_LENGTH:
        raise ScheduleError("bounds", f"a title has 1 to {MAX_TITLE} characters, the number "
                                      f"is {MIN_NUMBER}-{MAX_NUMBER}, a gathering lasts "
                                      f"{MIN_LENGTH}-{MAX_LENGTH} minutes")
    return title


async def _number_free(session: AsyncSession, theme_id: int, year: int, number: int,
                       other_than: str | None = None) -> None:
    query = select(Gathering.id).where(
        Gathering.theme_id == theme_id, Gathering.year == year, Gathering.number == number,
        Gathering.cancelled_at.is_(None))
    if other_than is not None:
        query = query.where(Gathering.id != other_than)
    if await session.scalar(query.limit(1)) is not None:
        raise ScheduleError("number_taken", f"the theme already has gathering {number} "
                                            f"in {year}")


async def create_gathering(sessions: async_sessionmaker, by: Person | None, *, theme_id: int,
                           number: int, title: str, starts_local: datetime, minutes: int,
                           template: str = "") -> Gathering:
    title = _check(title, number, minutes)
    starts_at = oslo_to_utc(starts_local)
    items = template_items(template)
    async with write_locked(sessions, SCHEDULE_LOCK_SPACE, f"theme:{theme_id}") as session:
        if await session.get(Theme, theme_id) is None:
            raise ScheduleError("no_theme")
        if not await may_schedule(session, by, theme_id):
            raise ScheduleError("not_allowed")
        await _number_free(session, theme_id, starts_local.year, number)
        gathering = Gathering(theme_id=theme_id, year=starts_local.year, number=number,
                              title=title, starts_at=starts_at, planned_minutes=minutes,
                              items=items, sequence=0, updated_at=datetime.now(UTC))
        session.add(gathering)
        await session.commit()
        gathering_id = gathering.id
    return await _reloaded(sessions, gathering_id)


async def _reloaded(sessions: async_sessionmaker, gathering_id: str) -> Gathering:
    async with sessions() as session:
        gathering = await session.get(Gathering, gathering_id)
        assert gathering is not None
        return gathering


@asynccontextmanager
async def _changing(sessions: async_sessionmaker, by: Person | None,
                    gathering_id: str) -> AsyncIterator[tuple[AsyncSession, Gathering]]:
    """The gathering, in a session that holds its theme's schedule lock, if `by` may change
    it."""
    async with sessions() as session:
        theme_id = await session.scalar(select(Gathering.theme_id).where(
            Gathering.id == gathering_id))
    if theme_id is None:
        raise ScheduleError("not_found")
    async with write_locked(sessions, SCHEDULE_LOCK_SPACE, f"theme:{theme_id}") as session:
        gathering = await session.get(Gathering, gathering_id)
        if gathering is None:
            raise ScheduleError("not_found")
        if not await may_schedule(session, by, gathering.theme_id):
            raise ScheduleError("not_allowed")
        yield session, gathering


def _notice(gathering: Gathering, kind: str, now: datetime, previous_starts_at: datetime,
            previous_minutes: int) -> Notice:
    return Notice(theme_id=gathering.theme_id, gathering_id=gathering.id, kind=kind,
                  created_at=now, data={
                      "title": gathering.title, "number": gathering.number,
                      "starts_at": gathering.starts_at.astimezone(UTC).isoformat(),
                      "minutes": gathering.planned_minutes,
                      "previous_starts_at": previous_starts_at.astimezone(UTC).isoformat(),
                      "previous_minutes": previous_minutes})


async def edit_gathering(sessions: async_sessionmaker, by: Person | None, gathering_id: str, *,
                         title: str | None = None, number: int | None = None,
                         starts_local: datetime | None = None, minutes: int | None = None,
                         now: datetime | None = None) -> Change:
    """Change what is given; a new start or length is a reschedule (see the module's rules)."""
    now = now or datetime.now(UTC)
    async with _changing(sessions, by, gathering_id) as (session, gathering):
        if gathering.cancelled_at is not None:
            raise ScheduleError("cancelled")
        before = (gathering.starts_at, gathering.planned_minutes)
        new_title = _check(title if title is not None else gathering.title,
                           number if number is not None else gathering.number,
                           minutes if minutes is not None else gathering.planned_minutes)
        starts_at = oslo_to_utc(starts_local) if starts_local is not None else gathering.starts_at
        after = (starts_at, minutes if minutes is not None else gathering.planned_minutes)
        rescheduled = after != before
        if rescheduled:
            phase = await phase_of(sessions, session, gathering_id)
            if phase is not Phase.LOBBY:
                raise ScheduleError("ended" if phase is Phase.ENDED else "live")
        year = oslo_wall(starts_at).year
        new_number = number if number is not None else gathering.number
        if (year, new_number) != (gathering.year, gathering.number):
            await _number_free(session, gathering.theme_id, year, new_number, gathering.id)
        changed = rescheduled or (new_title, new_number) != (gathering.title, gathering.number)
        if changed:
            gathering.title, gathering.number, gathering.year = new_title, new_number, year
            gathering.starts_at, gathering.planned_minutes = after
            gathering.sequence += 1
            gathering.updated_at = now
            if rescheduled:
                session.add(_notice(gathering, RESCHEDULED, now, *before))
            await session.commit()
    return Change(await _reloaded(sessions, gathering_id), rescheduled, changed, *before)


async def cancel_gathering(sessions: async_sessionmaker, by: Person | None, gathering_id: str,
                           *, now: datetime | None = None) -> Change:
    now = now or datetime.now(UTC)
    async with _changing(sessions, by, gathering_id) as (session, gathering):
        before = (gathering.starts_at, gathering.planned_minutes)
        changed = gathering.cancelled_at is None
        if changed:
            phase = await phase_of(sessions, session, gathering_id)
            if phase is not Phase.LOBBY:
                raise ScheduleError("ended" if phase is Phase.ENDED else "live")
            gathering.cancelled_at = gathering.updated_at = now
            gathering.sequence += 1
            session.add(_notice(gathering, CANCELLED, now, *before))
            await session.commit()
    return Change(await _reloaded(sessions, gathering_id), False, changed, *before)


async def notices_for(sessions: async_sessionmaker, theme_ids: list[int], *,
                      now: datetime | None = None, days: int = 60,
                      limit: int = 10) -> list[Notice]:
    """The themes' newest notices of the last `days`, newest first."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    async with sessions() as session:
        rows = await session.scalars(
            select(Notice).where(Notice.theme_id.in_(theme_ids), Notice.created_at >= since)
            .order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit))
        return list(rows)
