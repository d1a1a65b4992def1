"""The theme's home between gatherings, read from the forum's tables: one query function per
section of the page (the next gathering, what is new, open follow-ups and help requests,
the latest announcements), the unread counts in the navigation, the marks of a visit, and a
person's notification choices. The other areas write these tables; this module only reads
them, except for `ThemeVisit` and the choices (Person.notify, Person.show_email).

Who may read what is the pure rule in facilitation/digest.py (`may_read`, `admits`)."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, null, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation.digest import Choice, Item, ItemKind, Reader, admits, first_visit_since
from facilitation.roles import RUNNERS, Role
from rooms.forum_models import (
    AdvanceQuestion,
    AdvanceVote,
    Announcement,
    AnnouncementReply,
    FollowUp,
    HelpAnswer,
    HelpRequest,
    OnceJob,
    SignUp,
    ThemeVisit,
)
from rooms.models import AgendaItem, Gathering, Membership, Municipality, Person, Theme, UTCDateTime

#: the latest announcements the home lists, and how many the query reads to find them
#: after the audience rule (targeted announcements are few)
LATEST_ANNOUNCEMENTS = 5
ANNOUNCEMENTS_READ = 60
#: advance questions, open follow-ups and open help requests shown on the home
TOP_QUESTIONS = 10
_LONGEST = timedelta(days=1)  # no gathering lasts longer than a day
OPEN_SHOWN = 20
#: a theme-wide announcement's link names no theme: `place` puts the reader's in
ANY_THEME = "*"


def place(url: str, slug: str) -> str:
    """An item's link in the theme `slug` (a link to every theme's announcement has none)."""
    return url.replace(f"/themes/{ANY_THEME}/", f"/themes/{slug}/", 1)


# --- who reads --------------------------------------------------------------------------

async def reader_of(sessions: async_sessionmaker, person: Person) -> Reader:
    async with sessions() as session:
        rows = (await session.execute(select(Membership.theme_id, Membership.role).where(
            Membership.person_id == person.id))).all()
    return _reader(person, rows)


def _reader(person: Person, memberships: Iterable[Any]) -> Reader:
    rows = list(memberships)
    return Reader(person.id, frozenset(t for t, _ in rows), person.municipality_id,
                  runs=frozenset(t for t, role in rows if Role(role) in RUNNERS),
                  lead=person.is_programme_lead, choice=_choice(person.notify))


def _choice(value: str | None) -> Choice:
    try:
        return Choice(value or Choice.WEEKLY)
    except ValueError:
        return Choice.WEEKLY


async def readers(sessions: async_sessionmaker, choice: Choice) -> list[tuple[Person, Reader]]:
    """Everyone who chose `choice` and still takes mail, with what they read."""
    async with sessions() as session:
        people = list((await session.scalars(select(Person).where(
            Person.notify == choice.value, Person.mail_opt_out.is_(False))
            .order_by(Person.id))).unique())
        if not people:
            return []
        rows = (await session.execute(select(
            Membership.person_id, Membership.theme_id, Membership.role).where(
            Membership.person_id.in_([p.id for p in people])))).all()
    by_person: dict[int, list[tuple[int, str]]] = {}
    for person_id, theme_id, role in rows:
        by_person.setdefault(person_id, []).append((theme_id, role))
    return [(p, _reader(p, by_person.get(p.id, []))) for p in people
            if p.is_programme_lead or p.id in by_person]


async def theme_names(sessions: async_sessionmaker) -> dict[int, tuple[str, str]]:
    """Every theme's (slug, name) by id."""
    async with sessions() as session:
        return {id_: (slug, name) for id_, slug, name in await session.execute(
            select(Theme.id, Theme.slug, Theme.name))}


# --- what is new ------------------------------------------------------------------------

def _aset(values: Any) -> frozenset[int]:
    """Municipality ids from a JSON column (read as text through a UNION)."""
    if isinstance(values, str):
        values = json.loads(values)
    return frozenset(int(v) for v in values or ())


