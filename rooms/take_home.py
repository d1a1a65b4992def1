""""What I bring home": one person's share of a gathering, gathered for their own page, its
Markdown and its read-only share links.

The gathering's part is folded from the event log and the notes (rooms/summaries.py), as
the summary is: their breakout groups with the groups' notes, the questions they asked or
voted for with when they were answered (the answer itself was spoken: the recording that
holds that moment is named), whom they met, the recordings. Their municipality's follow-ups
from the gathering are FollowUp rows. Who may be named follows facilitation/take_home.py:
a peer (or a recorded speaker) who chose to be seen by peers (Person.show_email); addresses
only on the person's own page and only for those peers, never on a share link.

Share links: a random token that only its URL carries (the row keeps its SHA-256), made for
1 to 90 days, revoked by its maker; it works while its maker is still a member of the
gathering's theme."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitation.history import ItemRun
from facilitation.state import Phase
from facilitation.take_home import (
    MAX_ACTIVE_LINKS,
    LinkState,
    QuestionTaken,
    UnnamedPeers,
    covers,
    expiry,
    groups_of,
    item_at,
    link_state,
    peers_met,
    questions_of,
)
from rooms.directory import role_in_theme
from rooms.forum_models import FollowUp, TakeHomeLink
from rooms.models import Gathering, Person, Recording
from rooms.privacy import is_deleted
from rooms.summaries import Summaries

READY = "ready"  # recordings.archive.READY (rooms/ does not import recordings/)
TOKEN_BYTES = 32  # 43 URL-safe characters
TOKEN_PATTERN = r"[A-Za-z0-9_-]{43}"
KEPT_DEAD_LINKS = 20  # expired or revoked links still listed for their maker


class NotAllowed(Exception):
    """The person may not do this (not a member of the gathering's theme)."""


class TooManyLinks(Exception):
    """The person already has MAX_ACTIVE_LINKS working links to this page."""


@dataclass(frozen=True)
class GroupNotes:
    round: int
    title: str | None  # the breakout item's title
    task: str
    group: str  # the group's name
    notes: str  # the group's notes as written: the group's, not one person's


@dataclass(frozen=True)
class PeerView:
    name: str
    municipality: str | None
    email: str | None  # only on the person's own page, only for peers who show it


@dataclass(frozen=True)
class QuestionView:
    text: str
    asked: bool
    voted: bool
    votes: int
    answered: bool
    answered_at: datetime | None
    item: str | None  # the agenda item during which it was answered
    recording_id: str | None  # a ready recording that holds the moment it was answered


@dataclass(frozen=True)
class FollowUpView:
    id: int
    text: str
    status: str  # open|doing|done|dropped
    report: str
    link: str
    due: str | None  # the title of the gathering it is due before


@dataclass(frozen=True)
class RecordingView:
    id: str
    title: str | None  # the agenda item recorded
    speaker: str | None  # named only with their consent
    started_at: datetime
    seconds: float | None


@dataclass(frozen=True)
class TakeHome:
    gathering: Gathering
    owner: str
    municipality: str | None
    ended: bool
    groups: tuple[GroupNotes, ...]
    questions: tuple[QuestionView, ...]
    follow_ups: tuple[FollowUpView, ...]
    peers: tuple[PeerView, ...]
    unnamed: tuple[UnnamedPeers, ...]
    recordings: tuple[RecordingView, ...]

    def shared(self) -> TakeHome:
        """What a share link shows: the same, without any address."""
        return replace(self, peers=tuple(replace(p, email=None) for p in self.peers))

    @property
    def peer_count(self) -> int:
        return len(self.peers) + sum(u.count for u in self.unnamed)


@dataclass(frozen=True)
class LinkView:
    id: int
    created_at: datetime
    expires_at: datetime
    state: LinkState


def _visible(person: Person) -> bool:
    """The person chose to be seen by peers (and has not been erased)."""
    return person.show_email and not is_deleted(person)


async def take_home(summaries: Summaries, person: Person, gathering: Gathering,
                    now: float | None = None) -> TakeHome:
    """The person's share of the gathering. The caller checks that they may see it
    (`may_take_home`)."""
    summary = await summaries.build(gathering, now=now)
    history = summary.history
    mine = groups_of(history.rounds, person.id)
    met = {m.person_id for t in mine for m in t.group.members} - {person.id}
    sessions = summaries.sessions
    async with sessions() as session:
        people = {p.id: p for p in await session.scalars(
            select(Person).where(Person.id.in_(met)))} if met else {}
        recorded = list(await session.scalars(
            select(Recording).where(Recording.gathering_id == gathering.id,
                                    Recording.status == READY)
            .order_by(Recording.started_at)))
        speakers = {p.id: p for p in await session.scalars(select(Person).where(
            Person.id.in_({r.person_id for r in recorded if r.person_id is not None})))}
        follow_ups = await _follow_ups(session, person, gathering) \
            if person.municipality_id is not None else ()
    consenting = frozenset(pid for pid, p in people.items() if _visible(p))
    peers = peers_met((t.group for t in mine), person.id, consenting)
    recordings = tuple(RecordingView(
        r.id, history.item_title(r.item_id),
        r.person_name if r.person_id in speakers and _visible(speakers[r.person_id]) else None,
        r.started_at, r.seconds) for r in recorded)
    return TakeHome(
        gathering=gathering, owner=person.name,
        municipality=person.municipality.name if person.municipality else None,
        ended=history.state.phase is Phase.ENDED,
        groups=tuple(GroupNotes(t.round, history.item_title(t.item_id), t.task, t.group.name,
                                summary.group_notes(t.round, t.group.id)) for t in mine),
        questions=tuple(_question(q, history.items, recorded)
                        for q in questions_of(history.state.questions, person.id)),
        follow_ups=follow_ups,
        peers=tuple(PeerView(people[p.person_id].name, p.municipality,
                             people[p.person_id].email) for p in peers.named),
        unnamed=peers.unnamed, recordings=recordings)


def _question(taken: QuestionTaken, items: tuple[ItemRun, ...], recorded: list[Recording]
              ) -> QuestionView:
    q = taken.question
    at = datetime.fromtimestamp(q.answered_at, UTC) if q.answered_at is not None else None
    run = item_at(items, q.answered_at) if q.answered_at is not None else None
    holding = next((r.id for r in recorded if at is not None
                    and covers(r.started_at, r.ended_at, at)), None)
    return QuestionView(q.text, taken.asked, taken.voted, q.votes, taken.answered, at,
                        run.slot.title if run is not None else None, holding)


async def _follow_ups(session: AsyncSession, person: Person, gathering: Gathering
                      ) -> tuple[FollowUpView, ...]:
    rows = list(await session.scalars(
        select(FollowUp).where(FollowUp.gathering_id == gathering.id,
                               FollowUp.municipality_id == person.municipality_id)
        .order_by(FollowUp.created_at, FollowUp.id)))
    due_ids = {r.due_gathering_id for r in rows if r.due_gathering_id is not None}
    titles: dict[str, str] = {gid: title for gid, title in await session.execute(
        select(Gathering.id, Gathering.title).where(Gathering.id.in_(due_ids)))} if due_ids else {}
    return tuple(FollowUpView(r.id, r.text, r.status, r.report, r.link,
                              titles.get(r.due_gathering_id or "")) for r in rows)


async def may_take_home(sessions: async_sessionmaker, person: Person,
                        gathering: Gathering) -> bool:
    """Every member of the gathering's theme has a page for it (what they took part in
    fills it; their municipality's follow-ups and the recordings are there regardless)."""
    return await role_in_theme(sessions, person, gathering.theme_id) is not None


# --- share links -------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_link(sessions: async_sessionmaker, person: Person, gathering: Gathering,
                      days: int, now: datetime | None = None) -> str:
    """A new share link's token (shown once: only its hash is kept). NotAllowed for a
    non-member; TooManyLinks past MAX_ACTIVE_LINKS working ones; ValueError for `days`
    outside 1..MAX_DAYS."""
    now = now or datetime.now(UTC)
    expires_at = expiry(now, days)
    if not await may_take_home(sessions, person, gathering):
        raise NotAllowed
    token = secrets.token_urlsafe(TOKEN_BYTES)
    async with sessions() as session, session.begin():
        active = await session.scalar(select(func.count()).select_from(TakeHomeLink).where(
            TakeHomeLink.person_id == person.id, TakeHomeLink.gathering_id == gathering.id,
            TakeHomeLink.revoked_at.is_(None), TakeHomeLink.expires_at > now))
        if (active or 0) >= MAX_ACTIVE_LINKS:
            raise TooManyLinks
        session.add(TakeHomeLink(person_id=person.id, gathering_id=gathering.id,
                                 token_hash=token_hash(token), created_at=now,
                                 expires_at=expires_at))
        # links that no longer work are listed for a while, then forgotten: the newest
        # KEPT_DEAD_LINKS stay, so the rows per person and page stay bounded
        dead = select(TakeHomeLink.id).where(
            TakeHomeLink.person_id == person.id, TakeHomeLink.gathering_id == gathering.id,
            or_(TakeHomeLink.revoked_at.is_not(None), TakeHomeLink.expires_at <= now),
        ).order_by(TakeHomeLink.created_at.desc(), TakeHomeLink.id.desc()).offset(KEPT_DEAD_LINKS)
        forgotten = list(await session.scalars(dead))
        if forgotten:
            await session.execute(delete(TakeHomeLink).where(TakeHomeLink.id.in_(forgotten)))
    return token


