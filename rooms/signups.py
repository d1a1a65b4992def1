"""Who is coming: members' sign-ups for a gathering, the runners' lists of who is
expected, the breakout groups proposed in advance, and whom the day-before reminder is for.
The rules are pure, in facilitation/signups.py; each action here checks its rights."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, literal, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import raiseload

from facilitation import Role
from facilitation.roles import runs_gathering
from facilitation.signups import (
    ANSWERS,
    COMING,
    MAX_WISH_CHARS,
    REMINDER_EARLIEST,
    REMINDER_LATEST,
    Answer,
    may_answer,
    reminder_due,
)
from facilitation.state import AdvanceGroups, BreakoutPlan, Group, GroupingRule, Member
from rooms.directory import role_in_theme
from rooms.forum_models import OnceJob, SignUp
from rooms.models import Gathering, Membership, Municipality, Person, Project


class NotAllowed(Exception):
    """The person may not do this (not a member of the theme; not one of its runners)."""


class Closed(Exception):
    """The gathering has started or was cancelled: answers can no longer change."""


async def _gathering(sessions: async_sessionmaker, gathering_id: str) -> Gathering:
    async with sessions() as session:
        gathering = await session.get(Gathering, gathering_id)
    if gathering is None:
        raise NotAllowed("no such gathering")
    return gathering


async def sign_up(sessions: async_sessionmaker, person: Person, gathering_id: str, *,
                  answer: str, wish: str, now: datetime) -> SignUp:
    """A member's answer for a gathering (a new one replaces the old) until it starts."""
    gathering = await _gathering(sessions, gathering_id)
    if await role_in_theme(sessions, person, gathering.theme_id) is None:
        raise NotAllowed("not a member of the gathering's theme")
    if answer not in ANSWERS or len(wish) > MAX_WISH_CHARS:
        raise ValueError("an answer is coming, not_coming or colleague, with a short wish")
    if not may_answer(gathering.starts_at, gathering.cancelled_at is not None, now):
        raise Closed("the gathering has started or was cancelled")
    async with sessions() as session, session.begin():
        row = await session.get(SignUp, (gathering_id, person.id))
        if row is None:
            row = SignUp(gathering_id=gathering_id, person_id=person.id)
            session.add(row)
        row.answer, row.wish, row.updated_at = answer, wish.strip(), now
    return row


async def answer_of(sessions: async_sessionmaker, person_id: int,
                    gathering_id: str) -> SignUp | None:
    async with sessions() as session:
        return await session.get(SignUp, (gathering_id, person_id))


async def may_run(sessions: async_sessionmaker, person: Person, gathering: Gathering) -> bool:
    role = await role_in_theme(sessions, person, gathering.theme_id)
    return role is not None and runs_gathering(role)


async def answers(sessions: async_sessionmaker, gathering: Gathering) -> list[Answer]:
    """Every sign-up for the gathering, with each person's municipality and whether they
    are a participant of the theme (by name, A-Z)."""
    async with sessions() as session:
        rows = await session.execute(
            select(SignUp, Person, Municipality.name, Membership.role)
            .join(Person, Person.id == SignUp.person_id)
            .outerjoin(Municipality, Municipality.id == Person.municipality_id)
            .outerjoin(Membership, (Membership.person_id == Person.id)
                       & (Membership.theme_id == gathering.theme_id))
            .where(SignUp.gathering_id == gathering.id))
        found = [Answer(person.id, person.name, row.answer, row.wish, person.municipality_id,
                        place, role == Role.PARTICIPANT.value)
                 for row, person, place, role in rows]
    return sorted(found, key=lambda a: (a.name.casefold(), a.person_id))


async def projects_of(sessions: async_sessionmaker, theme_id: int, municipality_ids: set[int]
                      ) -> dict[int, list[Project]]:
    """Each municipality's projects in the theme, oldest first (the newest last)."""
    if not municipality_ids:
        return {}
    async with sessions() as session:
        rows = await session.scalars(
            select(Project)
            .where(Project.theme_id == theme_id, Project.municipality_id.in_(municipality_ids))
            .order_by(Project.grant_year, Project.id))
        found: dict[int, list[Project]] = {}
        for project in rows:
            found.setdefault(project.municipality_id, []).append(project)
        return found


# --- groups proposed in advance -----------------------------------------------------------