async def items_between(sessions: async_sessionmaker, after: datetime, until: datetime,
                        theme_ids: Collection[int] | None = None) -> list[Item]:
    """Every new thing in the forum in (after, until]: announcements, replies, help
    requests, answers and follow-ups made or updated; of `theme_ids` (None: all themes; a
    theme-wide announcement is in every theme). Unfiltered: callers apply `may_read`."""
    def in_themes(column: Any, *, or_all: bool = False) -> Any:
        if theme_ids is None:
            return literal(True)
        inside = column.in_(list(theme_ids))
        return or_(inside, column.is_(None)) if or_all else inside

    def when(column: Any) -> Any:
        return and_(column > after, column <= until)

    items: list[Item] = []
    async with sessions() as session:
        for a, slug in await session.execute(
                select(Announcement, Theme.slug)
                .outerjoin(Theme, Theme.id == Announcement.theme_id)
                .where(in_themes(Announcement.theme_id, or_all=True),
                       when(Announcement.created_at))):
            items.append(Item(ItemKind.ANNOUNCEMENT, a.id, a.theme_id, a.created_at, a.author_id,
                              a.title, f"/themes/{slug or ANY_THEME}/announcements/{a.id}",
                              _aset(a.municipality_ids), bool(a.emailed)))
        for r, a, slug in await session.execute(
                select(AnnouncementReply, Announcement, Theme.slug)
                .join(Announcement, Announcement.id == AnnouncementReply.announcement_id)
                .outerjoin(Theme, Theme.id == Announcement.theme_id)
                .where(in_themes(Announcement.theme_id, or_all=True),
                       when(AnnouncementReply.created_at))):
            items.append(Item(ItemKind.REPLY, r.id, a.theme_id, r.created_at, r.author_id, a.title,
                              f"/themes/{slug or ANY_THEME}/announcements/{a.id}#reply-{r.id}",
                              _aset(a.municipality_ids)))
        for h, slug in await session.execute(
                select(HelpRequest, Theme.slug).join(Theme, Theme.id == HelpRequest.theme_id)
                .where(in_themes(HelpRequest.theme_id), when(HelpRequest.created_at))):
            items.append(Item(ItemKind.HELP, h.id, h.theme_id, h.created_at, h.author_id,
                              h.title, f"/themes/{slug}/help/{h.id}"))
        for answer, h, slug in await session.execute(
                select(HelpAnswer, HelpRequest, Theme.slug)
                .join(HelpRequest, HelpRequest.id == HelpAnswer.request_id)
                .join(Theme, Theme.id == HelpRequest.theme_id)
                .where(in_themes(HelpRequest.theme_id), when(HelpAnswer.created_at))):
            items.append(Item(ItemKind.ANSWER, answer.id, h.theme_id, answer.created_at,
                              answer.author_id, h.title,
                              f"/themes/{slug}/help/{h.id}#answer-{answer.id}"))
        for f in await session.scalars(
                select(FollowUp)
                .where(in_themes(FollowUp.theme_id), when(FollowUp.updated_at))):
            items.append(Item(ItemKind.FOLLOW_UP, f.id, f.theme_id, f.updated_at,
                              f.updated_by if f.updated_by is not None else f.created_by,
                              f.text, f"/follow-ups/{f.id}"))
    return sorted(items, key=lambda item: (item.created_at, item.key))


async def mark_seen(sessions: async_sessionmaker, person_id: int, theme_id: int,
                    now: datetime) -> datetime | None:
    """Record a visit to the theme's page at `now`; the previous visit's time (None: the
    first). Two tabs opening the page at once both get an answer."""
    for _attempt in range(2):
        try:
            async with sessions() as session, session.begin():
                visit = await session.get(ThemeVisit, (person_id, theme_id))
                if visit is None:
                    session.add(ThemeVisit(person_id=person_id, theme_id=theme_id, seen_at=now))
                    return None
                previous = visit.seen_at
                visit.seen_at = max(previous, now)
                return previous
        except IntegrityError:  # the other tab inserted first: update theirs
            continue
    return None


@dataclass(frozen=True)
class Unread:
    """One theme's link in the navigation, with how much is new there."""

    slug: str
    name: str
    count: int


