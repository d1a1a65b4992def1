"""Privacy (GDPR): everything the forum holds about one person, and erasing it.

`personal_data` gathers what the database holds about a person as one JSON-able dict (the
"Mine data" download). `erase_person` erases them in one transaction:

- the `people` row stays as a *tombstone*: name `DELETED_NAME`, an address that can never
  receive mail, no title, municipality, role or language. It is kept, not deleted, because
  the event log, note updates, stage changes and summaries refer to people by id without a
  foreign key: a deleted row would leave ids that point at nothing, and SQLite may hand the
  same id to the next person added, who would then inherit the deleted person's past. The
  tombstone keeps every reference consistent and says "slettet deltaker" wherever it is shown;
- sign-in links, sessions, memberships, project contacts and command receipts are deleted;
- every event of every gathering is rewritten: wherever a value names them (`person_id` is
  theirs) its `name` becomes `DELETED_NAME` and its `municipality` is dropped; the text of
  their chat messages is emptied (their questions stay, anonymous); and any text anywhere
  (events, receipts, notices, summaries, every text column of every table) that contains
  their name or e-mail address has it replaced by `DELETED_NAME`; each gathering whose log
  changed counts one more `log_rewrites`, so every worker reloads its cached state;
- note updates they wrote lose their author (the note's text stays, it is the group's),
  and a note whose text names them is edited and its log compacted to one snapshot;
- recordings of them are deleted (rows here; the caller deletes the files after commit).

`DELETED_NAME` is a marker, stored as is; pages translate it when they are shown
(server/pages/templates.py), so a nynorsk page reads "sletta deltakar".
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pycrdt import Doc
from pycrdt import Text as YText
from sqlalchemy import JSON, String, Text, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rooms.forum_privacy import erase_forum, forum_data
from rooms.models import (
    AgendaItem,
    Base,
    CommandReceipt,
    Gathering,
    GatheringEvent,
    Invitation,
    Membership,
    NoteUpdate,
    Person,
    Project,
    ProjectContact,
    ProjectStageChange,
    Recording,
    Summary,
    Theme,
    WebSession,
)
from rooms.notes import TEXT as NOTE_TEXT

log = logging.getLogger(__name__)

#: the name a deleted person is shown by; pages translate it when shown
DELETED_NAME = "slettet deltaker"
#: keys whose value is a person's id in event data ("person_id" sits beside their name)
PERSON_KEYS = ("person_id", "asker_id", "voter_id", "by_person_id")
BATCH = 500


class LastProgrammeLead(Exception):
    """The only programme lead cannot be erased: nobody could run the forum after."""


@dataclass(frozen=True)
class Erased:
    person_id: int
    recording_ids: tuple[str, ...]  # their files are the caller's to delete, after commit
    gathering_ids: tuple[str, ...]  # whose event logs changed (cached states are stale)


def is_deleted(person: Person) -> bool:
    return person.name == DELETED_NAME and person.email.endswith(".invalid")


def tombstone_email(person_id: int) -> str:
    return f"slettet-{person_id}@deleted.invalid"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _names_person(value: Any, person_id: int) -> bool:
    """Whether an event's value (at any depth) refers to the person."""
    if isinstance(value, dict):
        return (any(value.get(k) == person_id for k in PERSON_KEYS)
                or any(_names_person(v, person_id) for v in value.values()))
    if isinstance(value, list):
        return any(_names_person(v, person_id) for v in value)
    return False


def _about(value: Any, person_id: int) -> list[Any]:
    """The parts of an event's data about the person: the whole event when it is theirs
    (a chat message, a question, a vote), else the nested values naming them (a breakout
    group's member), never the other people beside them."""
    if isinstance(value, dict):
        if any(value.get(k) == person_id for k in PERSON_KEYS):
            return [value]
        return [part for v in value.values() for part in _about(v, person_id)]
    if isinstance(value, list):
        return [part for v in value for part in _about(v, person_id)]
    return []


