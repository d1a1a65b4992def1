"""Expert bookings and the questions asked for a gathering before the day.

Bookings: the theme's runners (its facilitators, the programme lead) invite an expert to an
expert slot (an `expert_talk` or `qa` item) of a gathering that has not ended. The expert
answers by a link whose token only the mail holds (its sha256 is stored, as for sign-in
links). Answering is idempotent: the same answer again changes nothing. An answer is final
for that invitation: an expert who declined and changes their mind gets a new invitation
(a new link, a new row), so what the facilitator saw answered stays so. Accepting makes (or
finds) the Person for the address, gives them the `expert` role in the theme when they
have none there (a role they have is kept: a facilitator stays one, a municipality's
participant who presents stays in the breakout groups), and names them the slot's expert:
the agenda item's row and, through the one command path, the live agenda
(`agenda.update_item` on behalf of the facilitator who invited).

Advance questions: the theme's members who may speak in the room ask (and vote for)
questions for the gathering while its room has not opened; `question.bring_advance`
(facilitation/questions.py) makes them live questions, once (the gathering's log says
which came: `Question.advance_id`); `brought_at` mirrors that for the forum's pages."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitation import Actor, AgendaSlot, Phase, Rejected, Role
from facilitation.planning import EXPERT_KINDS, UpdateItem
from facilitation.roles import SPEAKERS, runs_gathering
from facilitation.state import AdvanceAsk, PersonRef
from rooms.accounts import hash_token
from rooms.directory import role_in_theme
from rooms.forum_models import AdvanceQuestion, AdvanceVote, ExpertBooking
from rooms.live import LiveRooms
from rooms.models import AgendaItem, Gathering, Membership, Person
from rooms.refusals import Refusal
from rooms.schedule import phase_of

MAX_TOPIC = 300
MAX_BRIEF = 5000
MAX_NAME = 200
MAX_ORGANISATION = 200
MIN_MINUTES, MAX_MINUTES = 1, 120
MAX_QUESTION = 500
MAX_QUESTIONS_PER_PERSON = 10  # per gathering: enough to ask, too few to flood
MAX_QUESTIONS = 300  # per gathering (the live Q&A takes 500 in all)
INVITED, ACCEPTED, DECLINED = "invited", "accepted", "declined"


class ExpertError(Refusal):
    """A refusal. `code`: not_allowed, not_found, no_slot, ended, cancelled, started,
    answered, too_many."""


@dataclass(frozen=True)
class Invite:
    item_id: int
    name: str
    email: str
    organisation: str
    topic: str
    minutes: int
    brief: str


@dataclass(frozen=True)
class Answered:
    booking: ExpertBooking
    changed: bool  # False: the same answer came again
    inviter: Person | None
    slot_set: bool = False  # the live agenda names the expert now


@dataclass(frozen=True)
class AskedRow:
    """An advance question as the pages list it."""

    id: int
    text: str
    author: str
    municipality: str
    votes: int
    mine: bool
    voted: bool
    brought: bool
    created_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


async def _gathering(session: AsyncSession, gathering_id: str) -> Gathering:
    gathering = await session.get(Gathering, gathering_id)
    if gathering is None:
        raise ExpertError("not_found")
    return gathering


async def _runs(sessions: async_sessionmaker, person: Person, gathering: Gathering) -> bool:
    role = await role_in_theme(sessions, person, gathering.theme_id)
    return role is not None and runs_gathering(role)


def expert_slots(agenda: tuple[AgendaSlot, ...]) -> list[AgendaSlot]:
    """The agenda's items an expert can be booked for."""
    return [slot for slot in agenda if slot.kind in EXPERT_KINDS]


# --- bookings ----------------------------------------------------------------------------


async def invite(sessions: async_sessionmaker, live: LiveRooms, person: Person,
                 gathering_id: str, form: Invite) -> tuple[ExpertBooking, str]:
    """A new booking and its token (for the mail; only its hash is kept)."""
    async with sessions() as session:
        gathering = await _gathering(session, gathering_id)
        if not await _runs(sessions, person, gathering):
            raise ExpertError("not_allowed")
        if gathering.cancelled_at is not None:
            raise ExpertError("cancelled")
        state = await live.state(gathering_id)
        if state.phase is Phase.ENDED:
            raise ExpertError("ended")
        if form.item_id not in {s.id for s in expert_slots(state.agenda)}:
            raise ExpertError("no_slot")
        if form.item_id in state.started_items:
            raise ExpertError("started")
        token = secrets.token_urlsafe(32)
        booking = ExpertBooking(
            gathering_id=gathering_id, item_id=form.item_id, name=form.name,
            email=form.email.lower(), organisation=form.organisation, topic=form.topic,
            minutes=form.minutes, brief=form.brief, token_hash=hash_token(token),
            status=INVITED, invited_by=person.id, invited_at=_now())
        session.add(booking)
        await session.commit()
        await session.refresh(booking)
        return booking, token


