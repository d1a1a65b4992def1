"""Ask the network, and find peers: help requests and their answers, messages between
members through the forum, and the theme's directory with "projects like ours".

One function per action, each checking the person's rights first and raising `Refused`
(with a code the page turns into words) when they may not, before anything is written.
Who may do what:
- read the theme's requests, answers and directory: the theme's members (all roles) and
  the programme lead. Every member reads every request: the list puts those that match
  the reader's municipality's project first, marked with why (facilitation/matching.py);
  the experts and runners, who have no project, see them all by date. The archive finds
  requests and answers for the same readers (rooms/search.py, audience: the theme).
- ask, answer, message: the theme's members except observers, and the programme lead;
- mark an answer helpful, close a request: its asker, or a runner of the theme;
- bring a request to the next gathering's agenda: a runner of the theme;
- messages: to a person who shares a theme with the sender (the lead shares them all);
  only the recipient reads or marks read.

Posting (asking, answering, messaging) is rate limited per person by the pages
(server/pages/network.py, with server/pages/limits.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitation import Rejected
from facilitation.matching import Asked, Match, ProjectCard, Reason, matches_request, projects_like
from facilitation.planning import AddItem
from facilitation.roles import RUNNERS, Role
from facilitation.state import Phase
from rooms.context import met_in
from rooms.directory import actor_in_gathering, role_in_theme
from rooms.forum_models import ForumMessage, HelpAnswer, HelpRequest
from rooms.live import LiveRooms
from rooms.models import Gathering, Membership, Municipality, Person, Project, Theme
from rooms.refusals import Refusal
from rooms.search import Findable, index

MAX_TITLE = 200
MAX_BODY = 5000
MAX_ANSWER = 5000
MAX_MESSAGE = 2000
LIST_LIMIT = 200  # requests listed at once (newest first): a theme asks tens a year
INBOX_LIMIT = 200
AGENDA_MINUTES = 10  # a request brought to a gathering gets a 10-minute plenary item
POSTERS = frozenset({Role.PROGRAMME_LEAD, Role.FACILITATOR, Role.EXPERT, Role.PARTICIPANT})


class Refused(Refusal):
    """The action is not done. `code`: forbidden, not_found, invalid, closed, no_gathering,
    started, already, rejected (and rate_limited, from the pages' posting limit)."""

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestView:
    id: int
    theme_id: int
    title: str
    body: str
    author_id: int | None
    author: str
    municipality: str  # the asker's, "" for none
    stage: str | None
    tags: tuple[str, ...]
    created_at: datetime
    closed_at: datetime | None
    agenda_gathering_id: str | None
    answers: int = 0
    helpful: int = 0
    reasons: tuple[Reason, ...] = ()  # why it matches the reader's project; () no match


@dataclass(frozen=True)
class AnswerView:
    id: int
    author_id: int | None
    author: str
    municipality: str
    body: str
    helpful: bool
    created_at: datetime


@dataclass(frozen=True)
class RequestPage:
    request: RequestView
    answers: list[AnswerView]
    may_answer: bool
    may_mark: bool  # mark answers helpful, close the request
    may_bring: bool
    brought_to: Gathering | None


async def _role(sessions: async_sessionmaker, person: Person, theme_id: int) -> Role:
    role = await role_in_theme(sessions, person, theme_id)
    if role is None:
        raise Refused("forbidden", "not a member of the theme")
    return role


def _card(project: Project, municipality: str) -> ProjectCard:
    return ProjectCard(project.id, municipality, project.title, project.stage,
                       tuple(project.tags or ()), project.can_share, project.needs_help)


async def theme_cards(session: AsyncSession, theme_id: int) -> list[ProjectCard]:
    rows = await session.execute(
        select(Project, Municipality.name)
        .join(Municipality, Municipality.id == Project.municipality_id)
        .where(Project.theme_id == theme_id)
        .order_by(Municipality.name, Project.grant_year.desc(), Project.id))
    return [_card(p, name) for p, name in rows]


def _asked(request: HelpRequest, municipality: str) -> Asked:
    return Asked(request.stage, tuple(request.tags or ()), f"{request.title}\n{request.body}",
                 municipality or None)


def best_reasons(asked: Asked, cards: list[ProjectCard]) -> tuple[Reason, ...]:
    """The reasons of the reader's project that matches the request best (most reasons)."""
    found = [matches_request(asked, card) for card in cards]
    return max(found, key=len, default=())


async def _request_rows(session: AsyncSession, where: object, limit: int
                        ) -> list[tuple[HelpRequest, str, str]]:
    rows = await session.execute(
        select(HelpRequest, Person.name, Municipality.name)
        .outerjoin(Person, Person.id == HelpRequest.author_id)
        .outerjoin(Municipality, Municipality.id == Person.municipality_id)
        .where(where)  # type: ignore[arg-type]
        .order_by(HelpRequest.created_at.desc(), HelpRequest.id.desc()).limit(limit))
    return [(r, name or "", place or "") for r, name, place in rows]


def _view(request: HelpRequest, author: str, place: str, answers: int = 0, helpful: int = 0,
          reasons: tuple[Reason, ...] = ()) -> RequestView:
    return RequestView(request.id, request.theme_id, request.title, request.body,
                       request.author_id, author, place, request.stage,
                       tuple(request.tags or ()), request.created_at, request.closed_at,
                       request.agenda_gathering_id, answers, helpful, reasons)


async def requests_for(sessions: async_sessionmaker, person: Person,
                       theme_id: int) -> list[RequestView]:
    """The theme's requests as the reader sees them: open ones before closed ones; of the
    open ones, those matching the reader's municipality's projects first (with why);
    newest first within each."""
    await _role(sessions, person, theme_id)
    async with sessions() as session:
        rows = await _request_rows(session, HelpRequest.theme_id == theme_id, LIST_LIMIT)
        ids = [r.id for r, _, _ in rows]
        counts: dict[int, tuple[int, int]] = {}
        if ids:
            for request_id, total, helpful in await session.execute(
                    select(HelpAnswer.request_id, func.count(),
                           func.count().filter(HelpAnswer.helpful))
                    .where(HelpAnswer.request_id.in_(ids)).group_by(HelpAnswer.request_id)):
                counts[request_id] = (total, helpful)
        ours = [c for c in await theme_cards(session, theme_id)
                if person.municipality is not None
                and c.municipality == person.municipality.name]
    views = [_view(r, author, place, *counts.get(r.id, (0, 0)),
                   reasons=() if r.author_id == person.id or r.closed_at is not None
                   else best_reasons(_asked(r, place), ours))
             for r, author, place in rows]
    # sorted() is stable: newest first stays within each group
    return sorted(views, key=lambda v: (v.closed_at is not None, not v.reasons))


async def request_page(sessions: async_sessionmaker, person: Person,
                       request_id: int) -> RequestPage:
    async with sessions() as session:
        found = await _request_rows(session, HelpRequest.id == request_id, 1)
    if not found:
        raise Refused("not_found")
    request, author, place = found[0]
    role = await _role(sessions, person, request.theme_id)
    async with sessions() as session:
        rows = await session.execute(
            select(HelpAnswer, Person.name, Municipality.name)
            .outerjoin(Person, Person.id == HelpAnswer.author_id)
            .outerjoin(Municipality, Municipality.id == Person.municipality_id)
            .where(HelpAnswer.request_id == request_id)
            .order_by(HelpAnswer.created_at, HelpAnswer.id))
        answers = [AnswerView(a.id, a.author_id, name or "", where or "", a.body, a.helpful,
                              a.created_at) for a, name, where in rows]
        brought = None if request.agenda_gathering_id is None else await session.get(
            Gathering, request.agenda_gathering_id)
        ours = [c for c in await theme_cards(session, request.theme_id)
                if person.municipality is not None
                and c.municipality == person.municipality.name]
    reasons = () if request.author_id == person.id else best_reasons(_asked(request, place),
                                                                      ours)
    is_open = request.closed_at is None
    runs = role in RUNNERS
    return RequestPage(
        _view(request, author, place, len(answers), sum(a.helpful for a in answers), reasons),
        answers, may_answer=is_open and role in POSTERS,
        may_mark=runs or request.author_id == person.id,
        may_bring=runs and is_open and request.agenda_gathering_id is None,
        brought_to=brought)


# --- writing -----------------------------------------------------------------------------


def _bounded(text: str, most: int) -> str:
    text = text.strip()
    if not text or len(text) > most:
        raise Refused("invalid", f"1 to {most} characters")
    return text


async def _theme(session: AsyncSession, theme_id: int) -> Theme:
    theme = await session.get(Theme, theme_id)
    if theme is None:
        raise Refused("not_found")
    return theme


def _request_url(slug: str, request_id: int) -> str:
    return f"/themes/{slug}/help/{request_id}"


async def ask(sessions: async_sessionmaker, person: Person, theme_id: int, *, title: str,
              body: str, now: datetime) -> int:
    """A member asks the network; the request carries their municipality's project's
    stage and topics (none without a project)."""
    if await _role(sessions, person, theme_id) not in POSTERS:
        raise Refused("forbidden", "observers read only")
    title, body = _bounded(title, MAX_TITLE), _bounded(body, MAX_BODY)
    async with sessions() as session, session.begin():
        theme = await _theme(session, theme_id)
        project = None if person.municipality_id is None else await session.scalar(
            select(Project).where(Project.municipality_id == person.municipality_id,
                                  Project.theme_id == theme_id)
            .order_by(Project.grant_year.desc(), Project.id.desc()).limit(1))
        request = HelpRequest(theme_id=theme_id, project_id=project.id if project else None,
                              author_id=person.id, title=title, body=body,
                              stage=project.stage if project else None,
                              tags=list(project.tags or ()) if project else [],
                              created_at=now)
        session.add(request)
        await session.flush()
        await index(session, Findable(
            "help", str(request.id), title, body, _request_url(theme.slug, request.id),
            now.year, now, theme_id, stage=request.stage, tags=tuple(request.tags)))
        return request.id


async def _open_request(session: AsyncSession, request_id: int) -> HelpRequest:
    request = await session.get(HelpRequest, request_id)
    if request is None:
        raise Refused("not_found")
    return request


async def _request_for(sessions: async_sessionmaker, person: Person, request_id: int,
                       roles: frozenset[Role], detail: str) -> HelpRequest:
    """The request, for a person whose role in its theme is one of `roles`; else
    Refused("forbidden", detail)."""
    async with sessions() as session:
        request = await _open_request(session, request_id)
    if await _role(sessions, person, request.theme_id) not in roles:
        raise Refused("forbidden", detail)
    return request


async def answer(sessions: async_sessionmaker, person: Person, request_id: int, *, body: str,
                 now: datetime) -> int:
    request = await _request_for(sessions, person, request_id, POSTERS, "observers read only")
    if request.closed_at is not None:
        raise Refused("closed")
    body = _bounded(body, MAX_ANSWER)
    async with sessions() as session, session.begin():
        theme = await _theme(session, request.theme_id)
        reply = HelpAnswer(request_id=request_id, author_id=person.id, body=body,
                           created_at=now)
        session.add(reply)
        await session.flush()
        await index(session, Findable(
            "answer", str(reply.id), request.title, body,
            f"{_request_url(theme.slug, request_id)}#answer-{reply.id}", now.year, now,
            request.theme_id, stage=request.stage, tags=tuple(request.tags or ())))
        return reply.id


async def request_of_answer(sessions: async_sessionmaker, answer_id: int) -> int | None:
    async with sessions() as session:
        return await session.scalar(select(HelpAnswer.request_id).where(
            HelpAnswer.id == answer_id))


async def _may_mark(sessions: async_sessionmaker, person: Person, request: HelpRequest) -> None:
    role = await _role(sessions, person, request.theme_id)
    if role not in RUNNERS and request.author_id != person.id:
        raise Refused("forbidden", "the asker or the facilitator")


async def mark_helpful(sessions: async_sessionmaker, person: Person, answer_id: int,
                       helpful: bool = True) -> int:
    """Mark an answer helpful (or not); the request's id."""
    async with sessions() as session:
        reply = await session.get(HelpAnswer, answer_id)
        if reply is None:
            raise Refused("not_found")
        request = await _open_request(session, reply.request_id)
    await _may_mark(sessions, person, request)
    async with sessions() as session, session.begin():
        await session.execute(update(HelpAnswer).where(HelpAnswer.id == answer_id)
                              .values(helpful=helpful))
    return request.id


async def close_request(sessions: async_sessionmaker, person: Person, request_id: int,
                        now: datetime) -> None:
    async with sessions() as session:
        request = await _open_request(session, request_id)
    await _may_mark(sessions, person, request)
    async with sessions() as session, session.begin():
        await session.execute(update(HelpRequest).where(
            HelpRequest.id == request_id, HelpRequest.closed_at.is_(None)).values(closed_at=now))


async def next_gathering(sessions: async_sessionmaker, theme_id: int,
                         now: datetime) -> Gathering | None:
    """The theme's next gathering: the first not cancelled that starts after `now`."""
    async with sessions() as session:
        return await session.scalar(
            select(Gathering).where(Gathering.theme_id == theme_id,
                                    Gathering.starts_at > now, Gathering.cancelled_at.is_(None))
            .order_by(Gathering.starts_at, Gathering.id).limit(1))


async def bring_to_next_gathering(sessions: async_sessionmaker, live: LiveRooms,
                                  person: Person, request_id: int, now: datetime) -> Gathering:
    """A runner puts the request on the next gathering's agenda: a plenary item titled
    with the request (before the wrap-up, if there is one), added by the one command path
    (`agenda.add_item`), so an open planner or console sees it at once. Only while that
    gathering has not started."""
    request = await _request_for(sessions, person, request_id, RUNNERS, "the facilitator")
    if request.agenda_gathering_id is not None:
        raise Refused("already")
    gathering = await next_gathering(sessions, request.theme_id, now)
    if gathering is None:
        raise Refused("no_gathering")
    state = await live.state(gathering.id)
    if state.phase is not Phase.LOBBY:
        raise Refused("started")
    actor = await actor_in_gathering(sessions, person, gathering)
    if actor is None:  # checked above: a runner of the theme
        raise Refused("forbidden")
    wrap_up = next((i for i, slot in enumerate(state.agenda) if slot.kind == "wrap_up"), None)
    command = AddItem(kind="plenary", title=request.title[:MAX_TITLE],
                      planned_minutes=AGENDA_MINUTES, position=wrap_up)
    try:
        outcome = await live.execute(actor, gathering.id, command, f"help-{request_id}")
    except Rejected as rejected:
        raise Refused("rejected", rejected.reason) from rejected
    if not outcome.answer.get("ok"):
        raise Refused("rejected", str(outcome.answer.get("error", {}).get("message", "")))
    async with sessions() as session, session.begin():
        await session.execute(update(HelpRequest).where(HelpRequest.id == request_id)
                              .values(agenda_gathering_id=gathering.id))
    return gathering


# --- messages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageView:
    id: int
    sender_id: int | None
    sender: str
    municipality: str
    body: str
    created_at: datetime
    read_at: datetime | None


async def _themes_of(session: AsyncSession, person_id: int) -> set[int]:
    return set(await session.scalars(select(Membership.theme_id).where(
        Membership.person_id == person_id)))


async def may_message(sessions: async_sessionmaker, sender: Person, recipient_id: int) -> bool:
    """Whether the two share a theme where the sender may post (the lead is in all)."""
    if recipient_id == sender.id:
        return False
    async with sessions() as session:
        recipient = await session.get(Person, recipient_id)
        if recipient is None:
            return False
        if sender.is_programme_lead or recipient.is_programme_lead:
            return True
        posting = set(await session.scalars(select(Membership.theme_id).where(
            Membership.person_id == sender.id,
            Membership.role.in_([r.value for r in POSTERS]))))
        return bool(posting & await _themes_of(session, recipient_id))


async def send_message(sessions: async_sessionmaker, sender: Person, recipient_id: int, *,
                       body: str, now: datetime) -> Person:
    """Send; the recipient (whom the caller may tell by mail)."""
    if not await may_message(sessions, sender, recipient_id):
        raise Refused("forbidden", "you share no theme")
    body = _bounded(body, MAX_MESSAGE)
    async with sessions() as session, session.begin():
        session.add(ForumMessage(sender_id=sender.id, recipient_id=recipient_id, body=body,
                                 created_at=now))
        recipient = await session.get(Person, recipient_id)
        if recipient is None:  # checked by may_message
            raise Refused("not_found")
        return recipient


async def inbox(sessions: async_sessionmaker, person: Person) -> list[MessageView]:
    async with sessions() as session:
        rows = await session.execute(
            select(ForumMessage, Person.name, Municipality.name)
            .outerjoin(Person, Person.id == ForumMessage.sender_id)
            .outerjoin(Municipality, Municipality.id == Person.municipality_id)
            .where(ForumMessage.recipient_id == person.id)
            .order_by(ForumMessage.created_at.desc(), ForumMessage.id.desc())
            .limit(INBOX_LIMIT))
        return [MessageView(m.id, m.sender_id, name or "", place or "", m.body, m.created_at,
                            m.read_at) for m, name, place in rows]


async def unread_messages(sessions: async_sessionmaker, person: Person) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ForumMessage).where(
            ForumMessage.recipient_id == person.id, ForumMessage.read_at.is_(None))) or 0)