async def unread_counts(sessions: async_sessionmaker, person: Person,
                        now: datetime) -> list[Unread]:
    """The person's themes with their unread counts, by name: ONE query per page view
    (the themes, the visits and the new items' authors and audiences, read together)."""
    default = literal(first_visit_since(now), UTCDateTime())
    themes = (
        select(Theme.id.label("theme_id"), Theme.slug.label("slug"), Theme.name.label("name"),
               Membership.role.label("role"),
               func.coalesce(ThemeVisit.seen_at, default).label("since"))
        .select_from(Theme)
        .outerjoin(Membership, and_(Membership.theme_id == Theme.id,
                                    Membership.person_id == person.id))
        .outerjoin(ThemeVisit, and_(ThemeVisit.theme_id == Theme.id,
                                    ThemeVisit.person_id == person.id))
        .where(or_(Membership.id.is_not(None), literal(bool(person.is_programme_lead))))
        .cte("reader_themes"))
    base = [themes.c.theme_id, themes.c.slug, themes.c.name, themes.c.role]

    def new(column: Any) -> Any:
        return and_(column > themes.c.since, column <= literal(now, UTCDateTime()))

    to_theme = or_(Announcement.theme_id == themes.c.theme_id, Announcement.theme_id.is_(None))
    query = union_all(
        select(*base, null().label("author"), null().label("audience"),
               literal(0).label("counts")),
        select(*base, Announcement.author_id, Announcement.municipality_ids, literal(1))
        .join(Announcement, to_theme).where(new(Announcement.created_at)),
        select(*base, AnnouncementReply.author_id, Announcement.municipality_ids, literal(1))
        .join(Announcement, to_theme)
        .join(AnnouncementReply, AnnouncementReply.announcement_id == Announcement.id)
        .where(new(AnnouncementReply.created_at)),
        select(*base, HelpRequest.author_id, null(), literal(1))
        .join(HelpRequest, HelpRequest.theme_id == themes.c.theme_id)
        .where(new(HelpRequest.created_at)),
        select(*base, HelpAnswer.author_id, null(), literal(1))
        .join(HelpRequest, HelpRequest.theme_id == themes.c.theme_id)
        .join(HelpAnswer, HelpAnswer.request_id == HelpRequest.id)
        .where(new(HelpAnswer.created_at)),
        select(*base, func.coalesce(FollowUp.updated_by, FollowUp.created_by), null(),
               literal(1))
        .join(FollowUp, FollowUp.theme_id == themes.c.theme_id)
        .where(new(FollowUp.updated_at)),
    )
    counts: dict[int, list[Any]] = {}
    async with sessions() as session:
        for theme_id, slug, name, role, author, audience, counted in await session.execute(
                query):
            entry = counts.setdefault(theme_id, [slug, name, 0])
            runs = person.is_programme_lead or (role is not None and Role(role) in RUNNERS)
            if counted and author != person.id and admits(
                    _aset(audience), person.municipality_id, runs=runs):
                entry[2] += 1
    return sorted((Unread(slug, name, count) for slug, name, count in counts.values()),
                  key=lambda u: (u.name, u.slug))


# --- the next gathering ------------------------------------------------------------------

@dataclass(frozen=True)
class Question:
    id: int
    text: str
    votes: int


@dataclass(frozen=True)
class NextGathering:
    gathering: Gathering
    agenda: list[AgendaItem]
    questions: list[Question]
    coming: int
    not_coming: int
    colleague: int


async def next_gathering(sessions: async_sessionmaker, theme_id: int,
                         now: datetime) -> NextGathering | None:
    """The theme's next gathering that is not cancelled (one under way counts), with its
    agenda draft, the questions asked for it (most votes first) and its sign-ups."""
    async with sessions() as session:
        candidates = await session.scalars(
            select(Gathering).where(Gathering.theme_id == theme_id,
                                    Gathering.cancelled_at.is_(None),
                                    Gathering.starts_at > now - _LONGEST)
            .order_by(Gathering.starts_at))
        gathering = next((g for g in candidates.unique()
                          if g.starts_at.timestamp() + g.planned_minutes * 60 > now.timestamp()),
                         None)
        if gathering is None:
            return None
        votes = func.count(AdvanceVote.person_id)
        questions = [Question(q_id, text, count) for q_id, text, count in await session.execute(
            select(AdvanceQuestion.id, AdvanceQuestion.text, votes)
            .outerjoin(AdvanceVote, AdvanceVote.question_id == AdvanceQuestion.id)
            .where(AdvanceQuestion.gathering_id == gathering.id)
            .group_by(AdvanceQuestion.id, AdvanceQuestion.text, AdvanceQuestion.created_at)
            .order_by(votes.desc(), AdvanceQuestion.created_at, AdvanceQuestion.id)
            .limit(TOP_QUESTIONS))]
        answers = dict((await session.execute(
            select(SignUp.answer, func.count()).where(SignUp.gathering_id == gathering.id)
            .group_by(SignUp.answer))).all())
    return NextGathering(gathering, list(gathering.items), questions,
                         answers.get("coming", 0), answers.get("not_coming", 0),
                         answers.get("colleague", 0))