async def personal_data(sessions: async_sessionmaker, person_id: int) -> dict[str, Any] | None:
    """Everything the forum holds about the person, JSON-able; None if there is no such person.
    Tokens are never included (only their hashes are stored, and those are not theirs)."""
    async with sessions() as session:
        person = await session.get(Person, person_id)
        if person is None:
            return None
        memberships = await session.execute(
            select(Theme.slug, Theme.name, Membership.role)
            .join(Membership, Membership.theme_id == Theme.id)
            .where(Membership.person_id == person_id).order_by(Theme.name))
        contacts = await session.scalars(
            select(Project).join(ProjectContact, ProjectContact.project_id == Project.id)
            .where(ProjectContact.person_id == person_id).order_by(Project.title))
        changes = await session.execute(
            select(ProjectStageChange, Project.title)
            .join(Project, Project.id == ProjectStageChange.project_id)
            .where(ProjectStageChange.person_id == person_id)
            .order_by(ProjectStageChange.changed_at))
        invitations = await session.scalars(
            select(Invitation).where(Invitation.person_id == person_id)
            .order_by(Invitation.created_at))
        web_sessions = await session.scalars(
            select(WebSession).where(WebSession.person_id == person_id)
            .order_by(WebSession.created_at))
        recordings = await session.scalars(
            select(Recording).where(or_(Recording.person_id == person_id,
                                        Recording.started_by == person_id))
            .order_by(Recording.started_at))
        notes = await session.execute(
            select(NoteUpdate.gathering_id, NoteUpdate.note_id, func.count(),
                   func.min(NoteUpdate.at), func.max(NoteUpdate.at))
            .where(NoteUpdate.person_id == person_id)
            .group_by(NoteUpdate.gathering_id, NoteUpdate.note_id))
        receipts = await session.scalar(
            select(func.count()).select_from(CommandReceipt)
            .where(CommandReceipt.person_id == person_id))
        expert_of = await session.execute(
            select(AgendaItem.gathering_id, AgendaItem.title)
            .where(AgendaItem.expert_id == person_id))
        published = await session.scalars(
            select(Summary.gathering_id).where(Summary.published_by == person_id))
        titles = {g.id: f"{g.theme.name} – {g.title}"
                  for g in await session.scalars(select(Gathering))}
        events = await _events_about(session, person_id)
        return {
            "profile": {
                "id": person.id, "name": person.name, "email": person.email,
                "title": person.title, "language": person.language,
                "municipality": person.municipality.name if person.municipality else None,
                "county": person.municipality.county_name if person.municipality else None,
                "programme_lead": person.is_programme_lead,
                "mail_opt_out": person.mail_opt_out,
                "show_email": person.show_email, "notify": person.notify,
            },
            "memberships": [{"theme": slug, "theme_name": name, "role": role}
                            for slug, name, role in memberships],
            "project_contact_for": [
                {"project_id": p.id, "title": p.title, "stage": p.stage,
                 "grant_year": p.grant_year} for p in contacts],
            "stage_changes_made": [
                {"project": title, "stage": c.stage, "changed_at": _iso(c.changed_at)}
                for c, title in changes],
            "invitations": [
                {"created_at": _iso(i.created_at), "expires_at": _iso(i.expires_at),
                 "used_at": _iso(i.used_at), "revoked_at": _iso(i.revoked_at),
                 "reusable": i.reusable} for i in invitations],
            "sessions": [{"created_at": _iso(w.created_at), "expires_at": _iso(w.expires_at)}
                         for w in web_sessions],
            "gathering_events": [
                {"gathering": gid, "gathering_title": titles.get(gid, gid), "seq": seq,
                 "type": type_, "at": at, "about_you": about}
                for gid, seq, type_, at, about in events],
            "notes_written": [
                {"gathering": gid, "note": note, "updates": count, "first_at": first,
                 "last_at": last} for gid, note, count, first, last in notes],
            "recordings": [
                {"id": r.id, "gathering": r.gathering_id, "of_you": r.person_id == person_id,
                 "started_by_you": r.started_by == person_id, "consent_at": _iso(r.consent_at),
                 "started_at": _iso(r.started_at), "ended_at": _iso(r.ended_at),
                 "seconds": r.seconds, "status": r.status} for r in recordings],
            "expert_in_agenda": [{"gathering": gid, "item": title} for gid, title in expert_of],
            "summaries_published": list(published),
            "command_receipts": receipts or 0,
            "forum": await forum_data(session, person_id),
        }


