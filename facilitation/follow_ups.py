"""Follow-ups from a gathering, as pure rules: "what will you try before the next
gathering", owned by a municipality and due at the theme's next gathering.

- Due: a follow-up made at (or after) gathering G is due at the theme's first gathering
  that starts after G and is not cancelled. When none is planned yet there is no due
  gathering and no due date (not "the end of the year": a made-up date would mark
  follow-ups overdue that nobody asked to finish by then); the due gathering is worked out
  again whenever the theme's calendar changes (rooms/follow_ups.py `redue`), so a
  follow-up finds its gathering once it is planned, and moves on when it is cancelled.
- Status: open -> doing -> done | dropped, any of them back to open (reopen), and open
  straight to done or dropped (people do not always say they started).
- Who: the theme's runners (facilitator, programme lead) make follow-ups for any
  municipality and update every one; a participant makes them only for their own
  municipality (from the notes of a gathering of their theme: every participant reads
  every shared note) and updates their own municipality's. Experts and observers read.
- Reminder: REMINDER_DAYS before the due gathering starts, once, to the owners whose
  follow-ups due there are still open or doing; a reminder missed (the server down for
  the whole window) is not sent after the gathering has started.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from facilitation.roles import Role, runs_gathering

REMINDER_DAYS = 3
MAX_TEXT = 500  # FollowUp.text
MAX_SOURCE = 2000  # the note line it came from
MAX_REPORT = 2000
MAX_LINK = 500


class Status(StrEnum):
    OPEN = "open"
    DOING = "doing"
    DONE = "done"
    DROPPED = "dropped"


UNFINISHED = frozenset({Status.OPEN, Status.DOING})

#: which status may follow which (staying the same is always allowed: a new report)
NEXT: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.DOING, Status.DONE, Status.DROPPED}),
    Status.DOING: frozenset({Status.OPEN, Status.DONE, Status.DROPPED}),
    Status.DONE: frozenset({Status.OPEN}),
    Status.DROPPED: frozenset({Status.OPEN}),
}


def may_change_status(old: Status, new: Status) -> bool:
    return new == old or new in NEXT[old]


@dataclass(frozen=True)
class GatheringTime:
    """What the due rules need of a gathering."""

    id: str
    starts_at: datetime
    cancelled: bool = False


def due_gathering(made_at: GatheringTime, theme_gatherings: Iterable[GatheringTime]
                  ) -> GatheringTime | None:
    """The theme's next gathering after `made_at`: the first by start that starts later and
    is not cancelled (ties broken by id, so every worker picks the same); None if none."""
    later = [g for g in theme_gatherings
             if not g.cancelled and g.id != made_at.id and g.starts_at > made_at.starts_at]
    return min(later, key=lambda g: (g.starts_at, g.id), default=None)


def due_at(due: GatheringTime | None) -> datetime | None:
    """Due before the due gathering starts."""
    return None if due is None else due.starts_at


def is_overdue(status: Status, due: datetime | None, now: datetime) -> bool:
    return status in UNFINISHED and due is not None and now >= due


def reminder_at(due: datetime) -> datetime:
    return due - timedelta(days=REMINDER_DAYS)


def reminder_window_open(due: datetime, now: datetime) -> bool:
    """Whether reminders for a gathering starting at `due` go out at `now`."""
    return reminder_at(due) <= now < due


def may_create(role: Role | None, *, own_municipality: int | None,
               owner_municipality: int) -> bool:
    if role is None:
        return False
    if runs_gathering(role):
        return True
    return role is Role.PARTICIPANT and own_municipality == owner_municipality


def may_update(role: Role | None, *, own_municipality: int | None,
               owner_municipality: int) -> bool:
    """The same people as may make one: runners, and the owner municipality's participants."""
    return may_create(role, own_municipality=own_municipality,
                      owner_municipality=owner_municipality)


def valid_link(link: str) -> bool:
    """Empty, or an http(s) address with a host, without spaces, of at most MAX_LINK."""
    if link == "":
        return True
    if len(link) > MAX_LINK or any(c.isspace() for c in link):
        return False
    parts = urlsplit(link)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@dataclass(frozen=True)
class Pending:
    """A follow-up as the reminder rule sees it."""

    id: int
    municipality_id: int
    status: Status
    due: GatheringTime | None


def reminders_due(follow_ups: Sequence[Pending], now: datetime
                  ) -> dict[tuple[str, int], tuple[int, ...]]:
    """Whom to remind now: (due gathering id, owner municipality id) -> the ids of their
    unfinished follow-ups due there, for due gatherings whose reminder window is open."""
    due: dict[tuple[str, int], list[int]] = {}
    for f in sorted(follow_ups, key=lambda f: f.id):
        if (f.status in UNFINISHED and f.due is not None and not f.due.cancelled
                and reminder_window_open(f.due.starts_at, now)):
            due.setdefault((f.due.id, f.municipality_id), []).append(f.id)
    return {key: tuple(ids) for key, ids in due.items()}
