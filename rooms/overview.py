"""The programme lead's overview across the themes of one year: for each theme and gathering,
the municipalities registered and present, the spread of project stages now and month by
month, experts booked, summaries published and recordings made.

Counts are per municipality, never per person: the pure folds below take what the database
and the event logs hold and give numbers. Attendance is folded from each gathering's event
log by `facilitation.history.history` (the same fold as the summary's). Only the view of one
gathering (`gathering_history`) carries the names of those present."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitation.events import event_from
from facilitation.history import Attendee, GatheringHistory, history
from rooms.models import (
    AgendaItem,
    Gathering,
    GatheringEvent,
    Membership,
    Municipality,
    Person,
    Project,
    ProjectStage,
    ProjectStageChange,
    Recording,
    Summary,
    Theme,
)
from rooms.store import GatheringStore

READY = "ready"  # a finished recording (recordings/archive.py)
REGISTERED_ROLES = ("participant",)  # who a theme's municipalities are counted from
NORWAY = ZoneInfo("Europe/Oslo")  # months end at midnight in Norway


# --- pure folds ------------------------------------------------------------------------------


def present_by_municipality(attendees: Iterable[Attendee]) -> tuple[dict[str, int], int]:
    """People present per municipality (as the log named it when they arrived), and the
    number present without a municipality (facilitators, the programme lead, experts)."""
    counts: Counter[str] = Counter()
    others = 0
    for attendee in attendees:
        if attendee.municipality:
            counts[attendee.municipality] += 1
        else:
            others += 1
    return dict(counts), others


def registered_by_municipality(members: Iterable[tuple[int, str | None]]
                               ) -> dict[int, dict[str, int]]:
    """(theme id, municipality name or None) per member -> per theme, members per
    municipality; members without a municipality are not counted."""
    themes: dict[int, Counter[str]] = {}
    for theme_id, municipality in members:
        counts = themes.setdefault(theme_id, Counter())
        if municipality:
            counts[municipality] += 1
    return {theme_id: dict(counts) for theme_id, counts in themes.items()}


def stages_at(current: Mapping[int, str], changes: Iterable[tuple[int, str, datetime]],
              moments: Sequence[datetime]) -> list[dict[str, int]]:
    """Projects per stage at each moment. `current`: project id -> its stage now; `changes`:
    (project id, stage, when) rows, the first stage included. A project is at the stage of
    its last change at or before the moment, and not counted before its first change; a
    project without any change row (older data) counts at its current stage throughout."""
    history_of: dict[int, list[tuple[datetime, str]]] = {}
    for project_id, stage, at in changes:
        history_of.setdefault(project_id, []).append((at, stage))
    for steps in history_of.values():
        steps.sort(key=lambda step: step[0])
    spread: list[dict[str, int]] = []
    for moment in moments:
        counts: Counter[str] = Counter()
        for project_id, stage_now in current.items():
            known = history_of.get(project_id)
            if known is None:
                counts[stage_now] += 1
                continue
            reached = [stage for at, stage in known if at <= moment]
            if reached:
                counts[reached[-1]] += 1
        spread.append(dict(counts))
    return spread


def month_ends(year: int, now: datetime) -> list[tuple[int, datetime]]:
    """(month, moment) for each month of the year that has begun by `now`: the moment the
    month ends (midnight in Norway) or `now` for the month under way."""
    moments: list[tuple[int, datetime]] = []
    for month in range(1, 13):
        begins = datetime(year, month, 1, tzinfo=NORWAY)
        if begins > now:
            break
        ends = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=NORWAY)
        moments.append((month, min(ends, now).astimezone(UTC)))
    return moments


# --- what the overview shows -----------------------------------------------------------------


@dataclass(frozen=True)
class GatheringFigures:
    gathering: Gathering
    held: bool  # the room was opened
    present: dict[str, int]  # municipality -> people present
    others_present: int  # people present without a municipality
    experts_booked: int  # distinct experts the agenda names
    summary_published: datetime | None
    recordings: int  # finished recordings

    @property
    def municipalities_present(self) -> int:
        return len(self.present)

    @property
    def people_present(self) -> int:
        return sum(self.present.values()) + self.others_present

    @property
    def cancelled(self) -> bool:
        return self.gathering.cancelled_at is not None


@dataclass(frozen=True)
class ThemeFigures:
    theme: Theme
    registered: dict[str, int]  # municipality -> participants registered in the theme
    gatherings: tuple[GatheringFigures, ...]  # by date
    stages_now: dict[str, int]  # stage slug -> projects
    stages_by_month: tuple[tuple[int, dict[str, int]], ...]  # (month, stage -> projects)

    @property
    def municipalities_registered(self) -> int:
        return len(self.registered)

    def municipalities(self) -> list[str]:
        """Every municipality registered or present at a gathering, by name."""
        names = set(self.registered) | {m for g in self.gatherings for m in g.present}
        return sorted(names, key=str.casefold)


@dataclass(frozen=True)
class Overview:
    year: int
    years: tuple[int, ...]  # the years that have gatherings
    stages: tuple[tuple[str, str], ...]  # (slug, name) in stage order
    themes: tuple[ThemeFigures, ...]

    @property
    def most_gatherings(self) -> int:
        return max((len(t.gatherings) for t in self.themes), default=0)


async def gathering_history(store: GatheringStore, gathering: Gathering,
                            session: AsyncSession | None = None,
                            log: list[GatheringEvent] | None = None) -> GatheringHistory:
    """What happened in the gathering, folded from its log (nothing happened yet: empty).
    `log`: its events, when they were read already (in order)."""
    start = await store.initial_state(gathering.id, session)
    assert start is not None
    if log is None:
        stored = await store.events_since(gathering.id, 0, session)
        return history(start, [event_from(s.type, s.data) for s in stored])
    return history(start, [event_from(row.type, row.data) for row in log])


async def years_with_gatherings(sessions: async_sessionmaker) -> tuple[int, ...]:
    async with sessions() as session:
        return tuple(await session.scalars(
            select(Gathering.year).distinct().order_by(Gathering.year)))


async def overview(sessions: async_sessionmaker, store: GatheringStore, year: int,
                   now: datetime | None = None) -> Overview:
    now = now or datetime.now(UTC)
    async with sessions() as session:
        themes = list(await session.scalars(select(Theme).order_by(Theme.name)))
        stages = tuple((s.slug, s.name) for s in await session.scalars(
            select(ProjectStage).order_by(ProjectStage.position)))
        gatherings = list(await session.scalars(
            select(Gathering).where(Gathering.year == year)
            .order_by(Gathering.starts_at, Gathering.number)))
        ids = [g.id for g in gatherings]
        members = (await session.execute(
            select(Membership.theme_id, Municipality.name)
            .join(Person, Person.id == Membership.person_id)
            .outerjoin(Municipality, Municipality.id == Person.municipality_id)
            .where(Membership.role.in_(REGISTERED_ROLES)))).all()
        registered = registered_by_municipality(members)
        experts: dict[str, int] = dict((await session.execute(
            select(AgendaItem.gathering_id, func.count(AgendaItem.expert_id.distinct()))
            .where(AgendaItem.gathering_id.in_(ids), AgendaItem.expert_id.is_not(None))
            .group_by(AgendaItem.gathering_id))).all())
        published: dict[str, datetime] = dict((await session.execute(
            select(Summary.gathering_id, Summary.published_at)
            .where(Summary.gathering_id.in_(ids), Summary.published_at.is_not(None))
        )).all())
        recordings: dict[str, int] = dict((await session.execute(
            select(Recording.gathering_id, func.count())
            .where(Recording.gathering_id.in_(ids), Recording.status == READY)
            .group_by(Recording.gathering_id))).all())
        projects = (await session.execute(
            select(Project.theme_id, Project.id, Project.stage))).all()
        current: dict[int, dict[int, str]] = {}
        for theme_id, project_id, stage in projects:
            current.setdefault(theme_id, {})[project_id] = stage
        changes = (await session.execute(
            select(Project.theme_id, ProjectStageChange.project_id, ProjectStageChange.stage,
                   ProjectStageChange.changed_at)
            .join(Project, Project.id == ProjectStageChange.project_id))).all()
        changes_of: dict[int, list[tuple[int, str, datetime]]] = {}
        for theme_id, project_id, stage, at in changes:
            changes_of.setdefault(theme_id, []).append((project_id, stage, at))
        logs: dict[str, list[GatheringEvent]] = {}
        for row in await session.scalars(  # every log of the year in one read
                select(GatheringEvent).where(GatheringEvent.gathering_id.in_(ids))
                .order_by(GatheringEvent.gathering_id, GatheringEvent.seq)):
            logs.setdefault(row.gathering_id, []).append(row)
        # the session's gatherings (and agendas) are the fold's start: no reading them again
        histories = {g.id: await gathering_history(store, g, session, logs.get(g.id, []))
                     for g in gatherings}
    months = month_ends(year, now)
    figures: dict[int, list[GatheringFigures]] = {}
    for gathering in gatherings:
        folded = histories[gathering.id]
        present, others = present_by_municipality(folded.attendees)
        figures.setdefault(gathering.theme_id, []).append(GatheringFigures(
            gathering=gathering, held=folded.opened_at is not None, present=present,
            others_present=others, experts_booked=experts.get(gathering.id, 0),
            summary_published=published.get(gathering.id),
            recordings=recordings.get(gathering.id, 0)))
    return Overview(
        year=year, years=await years_with_gatherings(sessions), stages=stages,
        themes=tuple(ThemeFigures(
            theme=theme, registered=registered.get(theme.id, {}),
            gatherings=tuple(figures.get(theme.id, [])),
            stages_now=dict(Counter(current.get(theme.id, {}).values())),
            stages_by_month=tuple(zip(
                [month for month, _ in months],
                stages_at(current.get(theme.id, {}), changes_of.get(theme.id, []),
                          [moment for _, moment in months]), strict=True)))
            for theme in themes))