async def _events_about(session: AsyncSession, person_id: int
                        ) -> list[tuple[str, int, str, float, list[Any]]]:
    found: list[tuple[str, int, str, float, list[Any]]] = []
    async for row in _all_events(session):
        about = _about(row.data, person_id)
        if about or row.person_id == person_id:
            found.append((row.gathering_id, row.seq, row.type, row.at, about))
    return found


async def _all_events(session: AsyncSession) -> AsyncIterator[GatheringEvent]:
    """Every event of every gathering, read in batches (changes are flushed per batch)."""
    last = 0
    while True:
        rows = list(await session.scalars(
            select(GatheringEvent).where(GatheringEvent.id > last)
            .order_by(GatheringEvent.id).limit(BATCH)))
        if not rows:
            return
        for row in rows:
            yield row
        await session.flush()
        last = rows[-1].id


class _Scrubber:
    """Rewrites values so that nothing of the person is left in them."""

    def __init__(self, person_id: int, name: str, email: str) -> None:
        self.person_id = person_id
        needles = [n for n in (name.strip(), email.strip()) if len(n) >= 2]
        self.pattern = (re.compile("|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in needles),
                                   re.IGNORECASE) if needles else None)
        self.needles = needles

    def text(self, value: str) -> str:
        return self.pattern.sub(DELETED_NAME, value) if self.pattern else value

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            out = {k: self.value(v) for k, v in value.items()}
            if out.get("person_id") == self.person_id:
                if "name" in out:
                    out["name"] = DELETED_NAME
                if "municipality" in out:
                    out["municipality"] = None
            return out
        return value

    def event(self, type_: str, data: dict[str, Any]) -> dict[str, Any]:
        out = self.value(data)
        if type_ == "chat.posted" and out.get("person_id") == self.person_id:
            out["text"] = ""
        return dict(out)


async def _scrub_events(session: AsyncSession, scrub: _Scrubber) -> set[str]:
    changed: set[str] = set()
    async for row in _all_events(session):
        data = scrub.event(row.type, row.data)
        if data != row.data:
            row.data = data
            changed.add(row.gathering_id)
    await session.flush()
    return changed


async def _scrub_columns(session: AsyncSession, scrub: _Scrubber) -> None:
    """Every text and JSON column of every other table: their name and address replaced."""
    if not scrub.needles:
        return
    for table in Base.metadata.sorted_tables:
        if table.name in {"people", "gathering_events"}:
            continue
        key = list(table.primary_key.columns)
        for column in table.columns:
            if isinstance(column.type, JSON):
                rows = await session.execute(select(*key, column).where(column.is_not(None)))
            elif isinstance(column.type, String | Text):
                hits = [func.lower(column).contains(n.lower()) for n in scrub.needles]
                hits += [column.contains(n) for n in scrub.needles]
                rows = await session.execute(select(*key, column).where(or_(*hits)))
            else:
                continue
            for row in rows.all():
                *ids, value = row
                new = scrub.value(value)
                if new != value:
                    await session.execute(
                        update(table).where(*(c == v for c, v in zip(key, ids, strict=True)))
                        .values({column.name: new}))