async def revoke_link(sessions: async_sessionmaker, person: Person, link_id: int,
                      now: datetime | None = None) -> bool:
    """Stop one of the person's own links; False if they have no such link (someone else's
    is not theirs to stop). Revoking twice keeps the first time."""
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(TakeHomeLink)
            .where(TakeHomeLink.id == link_id, TakeHomeLink.person_id == person.id)
            .values(revoked_at=func.coalesce(TakeHomeLink.revoked_at, now or datetime.now(UTC)))
            .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


async def links_of(sessions: async_sessionmaker, person: Person, gathering: Gathering,
                   now: datetime | None = None) -> list[LinkView]:
    """The person's links to this page, newest first, with whether each still works."""
    now = now or datetime.now(UTC)
    async with sessions() as session:
        rows = await session.scalars(select(TakeHomeLink).where(
            TakeHomeLink.person_id == person.id, TakeHomeLink.gathering_id == gathering.id)
            .order_by(TakeHomeLink.created_at.desc(), TakeHomeLink.id.desc()))
        return [LinkView(r.id, r.created_at, r.expires_at,
                         link_state(r.expires_at, r.revoked_at, now)) for r in rows]


@dataclass(frozen=True)
class SharedPage:
    person: Person
    gathering_id: str
    state: LinkState


async def shared_by_token(sessions: async_sessionmaker, token: str,
                          now: datetime | None = None) -> SharedPage | None:
    """What a share link points at, and whether it still works; None for a token that was
    never made (or whose maker was erased). A link whose maker has left the theme counts as
    revoked."""
    now = now or datetime.now(UTC)
    async with sessions() as session:
        row = await session.scalar(select(TakeHomeLink).where(
            TakeHomeLink.token_hash == token_hash(token)))
        if row is None:
            return None
        person = await session.get(Person, row.person_id)
        gathering = await session.get(Gathering, row.gathering_id)
    if person is None or gathering is None:
        return None
    state = link_state(row.expires_at, row.revoked_at, now)
    if state is LinkState.ACTIVE and not await may_take_home(sessions, person, gathering):
        state = LinkState.REVOKED
    return SharedPage(person, row.gathering_id, state)