async def mark_read(sessions: async_sessionmaker, person: Person, message_id: int,
                    now: datetime) -> None:
    """Only the recipient marks their message read; someone else's is "not found"."""
    async with sessions() as session, session.begin():
        done = await session.execute(
            update(ForumMessage).where(ForumMessage.id == message_id,
                                       ForumMessage.recipient_id == person.id,
                                       ForumMessage.read_at.is_(None)).values(read_at=now))
        if done.rowcount == 0 and await session.scalar(
                select(ForumMessage.id).where(ForumMessage.id == message_id,
                                              ForumMessage.recipient_id == person.id)) is None:
            raise Refused("not_found")


# --- the directory -------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerView:
    id: int
    name: str
    title: str
    role: Role
    email: str | None  # only if they chose to show it


@dataclass
class PlaceView:
    name: str
    projects: list[ProjectCard] = field(default_factory=list)
    people: list[PeerView] = field(default_factory=list)


@dataclass(frozen=True)
class Directory:
    places: list[PlaceView]  # the theme's municipalities, A-Z
    others: list[PeerView]  # members of no municipality: facilitators, experts
    ours: list[tuple[ProjectCard, list[Match]]]  # the reader's projects and those like them


async def theme_met(sessions: async_sessionmaker, live: LiveRooms,
                    theme_id: int) -> frozenset[frozenset[str]]:
    """Who met whom in the theme's gatherings (breakout groups; a gathering not yet held
    has none). Each view of the directory folds the theme's logs again (not measured at
    scale); a cache per (gathering, length of its log, rewrites) is the step to take if
    years of gatherings make it slow."""
    async with sessions() as session:
        ids = list(await session.scalars(select(Gathering.id).where(
            Gathering.theme_id == theme_id)))
    return await met_in(live.store, ids)