def _group_data(group: Group) -> dict[str, Any]:
    return {"id": group.id, "name": group.name,
            "members": [{**asdict(m), "tags": list(m.tags)} for m in group.members]}


def _group(data: dict[str, Any]) -> Group:
    return Group(str(data["id"]), str(data["name"]), tuple(
        Member(int(m["person_id"]), str(m["name"]), m.get("municipality"), m.get("stage"),
               tuple(m.get("tags") or ())) for m in data["members"]))


@dataclass(frozen=True)
class SavedProposal:
    advance: AdvanceGroups
    made_at: datetime


def _proposal(item_id: str, data: dict[str, Any]) -> SavedProposal | None:
    try:
        plan = BreakoutPlan(rule=GroupingRule(data["plan"]["rule"]),
                            group_size=int(data["plan"]["group_size"]),
                            spread_municipalities=bool(data["plan"]["spread_municipalities"]))
        groups = tuple(_group(g) for g in data["groups"])
        return SavedProposal(AdvanceGroups(int(item_id), plan, groups),
                             datetime.fromisoformat(data["made_at"]))
    except (KeyError, TypeError, ValueError):  # a shape from an older version: ignored
        return None


def proposals_of(gathering: Gathering) -> dict[int, SavedProposal]:
    """The gathering's advance proposals by agenda item id."""
    found = {}
    for item_id, data in (gathering.breakout_proposals or {}).items():
        proposal = _proposal(item_id, data)
        if proposal is not None:
            found[proposal.advance.item_id] = proposal
    return found


async def advance_groups(sessions: async_sessionmaker,
                         gathering_id: str) -> tuple[AdvanceGroups, ...]:
    """What the live decision gets (facilitation Context.advance)."""
    async with sessions() as session:
        gathering = await session.get(Gathering, gathering_id)
    if gathering is None:
        return ()
    return tuple(p.advance for p in proposals_of(gathering).values())


async def save_proposal(sessions: async_sessionmaker, person: Person, gathering_id: str,
                        advance: AdvanceGroups, now: datetime) -> None:
    """Keep the runners' advance proposal for one breakout item (replacing an earlier one)."""
    gathering = await _gathering(sessions, gathering_id)
    if not await may_run(sessions, person, gathering):
        raise NotAllowed("only the theme's runners propose groups")
    data = {"plan": {"rule": advance.plan.rule.value, "group_size": advance.plan.group_size,
                     "spread_municipalities": advance.plan.spread_municipalities},
            "groups": [_group_data(g) for g in advance.groups], "made_at": now.isoformat(),
            "made_by": person.id}
    async with sessions() as session, session.begin():
        # locked, so two runners proposing for two items at once both keep theirs
        row = await session.scalar(select(Gathering).where(Gathering.id == gathering_id)
                                   .options(raiseload(Gathering.theme)).with_for_update())
        assert row is not None
        # a new dict: the JSON column sees a change only when it is assigned a new value
        row.breakout_proposals = {**(row.breakout_proposals or {}), str(advance.item_id): data}


# --- the day-before reminder ------------------------------------------------------------------


async def reminders_due(sessions: async_sessionmaker, now: datetime,
                        kind: str) -> list[tuple[Gathering, list[Person]]]:
    """The gatherings whose reminder window is open at `now`, each with the people who
    signed up as coming and have no reminder claimed yet (rooms/once.py, under `kind`, key
    "{gathering}:{person}"): a worker looking every minute finds nothing left to do."""
    async with sessions() as session:
        gatherings = list(await session.scalars(
            select(Gathering).where(Gathering.cancelled_at.is_(None),
                                    Gathering.starts_at > now + REMINDER_LATEST,
                                    Gathering.starts_at <= now + REMINDER_EARLIEST)
            .order_by(Gathering.starts_at)))
        due = []
        for gathering in gatherings:
            if not reminder_due(gathering.starts_at, False, now):
                continue
            claimed = select(OnceJob.key).where(
                OnceJob.kind == kind,
                OnceJob.key == literal(f"{gathering.id}:") + cast(Person.id, String))
            people = list(await session.scalars(
                select(Person).join(SignUp, SignUp.person_id == Person.id)
                .where(SignUp.gathering_id == gathering.id, SignUp.answer == COMING,
                       ~claimed.exists())
                .order_by(Person.id)))
            if people:
                due.append((gathering, people))
        return due
