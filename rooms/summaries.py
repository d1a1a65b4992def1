"""Summaries of gatherings: folded from the event log and the notes whenever they are shown;
only the facilitator's introduction and the publication are stored (`summaries`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation.events import event_from
from facilitation.history import GatheringHistory, history
from facilitation.notes import PLENARY, group_note_id, is_shared
from facilitation.polls import counts, words
from facilitation.state import Poll, Question, QuestionStatus, WordCount
from rooms.directory import names_of
from rooms.harvest import harvest, unharvest
from rooms.models import Gathering, Summary
from rooms.notes import NoteBook
from rooms.store import GatheringStore

MAX_INTRO_CHARS = 4000


@dataclass(frozen=True)
class GatheringSummary:
    gathering: Gathering
    history: GatheringHistory
    notes: dict[str, str]  # note id -> text, for the notes that were written in
    intro: str
    published_at: datetime | None
    published_by: str | None  # the publisher's name
    names: dict[int, str]  # names of the people the agenda names as experts

    @property
    def published(self) -> bool:
        return self.published_at is not None

    @property
    def plenary_notes(self) -> str:
        return self.notes.get(PLENARY, "").strip()

    def group_notes(self, round_: int, group_id: str) -> str:
        return self.notes.get(group_note_id(round_, group_id), "").strip()

    @property
    def questions(self) -> list[Question]:
        """The questions asked, in order; those a moderator hid are left out."""
        return [q for q in self.history.state.questions if q.status is not QuestionStatus.HIDDEN]

    @property
    def polls(self) -> list[PollResult]:
        return [PollResult(p, tuple(zip(p.options, counts(p), strict=True)), words(p))
                for p in self.history.state.polls]


@dataclass(frozen=True)
class PollResult:
    poll: Poll
    options: tuple[tuple[str, int], ...]  # each option with its number of answers
    words: tuple[WordCount, ...]  # for word polls: the most frequent words

    @property
    def respondents(self) -> int:
        return len(self.poll.answers)


class Summaries:
    def __init__(self, sessions: async_sessionmaker, store: GatheringStore,
                 notes: NoteBook | None = None) -> None:
        self.sessions = sessions
        self.store = store
        self.notes = notes

    async def stored(self, gathering_id: str) -> Summary | None:
        async with self.sessions() as session:
            return await session.get(Summary, gathering_id)

    async def save(self, gathering_id: str, intro: str, *, publish_by: int | None = None,
                   unpublish: bool = False, now: datetime | None = None) -> Summary:
        """Store the introduction; publish it (as `publish_by`), or take it back."""
        async with self.sessions() as session:
            row = await session.get(Summary, gathering_id)
            if row is None:
                row = Summary(gathering_id=gathering_id, intro="")
                session.add(row)
            row.intro = intro[:MAX_INTRO_CHARS]
            if publish_by is not None:
                row.published_at = now or datetime.now(UTC)
                row.published_by = publish_by
            elif unpublish:
                row.published_at = None
                row.published_by = None
            # the archive, in the same transaction: a published summary is findable with its
            # notes, questions and recordings (rooms/harvest.py); a draft's harvest is not
            gathering = await session.get(Gathering, gathering_id)
            if row.published_at is not None and gathering is not None:
                await harvest(session, replace(await self.build(gathering), intro=row.intro))
            else:
                await unharvest(session, gathering_id)
            await session.commit()
            return row

    async def published_of(self, gathering_ids: list[str]) -> dict[str, Summary]:
        if not gathering_ids:
            return {}
        async with self.sessions() as session:
            rows = await session.scalars(select(Summary).where(
                Summary.gathering_id.in_(gathering_ids), Summary.published_at.is_not(None)))
            return {row.gathering_id: row for row in rows}

    async def build(self, gathering: Gathering, now: float | None = None) -> GatheringSummary:
        start = await self.store.initial_state(gathering.id)
        assert start is not None
        stored = await self.store.events_since(gathering.id, 0)
        folded = history(start, [event_from(s.type, s.data) for s in stored],
                        now=time.time() if now is None else now)
        written = await self.notes.texts_of(gathering.id) if self.notes is not None else {}
        notes = {note: text for note, text in written.items() if is_shared(note)}
        row = await self.stored(gathering.id)
        experts = {r.slot.expert_id for r in folded.items if r.slot.expert_id is not None}
        publisher = row.published_by if row is not None else None
        names = await names_of(self.sessions, experts | ({publisher} if publisher else set()))
        return GatheringSummary(
            gathering=gathering, history=folded, notes=notes,
            intro=row.intro if row is not None else "",
            published_at=row.published_at if row is not None else None,
            published_by=names.get(publisher) if publisher else None,
            names=names)
