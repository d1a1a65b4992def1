"""What is new in the forum for one person, and when their mail about it goes: the rules
behind the unread marks on a theme's page, the instant mail and the weekly digest.

Pure: the items, the reader and the clock come in as arguments. The same `may_read` rule
decides what the theme page lists as new, what the navigation counts and what the mail
carries, so a person is never told of something they cannot open."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

#: weeks end and digests go out by Norwegian wall-clock time
OSLO = ZoneInfo("Europe/Oslo")
#: the weekly digest goes out on Monday (ISO weekday 1) at 07:00 in Oslo: read with the
#: morning's mail, covering the week that just ended
DIGEST_WEEKDAY = 1
DIGEST_TIME = time(7, 0)
#: a first visit to a theme's page marks the last two weeks as new: enough to show what is
#: going on, not a year's backlog
FIRST_VISIT_DAYS = 14
#: instant mail goes out for items at most this old: a worker away (a restart, a database
#: outage) for less than this still mails; someone who switches to instant is not sent a
#: day's backlog. Each item's mail is claimed once (rooms/once.py), so overlap is harmless.
INSTANT_WINDOW = timedelta(hours=2)


class Choice(StrEnum):
    """How a person hears of what is new (Person.notify)."""

    INSTANT = "instant"
    WEEKLY = "weekly"
    NEVER = "never"


class ItemKind(StrEnum):
    ANNOUNCEMENT = "announcement"
    REPLY = "reply"  # to an announcement
    HELP = "help"  # a help request
    ANSWER = "answer"  # to a help request
    FOLLOW_UP = "follow_up"  # a follow-up made or updated


@dataclass(frozen=True)
class Item:
    """One new thing in a theme's forum. `theme_id` None: to every theme (the lead's
    announcements). `audience`: the municipalities it is for (empty: the whole theme)."""

    kind: ItemKind
    ref: int
    theme_id: int | None
    created_at: datetime
    author_id: int | None
    title: str
    url: str
    audience: frozenset[int] = frozenset()
    emailed: bool = False  # an announcement already e-mailed to everyone

    @property
    def key(self) -> str:
        """The item's name in once-only mail keys: a follow-up's each update is news."""
        if self.kind is ItemKind.FOLLOW_UP:
            return f"{self.kind.value}:{self.ref}@{int(self.created_at.timestamp())}"
        return f"{self.kind.value}:{self.ref}"


@dataclass(frozen=True)
class Reader:
    """Who reads: their themes, the themes they run (who see every audience), their
    municipality, and their choice of mail. The programme lead reads every theme."""

    person_id: int
    themes: frozenset[int]
    municipality_id: int | None = None
    runs: frozenset[int] = frozenset()
    lead: bool = False
    choice: Choice = Choice.WEEKLY


def may_read(reader: Reader, item: Item) -> bool:
    """Whether the reader may see the item: it is in one of their themes (or to all
    themes), and aimed at their municipality unless it is aimed at all (runners of the
    theme and the lead see every audience)."""
    if reader.lead:
        return True
    if item.theme_id is not None and item.theme_id not in reader.themes:
        return False
    runs = item.theme_id in reader.runs if item.theme_id is not None else bool(reader.runs)
    return admits(item.audience, reader.municipality_id, runs=runs)


def admits(audience: frozenset[int] | list[int], municipality_id: int | None, *,
           runs: bool) -> bool:
    """Whether an item for `audience` (municipality ids; empty: everyone in the theme) is
    for a reader from `municipality_id`; those who run the theme read every audience (as
    facilitation/forum_rights.py says of announcements)."""
    if runs or not audience:
        return True
    return municipality_id is not None and municipality_id in audience


def _news(reader: Reader, items: Iterable[Item], after: datetime, until: datetime, *,
          before_until: bool = False) -> list[Item]:
    """Readable items of others in (after, until], or in [after, until) with
    `before_until` (a week's digest: each moment in exactly one week); oldest first."""
    def inside(moment: datetime) -> bool:
        if before_until:
            return after <= moment < until
        return after < moment <= until
    return sorted((item for item in items
                   if inside(item.created_at) and item.author_id != reader.person_id
                   and may_read(reader, item)),
                  key=lambda item: (item.created_at, item.key))


def first_visit_since(now: datetime) -> datetime:
    return now - timedelta(days=FIRST_VISIT_DAYS)


def unread(reader: Reader, items: Iterable[Item], seen_at: datetime | None,
           now: datetime) -> list[Item]:
    """What the theme page marks as new: newer than the last visit (the last 14 days on a
    first visit), not the reader's own, readable by them; oldest first."""
    return _news(reader, items, seen_at or first_visit_since(now), now)


def instant_items(reader: Reader, items: Iterable[Item], now: datetime) -> list[Item]:
    """The items that get a mail each, now, for a reader who chose instant mail: new within
    the window, not their own, and not an announcement everyone was e-mailed already."""
    if reader.choice is not Choice.INSTANT:
        return []
    return [item for item in _news(reader, items, now - INSTANT_WINDOW, now)
            if not (item.kind is ItemKind.ANNOUNCEMENT and item.emailed)]


@dataclass(frozen=True)
class DigestWeek:
    """One weekly digest: its key (ISO year and week, `2026-W50`), when it is due, and the
    week it covers (the seven days before it is due)."""

    key: str
    due_at: datetime
    covers: tuple[datetime, datetime]


def digest_week(now: datetime) -> DigestWeek:
    """The digest of the ISO week that `now` falls in, by Oslo's calendar."""
    local = now.astimezone(OSLO)
    year, week, weekday = local.isocalendar()
    monday = local.date() - timedelta(days=weekday - 1)
    due_day = monday + timedelta(days=DIGEST_WEEKDAY - 1)
    due_at = datetime.combine(due_day, DIGEST_TIME, tzinfo=OSLO)
    return DigestWeek(f"{year}-W{week:02d}", due_at,
                      (datetime.combine(due_day - timedelta(days=7), DIGEST_TIME, tzinfo=OSLO),
                       due_at))


def digest_due(now: datetime) -> DigestWeek | None:
    """This week's digest once it is due (from Monday 07:00 in Oslo until the week ends),
    else None. A worker that was down on Monday morning sends it later the same week."""
    week = digest_week(now)
    return week if now >= week.due_at else None


def digest_items(reader: Reader, items: Iterable[Item], week: DigestWeek) -> list[Item]:
    """What a weekly reader's digest lists: the week's items they may read, not their own
    (announcements already e-mailed too: the digest is the week's whole picture). Empty
    for anyone who did not choose the digest, and then no digest is sent."""
    if reader.choice is not Choice.WEEKLY:
        return []
    start, end = week.covers
    return _news(reader, items, start, end, before_until=True)


def by_theme(items: Iterable[Item]) -> dict[int | None, list[Item]]:
    """Items grouped by theme, in the order they came."""
    grouped: dict[int | None, list[Item]] = {}
    for item in items:
        grouped.setdefault(item.theme_id, []).append(item)
    return grouped