# --- open follow-ups, open help requests, the latest announcements -------------------------

@dataclass(frozen=True)
class OpenFollowUp:
    id: int
    text: str
    status: str
    municipality: str
    ours: bool


async def open_follow_ups(sessions: async_sessionmaker, theme_id: int,
                          municipality_id: int | None) -> list[OpenFollowUp]:
    """The theme's follow-ups still open or under way, the reader's municipality's first."""
    ours = case((FollowUp.municipality_id == (municipality_id or -1), 0), else_=1)
    async with sessions() as session:
        rows = await session.execute(
            select(FollowUp.id, FollowUp.text, FollowUp.status, Municipality.name,
                   FollowUp.municipality_id)
            .join(Municipality, Municipality.id == FollowUp.municipality_id)
            .where(FollowUp.theme_id == theme_id, FollowUp.status.in_(("open", "doing")))
            .order_by(ours, FollowUp.created_at, FollowUp.id).limit(OPEN_SHOWN))
        return [OpenFollowUp(id_, text, status, name, mid == municipality_id)
                for id_, text, status, name, mid in rows]


@dataclass(frozen=True)
class OpenHelp:
    id: int
    title: str
    created_at: datetime
    answers: int


async def open_help_requests(sessions: async_sessionmaker, theme_id: int) -> list[OpenHelp]:
    """The theme's help requests not closed, newest first, with how many answers each has."""
    answers = func.count(HelpAnswer.id)
    async with sessions() as session:
        rows = await session.execute(
            select(HelpRequest.id, HelpRequest.title, HelpRequest.created_at, answers)
            .outerjoin(HelpAnswer, HelpAnswer.request_id == HelpRequest.id)
            .where(HelpRequest.theme_id == theme_id, HelpRequest.closed_at.is_(None))
            .group_by(HelpRequest.id, HelpRequest.title, HelpRequest.created_at)
            .order_by(HelpRequest.created_at.desc(), HelpRequest.id.desc()).limit(OPEN_SHOWN))
        return [OpenHelp(*row) for row in rows]


@dataclass(frozen=True)
class LatestAnnouncement:
    id: int
    title: str
    created_at: datetime
    every_theme: bool


async def latest_announcements(sessions: async_sessionmaker, theme_id: int,
                               reader: Reader) -> list[LatestAnnouncement]:
    """The newest announcements to the theme (or to every theme) the reader may read."""
    async with sessions() as session:
        rows = await session.execute(
            select(Announcement.id, Announcement.title, Announcement.created_at,
                   Announcement.theme_id, Announcement.municipality_ids)
            .where(or_(Announcement.theme_id == theme_id, Announcement.theme_id.is_(None)))
            .order_by(Announcement.created_at.desc(), Announcement.id.desc())
            .limit(ANNOUNCEMENTS_READ))
        runs = reader.lead or theme_id in reader.runs
        shown = [LatestAnnouncement(id_, title, created, theme is None)
                 for id_, title, created, theme, audience in rows
                 if admits(_aset(audience), reader.municipality_id, runs=runs)]
    return shown[:LATEST_ANNOUNCEMENTS]


# --- notification choices ----------------------------------------------------------------

async def set_choices(sessions: async_sessionmaker, person_id: int, *,
                      notify: Choice | None = None, show_email: bool | None = None) -> bool:
    """Save a person's choice of forum mail and whether peers see their address; False if
    they are gone. Choosing instant or weekly mail also resumes non-essential mail."""
    async with sessions() as session, session.begin():
        person = await session.get(Person, person_id)
        if person is None:
            return False
        if notify is not None:
            person.notify = notify.value
            if notify is not Choice.NEVER:
                person.mail_opt_out = False
        if show_email is not None:
            person.show_email = show_email
        return True


async def claimed(sessions: async_sessionmaker, kind: str, keys: Collection[str]) -> set[str]:
    """Which of `keys` were claimed already (rooms/once.py): asked in one query, so a job
    that runs each minute does not try a thousand inserts that must clash."""
    if not keys:
        return set()
    async with sessions() as session:
        rows = await session.scalars(select(OnceJob.key).where(
            OnceJob.kind == kind, OnceJob.key.in_([k[:120] for k in keys])))
        return set(rows)
