"""Inviting people to a theme in bulk, and following up who has signed in.

A pasted list is read by `parse_people` (a pure function): one person a line, as
"Name <email>; Municipality" or "name;email;municipality" (a comma works too; the
municipality may be left out). `invite_people` then creates or updates everyone, sets their
role in the theme and makes their sign-in links in one transaction: if any line is wrong
(its format, or a municipality that is not there), nothing is done and every wrong line is
told with its number."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitation import Role
from rooms.accounts import hash_token
from rooms.models import Invitation, Membership, Municipality, Person, WebSession
from rooms.roster import AmbiguousMunicipality, UnknownMunicipality, _municipality

MAX_LINES = 500
EMAIL = re.compile(r"^[^@\s<>;,]{1,64}@[^@\s<>;,]{1,255}\.[^@\s<>;,.]{2,63}$")
ANGLED = re.compile(r"^(?P<name>[^<>]*)<(?P<email>[^<>]+)>\s*[;,]?\s*(?P<place>.*)$")
# who may invite whom: the programme lead names any role; a theme's facilitator these
FACILITATOR_INVITES = frozenset({Role.PARTICIPANT, Role.EXPERT, Role.OBSERVER})
LEAD_INVITES = FACILITATOR_INVITES | {Role.FACILITATOR}


@dataclass(frozen=True)
class Invitee:
    line: int
    name: str
    email: str
    municipality: str


@dataclass(frozen=True)
class LineError:
    line: int
    text: str
    reason: str  # an English reason code the page turns into words: see server/pages


@dataclass(frozen=True)
class Invited:
    person_id: int
    email: str
    token: str
    language: str = "nb"  # the person's, for the e-mail


@dataclass(frozen=True)
class PersonStatus:
    person_id: int
    name: str
    email: str
    role: Role
    municipality: str
    signed_in: bool  # a link of theirs was used, or a browser of theirs is signed in
    pending: bool  # a link that still works is out
    revoked: bool  # their links were taken back, and none works now


def parse_people(text: str) -> tuple[list[Invitee], list[LineError]]:
    """The people of a pasted list, and the lines that could not be read (with why)."""
    people: list[Invitee] = []
    errors: list[LineError] = []
    seen: set[str] = set()
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        return [], [LineError(MAX_LINES + 1, "", "too-many")]
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        found = ANGLED.match(line)
        if found:
            name, email, place = found["name"], found["email"], found["place"]
        else:
            parts = [p.strip() for p in re.split(r"[;,\t]", line)]
            if len(parts) < 2 or len(parts) > 3:
                errors.append(LineError(number, line, "format"))
                continue
            name, email, place = parts[0], parts[1], parts[2] if len(parts) == 3 else ""
        name, email, place = " ".join(name.split()), email.strip().lower(), " ".join(
            place.strip(" ;,").split())
        if not EMAIL.match(email):
            errors.append(LineError(number, line, "email"))
        elif not 1 <= len(name) <= 200 or len(place) > 200:
            errors.append(LineError(number, line, "name"))
        elif email in seen:
            errors.append(LineError(number, line, "duplicate"))
        else:
            seen.add(email)
            people.append(Invitee(number, name, email, place))
    return people, errors


def may_invite(person: Person, role_in_theme: Role | None, invited: Role) -> bool:
    if person.is_programme_lead:
        return invited in LEAD_INVITES
    return role_in_theme is Role.FACILITATOR and invited in FACILITATOR_INVITES


def _new_invitation(session: AsyncSession, person_id: int, days: int) -> str:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(Invitation(token_hash=hash_token(token), person_id=person_id, created_at=now,
                           expires_at=now + timedelta(days=days)))
    return token


async def invite_people(sessions: async_sessionmaker, theme_id: int, role: Role,
                        people: list[Invitee], *, days: int
                        ) -> tuple[list[Invited], list[LineError]]:
    """Everyone in `people` with `role` in the theme and a new sign-in link, or, when a
    municipality named is not there, nothing at all and the lines that named one."""
    async with sessions() as session:
        places: dict[int, Municipality | None] = {}
        errors: list[LineError] = []
        for invitee in people:
            try:
                places[invitee.line] = None if not invitee.municipality else (
                    await _municipality(session, invitee.municipality, create=False))
            except (UnknownMunicipality, AmbiguousMunicipality):
                errors.append(LineError(invitee.line, invitee.municipality, "municipality"))
        if errors:
            return [], errors
        invited: list[Invited] = []
        for invitee in people:
            place = places[invitee.line]
            person = await session.scalar(select(Person).where(Person.email == invitee.email))
            if person is None:
                person = Person(email=invitee.email, name=invitee.name,
                                municipality_id=place.id if place else None)
                session.add(person)
                await session.flush()
            else:
                person.name = invitee.name
                if place is not None:
                    person.municipality_id = place.id
            membership = await session.scalar(select(Membership).where(
                Membership.person_id == person.id, Membership.theme_id == theme_id))
            if membership is None:
                session.add(Membership(person_id=person.id, theme_id=theme_id,
                                       role=role.value))
            elif not (membership.role == Role.FACILITATOR.value
                      and role is not Role.FACILITATOR):
                membership.role = role.value  # a list never demotes a facilitator
            invited.append(Invited(person.id, person.email,
                                   _new_invitation(session, person.id, days),
                                   person.language or "nb"))
        await session.commit()
        return invited, []


async def people_status(sessions: async_sessionmaker, theme_id: int) -> list[PersonStatus]:
    """The theme's members, and whether each has signed in or has a link out."""
    now = datetime.now(UTC)
    async with sessions() as session:
        rows = list(await session.execute(
            select(Person, Membership.role).join(Membership, Membership.person_id == Person.id)
            .where(Membership.theme_id == theme_id).order_by(Person.name, Person.id)))
        ids = [p.id for p, _ in rows]
        invitations = list(await session.scalars(
            select(Invitation).where(Invitation.person_id.in_(ids)))) if ids else []
        with_session = set(await session.scalars(
            select(WebSession.person_id).where(WebSession.person_id.in_(ids)))) if ids else set()
    mine: dict[int, list[Invitation]] = {}
    for invitation in invitations:
        mine.setdefault(invitation.person_id, []).append(invitation)
    out = []
    for person, role in rows:
        links = mine.get(person.id, [])
        used = any(i.used_at is not None for i in links)
        pending = any(i.revoked_at is None and i.used_at is None and i.expires_at > now
                      for i in links)
        revoked = not pending and any(i.revoked_at is not None for i in links)
        out.append(PersonStatus(person.id, person.name, person.email, Role(role),
                                person.municipality.name if person.municipality else "",
                                used or person.id in with_session, pending, revoked))
    return out


async def member_role(sessions: async_sessionmaker, theme_id: int, person_id: int
                      ) -> Role | None:
    async with sessions() as session:
        role = await session.scalar(select(Membership.role).where(
            Membership.theme_id == theme_id, Membership.person_id == person_id))
    return None if role is None else Role(role)


async def resend(sessions: async_sessionmaker, person_id: int, *, days: int) -> Invited:
    """A new sign-in link for the person (earlier ones keep working until they expire)."""
    async with sessions() as session:
        person = await session.get(Person, person_id)
        assert person is not None
        token = _new_invitation(session, person_id, days)
        await session.commit()
        return Invited(person_id, person.email, token, person.language or "nb")


async def revoke(sessions: async_sessionmaker, person_id: int) -> int:
    """Take back every sign-in link of the person's that is still open; how many."""
    async with sessions() as session:
        done = await session.execute(
            update(Invitation).where(Invitation.person_id == person_id,
                                     Invitation.revoked_at.is_(None),
                                     Invitation.used_at.is_(None))
            .values(revoked_at=datetime.now(UTC)))
        await session.commit()
        return int(done.rowcount or 0)