async def bookings_of(sessions: async_sessionmaker, person: Person,
                      gathering_id: str) -> list[ExpertBooking]:
    """The gathering's bookings, newest first, for its runners."""
    async with sessions() as session:
        gathering = await _gathering(session, gathering_id)
        if not await _runs(sessions, person, gathering):
            raise ExpertError("not_allowed")
        rows = await session.scalars(select(ExpertBooking).where(
            ExpertBooking.gathering_id == gathering_id).order_by(ExpertBooking.id.desc()))
        return list(rows)


async def booking_for(sessions: async_sessionmaker, token: str) -> ExpertBooking | None:
    """The booking a link's token opens (the gathering loaded with it), or None."""
    async with sessions() as session:
        return await session.scalar(select(ExpertBooking).where(
            ExpertBooking.token_hash == hash_token(token)))


async def _expert_person(session: AsyncSession, booking: ExpertBooking,
                         theme_id: int) -> Person:
    """The Person for the booking's address (made if new), with a role in the theme."""
    person = await session.scalar(select(Person).where(Person.email == booking.email))
    if person is None:
        person = Person(email=booking.email, name=booking.name)
        session.add(person)
        await session.flush()
    has_role = await session.scalar(select(Membership.id).where(
        Membership.person_id == person.id, Membership.theme_id == theme_id))
    if has_role is None:
        session.add(Membership(person_id=person.id, theme_id=theme_id, role=Role.EXPERT.value))
    return person


async def answer(sessions: async_sessionmaker, live: LiveRooms, token: str,
                 accept: bool) -> Answered:
    """The expert's answer by their link. The same answer twice changes nothing; the other
    answer after one was given is refused (`answered`)."""
    wanted = ACCEPTED if accept else DECLINED
    async with sessions() as session:
        booking = await session.scalar(select(ExpertBooking).where(
            ExpertBooking.token_hash == hash_token(token)))
        if booking is None:
            raise ExpertError("not_found")
        inviter = None if booking.invited_by is None else await session.get(
            Person, booking.invited_by)
        if booking.status == wanted:
            return Answered(booking, False, inviter)
        if booking.status != INVITED:
            raise ExpertError("answered")
        gathering = await _gathering(session, booking.gathering_id)
        if accept:
            if gathering.cancelled_at is not None:
                raise ExpertError("cancelled")
            if await phase_of(sessions, session, gathering.id) is Phase.ENDED:
                raise ExpertError("ended")
        # the status moves from `invited` once, whichever worker gets here first
        moved = await session.execute(
            update(ExpertBooking).where(ExpertBooking.id == booking.id,
                                        ExpertBooking.status == INVITED)
            .values(status=wanted, answered_at=_now()))
        if moved.rowcount != 1:
            await session.rollback()
            return await answer(sessions, live, token, accept)
        if accept:
            person = await _expert_person(session, booking, gathering.theme_id)
            booking.person_id = person.id
            await session.execute(  # the item's row, when the item is one of the gathering's
                update(AgendaItem).where(AgendaItem.id == booking.item_id,
                                         AgendaItem.gathering_id == gathering.id)
                .values(expert_id=person.id))
        await session.commit()
        await session.refresh(booking)
    slot_set = accept and await _name_in_live_agenda(live, booking, inviter)
    return Answered(booking, True, inviter, slot_set)


async def _name_in_live_agenda(live: LiveRooms, booking: ExpertBooking,
                               inviter: Person | None) -> bool:
    """The live agenda names the expert for the slot: the facilitator's plan, confirmed by
    the expert, sent on the inviter's behalf through the one command path. False when the
    agenda can no longer take it (the item started, was removed, or the gathering ended);
    the booking stays accepted and the planner shows the slot as it is."""
    if booking.item_id is None or booking.person_id is None:
        return False
    actor = Actor(inviter.id if inviter else 0, inviter.name if inviter else "Klimasats-forum",
                  Role.FACILITATOR)
    try:
        await live.execute(actor, booking.gathering_id,
                           UpdateItem(booking.item_id, expert_id=booking.person_id))
    except Rejected:
        return False
    return True


async def person_of_booking(sessions: async_sessionmaker, booking: ExpertBooking
                            ) -> Person | None:
    """The accepted expert's Person (who the green-room link signs in)."""
    if booking.status != ACCEPTED or booking.person_id is None:
        return None
    async with sessions() as session:
        return await session.get(Person, booking.person_id)


# --- questions asked in advance ----------------------------------------------------------


async def _member_role(sessions: async_sessionmaker, person: Person,
                       gathering: Gathering) -> Role:
    role = await role_in_theme(sessions, person, gathering.theme_id)
    if role is None:
        raise ExpertError("not_allowed")
    return role