async def _scrub_notes(session: AsyncSession, scrub: _Scrubber) -> None:
    """Notes whose text names the person: the name edited out of the Yjs document (as a
    writer would: connected editors merge it), and the note's log replaced by one snapshot,
    so the deleted text is gone from the database too (Yjs keeps no deleted content)."""
    if scrub.pattern is None:
        return
    keys = (await session.execute(
        select(NoteUpdate.gathering_id, NoteUpdate.note_id).distinct())).all()
    for gathering_id, note_id in keys:
        rows = list(await session.scalars(select(NoteUpdate).where(
            NoteUpdate.gathering_id == gathering_id, NoteUpdate.note_id == note_id)
            .order_by(NoteUpdate.seq)))
        doc: Doc = Doc()
        text = doc.get(NOTE_TEXT, type=YText)
        for row in rows:
            doc.apply_update(row.data)
        before = str(text)
        hits = list(scrub.pattern.finditer(before))
        if not hits:
            continue
        with doc.transaction():
            for hit in reversed(hits):  # Yjs text offsets are UTF-8 bytes
                start = len(before[:hit.start()].encode())
                end = len(before[:hit.end()].encode())
                del text[start:end]
                text.insert(start, DELETED_NAME)
        last = rows[-1].seq
        await session.execute(delete(NoteUpdate).where(
            NoteUpdate.gathering_id == gathering_id, NoteUpdate.note_id == note_id))
        session.add(NoteUpdate(gathering_id=gathering_id, note_id=note_id, seq=last + 1,
                               kind="snapshot", data=doc.get_update(), at=time.time(),
                               person_id=None))
        await session.flush()


async def erase_person(sessions: async_sessionmaker, person_id: int,
                       by: int | None) -> Erased | None:
    """Erase the person (see the module's doc) in one transaction; None if there is no such
    person. `by` is who asked (the person themselves, or a programme lead), for the log."""
    async with sessions() as session, session.begin():
        person = await session.get(Person, person_id)
        if person is None:
            return None
        if person.is_programme_lead:
            others = await session.scalar(
                select(func.count()).select_from(Person)
                .where(Person.is_programme_lead, Person.id != person_id))
            if not others:
                raise LastProgrammeLead(person_id)
        scrub = _Scrubber(person_id, person.name, person.email)
        recordings = list(await session.scalars(
            select(Recording.id).where(Recording.person_id == person_id)))
        await session.execute(delete(Recording).where(Recording.id.in_(recordings)))
        for table in (Invitation, WebSession, Membership, ProjectContact, CommandReceipt):
            await session.execute(delete(table).where(table.person_id == person_id))
        await erase_forum(session, person_id)
        await session.execute(update(NoteUpdate).where(NoteUpdate.person_id == person_id)
                              .values(person_id=None))
        person.name, person.email, person.title = DELETED_NAME, tombstone_email(person_id), ""
        person.municipality_id, person.is_programme_lead = None, False
        person.language, person.mail_opt_out = None, True
        person.show_email, person.notify = False, "never"
        await session.flush()
        gatherings = await _scrub_events(session, scrub)
        if gatherings:  # every worker's cached state of these reloads (rooms/live.py)
            await session.execute(
                update(Gathering).where(Gathering.id.in_(sorted(gatherings)))
                .values(log_rewrites=Gathering.log_rewrites + 1)
                .execution_options(synchronize_session=False))
        await _scrub_notes(session, scrub)
        await _scrub_columns(session, scrub)
    log.info("person %d erased (asked by %s): %d recordings, %d gatherings' logs",
             person_id, by, len(recordings), len(gatherings))
    return Erased(person_id, tuple(recordings), tuple(sorted(gatherings)))


async def people(sessions: async_sessionmaker) -> list[Person]:
    """Everyone not yet erased, by name: the programme lead's list."""
    async with sessions() as session:
        rows = await session.scalars(
            select(Person).where(Person.name != DELETED_NAME).order_by(Person.name, Person.id))
        return list(rows)


async def purge_sign_in_records(sessions: async_sessionmaker, days: int,
                                now: datetime | None = None) -> int:
    """Delete sign-in links and sessions that ended (expired, or revoked) more than `days`
    days ago; how many rows went."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    async with sessions() as session, session.begin():
        links = await session.execute(delete(Invitation).where(or_(
            Invitation.expires_at < cutoff, Invitation.revoked_at < cutoff)))
        browsers = await session.execute(delete(WebSession).where(WebSession.expires_at < cutoff))
    return int(links.rowcount or 0) + int(browsers.rowcount or 0)
