"""What a participant brings home from a gathering, as pure rules: which breakout groups
they were in, which questions are theirs (asked or voted for), whom they met and which of
those may be named, what a recording covers, and when a share link is still good.

Consent: a peer is named only if they chose to be seen by peers (Person.show_email, passed
in as `consenting`). The others are counted by municipality (an organisation, not a person),
so a colleague at home still learns which municipalities were in the group."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from facilitation.history import BreakoutRound, ItemRun
from facilitation.state import Group, Member, Question, QuestionStatus

DEFAULT_DAYS = 30
MAX_DAYS = 90
DAY_CHOICES = (1, 7, 14, 30, 60, 90)  # the share form's choices; any 1..MAX_DAYS is valid
MAX_ACTIVE_LINKS = 20  # per person and gathering: enough to share, few enough to keep track


@dataclass(frozen=True)
class GroupTaken:
    """A breakout group the person was in, in one round."""

    round: int
    item_id: int | None
    task: str
    group: Group


def groups_of(rounds: Iterable[BreakoutRound], person_id: int) -> list[GroupTaken]:
    """The groups `person_id` was in, round by round (at most one per round)."""
    taken = []
    for r in rounds:
        group = next((g for g in r.groups if g.has(person_id)), None)
        if group is not None:
            taken.append(GroupTaken(r.round, r.item_id, r.plan.task, group))
    return taken


@dataclass(frozen=True)
class Peer:
    person_id: int
    municipality: str | None


@dataclass(frozen=True)
class UnnamedPeers:
    municipality: str | None
    count: int


@dataclass(frozen=True)
class PeersMet:
    named: tuple[Peer, ...]  # in order of first meeting
    unnamed: tuple[UnnamedPeers, ...]  # municipalities by name, those without one last


def peers_met(groups: Iterable[Group], person_id: int, consenting: frozenset[int]) -> PeersMet:
    """Everyone else in the person's groups, once each: named if they consented, otherwise
    counted by municipality."""
    seen: dict[int, Member] = {}
    for group in groups:
        for member in group.members:
            if member.person_id != person_id:
                seen.setdefault(member.person_id, member)
    named = tuple(Peer(m.person_id, m.municipality) for m in seen.values()
                  if m.person_id in consenting)
    counts: dict[str | None, int] = {}
    for m in seen.values():
        if m.person_id not in consenting:
            counts[m.municipality] = counts.get(m.municipality, 0) + 1
    order = sorted((k for k in counts if k is not None), key=str.casefold)
    order_all: list[str | None] = [*order, *([None] if None in counts else [])]
    return PeersMet(named, tuple(UnnamedPeers(k, counts[k]) for k in order_all))


@dataclass(frozen=True)
class QuestionTaken:
    question: Question
    asked: bool  # the person asked it (also anonymously: only they see that it was them)
    voted: bool

    @property
    def answered(self) -> bool:
        return self.question.status is QuestionStatus.ANSWERED


def questions_of(questions: Iterable[Question], person_id: int) -> list[QuestionTaken]:
    """The questions the person asked or voted for, in the order asked; hidden ones (taken
    away by a moderator) are nobody's to take home."""
    return [QuestionTaken(q, q.asker_id == person_id, person_id in q.voters)
            for q in questions
            if q.status is not QuestionStatus.HIDDEN
            and (q.asker_id == person_id or person_id in q.voters)]


def item_at(items: Iterable[ItemRun], at: float) -> ItemRun | None:
    """The agenda item running at `at`: the one started last before it (an item run twice
    counts from its first start)."""
    before = [r for r in items if r.started_at is not None and r.started_at <= at]
    return max(before, key=lambda r: r.started_at or 0.0, default=None)


def covers(started_at: datetime, ended_at: datetime | None, at: datetime) -> bool:
    """Whether a recording from `started_at` to `ended_at` holds the moment `at`."""
    return started_at <= at and (ended_at is None or at <= ended_at)


class LinkState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


def link_state(expires_at: datetime, revoked_at: datetime | None, now: datetime) -> LinkState:
    if revoked_at is not None and revoked_at <= now:
        return LinkState.REVOKED
    if expires_at <= now:
        return LinkState.EXPIRED
    return LinkState.ACTIVE


def expiry(now: datetime, days: int) -> datetime:
    """When a link made `now` for `days` days stops working; ValueError outside 1..MAX_DAYS."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"a share link lasts 1 to {MAX_DAYS} days, not {days}")
    return now + timedelta(days=days)