async def directory(sessions: async_sessionmaker, live: LiveRooms, person: Person,
                    theme_id: int) -> Directory:
    await _role(sessions, person, theme_id)
    async with sessions() as session:
        cards = await theme_cards(session, theme_id)
        rows = await session.execute(
            select(Person, Membership.role)
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.theme_id == theme_id)
            .order_by(Person.name, Person.id))
        members = [(p, Role(r)) for p, r in rows]
    places: dict[str, PlaceView] = {}
    for card in cards:
        places.setdefault(card.municipality, PlaceView(card.municipality)).projects.append(card)
    others = []
    for member, role in members:
        peer = PeerView(member.id, member.name, member.title or "", role,
                        member.email if member.show_email else None)
        if member.municipality is None:
            others.append(peer)
        else:
            name = member.municipality.name
            places.setdefault(name, PlaceView(name)).people.append(peer)
    mine = person.municipality.name if person.municipality else None
    ours = [c for c in cards if c.municipality == mine]
    met = await theme_met(sessions, live, theme_id) if ours else frozenset()
    return Directory(sorted(places.values(), key=lambda p: p.name.casefold()), others,
                     [(card, projects_like(card, cards, met)) for card in ours])


async def set_show_email(sessions: async_sessionmaker, person: Person, show: bool) -> None:
    """A person chooses whether the theme's members see their e-mail address."""
    async with sessions() as session, session.begin():
        await session.execute(update(Person).where(Person.id == person.id)
                              .values(show_email=show))