async def _may_ask_now(sessions: async_sessionmaker, session: AsyncSession,
                       gathering: Gathering) -> None:
    """Before the day only: once the room is open, questions are asked in the room."""
    if gathering.cancelled_at is not None:
        raise ExpertError("cancelled")
    if await phase_of(sessions, session, gathering.id) is not Phase.LOBBY:
        raise ExpertError("started")


async def ask(sessions: async_sessionmaker, person: Person, gathering_id: str,
              text: str) -> AdvanceQuestion:
    async with sessions() as session:
        gathering = await _gathering(session, gathering_id)
        if await _member_role(sessions, person, gathering) not in SPEAKERS:
            raise ExpertError("not_allowed")
        await _may_ask_now(sessions, session, gathering)
        mine, everyone = (await session.execute(select(
            func.count().filter(AdvanceQuestion.author_id == person.id), func.count())
            .where(AdvanceQuestion.gathering_id == gathering_id))).one()
        if mine >= MAX_QUESTIONS_PER_PERSON or everyone >= MAX_QUESTIONS:
            raise ExpertError("too_many")
        question = AdvanceQuestion(gathering_id=gathering_id, author_id=person.id, text=text,
                                   created_at=_now())
        session.add(question)
        await session.commit()
        await session.refresh(question)
        return question


async def vote(sessions: async_sessionmaker, person: Person, gathering_id: str,
               question_id: int, up: bool) -> None:
    """One vote per person and question; voting twice is voting once, and nobody votes
    for their own question."""
    async with sessions() as session:
        gathering = await _gathering(session, gathering_id)
        if await _member_role(sessions, person, gathering) not in SPEAKERS:
            raise ExpertError("not_allowed")
        question = await session.get(AdvanceQuestion, question_id)
        if question is None or question.gathering_id != gathering_id:
            raise ExpertError("not_found")
        await _may_ask_now(sessions, session, gathering)
        if question.author_id == person.id:
            raise ExpertError("own")
        if not up:
            await session.execute(delete(AdvanceVote).where(
                AdvanceVote.question_id == question_id, AdvanceVote.person_id == person.id))
            await session.commit()
            return
        if await session.get(AdvanceVote, (question_id, person.id)) is None:
            session.add(AdvanceVote(question_id=question_id, person_id=person.id))
            try:
                await session.commit()
            except IntegrityError:  # the same vote from another tab, at the same moment
                await session.rollback()


async def _rows(session: AsyncSession, gathering_id: str
                ) -> list[tuple[AdvanceQuestion, Person | None, set[int]]]:
    questions = list(await session.scalars(select(AdvanceQuestion).where(
        AdvanceQuestion.gathering_id == gathering_id)))
    ids = [q.id for q in questions]
    voters: dict[int, set[int]] = {i: set() for i in ids}
    if ids:
        for question_id, person_id in await session.execute(select(
                AdvanceVote.question_id, AdvanceVote.person_id).where(
                AdvanceVote.question_id.in_(ids))):
            voters[question_id].add(person_id)
    authors = {q.author_id for q in questions if q.author_id is not None}
    people = {p.id: p for p in await session.scalars(
        select(Person).where(Person.id.in_(authors)))} if authors else {}
    return [(q, people.get(q.author_id) if q.author_id else None, voters[q.id])
            for q in questions]


async def questions_for(sessions: async_sessionmaker, gathering_id: str,
                        viewer_id: int | None) -> list[AskedRow]:
    """The gathering's advance questions, most votes first, then in the order asked. The
    caller has checked that the viewer may read them (a member, or the booked expert)."""
    async with sessions() as session:
        rows = await _rows(session, gathering_id)
    listed = [AskedRow(q.id, q.text, author.name if author else "",
                       author.municipality.name if author and author.municipality else "",
                       len(voters), q.author_id == viewer_id and viewer_id is not None,
                       viewer_id in voters, q.brought_at is not None, q.created_at)
              for q, author, voters in rows]
    return sorted(listed, key=lambda r: (-r.votes, r.created_at, r.id))


async def advance_asks(sessions: async_sessionmaker, gathering_id: str
                       ) -> tuple[AdvanceAsk, ...]:
    """What `question.bring_advance` needs: the questions not brought yet, with their
    voters (a question whose author was erased is left out: it has no one to name)."""
    async with sessions() as session:
        rows = await _rows(session, gathering_id)
    return tuple(
        AdvanceAsk(q.id, q.text, q.created_at.timestamp(),
                   PersonRef(author.id, author.name,
                             author.municipality.name if author.municipality else None),
                   frozenset(voters))
        for q, author, voters in rows if author is not None and q.brought_at is None)


async def mark_brought(sessions: async_sessionmaker, advance_ids: list[int]) -> None:
    """The forum's mirror of the log: these questions are live questions now."""
    if not advance_ids:
        return
    async with sessions() as session:
        await session.execute(update(AdvanceQuestion).where(
            AdvanceQuestion.id.in_(advance_ids), AdvanceQuestion.brought_at.is_(None))
            .values(brought_at=_now()))
        await session.commit()
