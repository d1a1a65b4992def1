"""The harvest of a gathering into the archive: when its summary is published (rooms/
summaries.py `Summaries.save`, in the same transaction), the summary (introduction and
the agenda as run), each group's notes and the plenary notes (one "note" each, linked to
the group's place in the summary), each question asked (with whether it was answered)
and the recordings' titles become findable; taking the publication back takes them out.

Everything here is of the gathering's theme and year; a group's notes carry the group's
project stage where its members share one. A recording is indexed whatever its state;
search finds it only while it is ready to download (rooms/search.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitation.history import GatheringHistory
from facilitation.notes import PLENARY, group_note_id
from facilitation.state import Group, Question, QuestionStatus
from rooms.forum_models import SearchDoc
from rooms.models import Gathering, Recording, Summary
from rooms.search import Findable, index, rebuild_fulltext

HARVESTED = ("summary", "note", "question", "recording")


class GatheringSummary(Protocol):
    """What the harvest reads of a summary (rooms/summaries.py's, which imports this)."""

    @property
    def gathering(self) -> Gathering: ...
    @property
    def history(self) -> GatheringHistory: ...
    @property
    def intro(self) -> str: ...
    @property
    def plenary_notes(self) -> str: ...
    @property
    def questions(self) -> list[Question]: ...
    def group_notes(self, round_: int, group_id: str) -> str: ...


class Summaries(Protocol):
    async def build(self, gathering: Gathering) -> GatheringSummary: ...


def group_stage(group: Group) -> str | None:
    """The project stage the group's members share (None: mixed, or not known)."""
    stages = {m.stage for m in group.members if m.stage}
    return stages.pop() if len(stages) == 1 else None


def findables(s: GatheringSummary, recordings: Sequence[Recording]) -> list[Findable]:
    g = s.gathering
    page = f"/g/{g.id}/summary"

    def thing(kind: str, ref: str, title: str, body: str, anchor: str = "",
              stage: str | None = None, state: str | None = None) -> Findable:
        return Findable(kind=kind, ref=ref, title=title, body=body, url=page + anchor,
                        year=g.year, created_at=g.starts_at, theme_id=g.theme_id,
                        gathering_id=g.id, stage=stage, state=state)

    agenda = "\n".join(run.slot.title for run in s.history.items)
    out = [thing("summary", g.id, g.title, f"{s.intro}\n\n{agenda}".strip())]
    for r in s.history.rounds:
        for group in r.groups:
            text = s.group_notes(r.round, group.id)
            if text:
                out.append(thing("note", f"{g.id}:{group_note_id(r.round, group.id)}",
                                 f"{g.title}: {group.name}", text,
                                 f"#group-{r.round}-{group.id}", stage=group_stage(group)))
    if s.plenary_notes:
        out.append(thing("note", f"{g.id}:{PLENARY}", g.title, s.plenary_notes,
                         "#plenary-heading"))
    for q in s.questions:
        state = "answered" if q.status is QuestionStatus.ANSWERED else "open"
        out.append(thing("question", f"{g.id}:{q.id}", q.text, q.text, f"#question-{q.id}",
                         state=state))
    titles = {run.slot.id: run.slot.title for run in s.history.items}
    for rec in recordings:
        title = ", ".join(filter(None, (rec.person_name, titles.get(rec.item_id or -1))))
        out.append(thing("recording", rec.id, title, g.title, f"#recording-{rec.id}"))
    return out


def _harvested(gathering_id: str) -> ColumnElement[bool]:
    return and_(SearchDoc.gathering_id == gathering_id, or_(
        SearchDoc.kind == "recording",
        and_(SearchDoc.kind.in_(HARVESTED), or_(SearchDoc.ref == gathering_id,
                                                SearchDoc.ref.startswith(gathering_id + ":")))))


async def unharvest(session: AsyncSession, gathering_id: str) -> None:
    """The gathering's harvest out of the archive."""
    await session.execute(delete(SearchDoc).where(_harvested(gathering_id)))


async def harvest(session: AsyncSession, s: GatheringSummary) -> None:
    """The gathering's harvest into the archive, replacing what was there (a note emptied
    or a question hidden since is gone)."""
    await unharvest(session, s.gathering.id)
    recordings = list(await session.scalars(
        select(Recording).where(Recording.gathering_id == s.gathering.id)
        .order_by(Recording.started_at)))
    for item in findables(s, recordings):
        await index(session, item)


async def reharvest(sessions: async_sessionmaker, summaries: Summaries) -> int:
    """Rebuild the harvest of every gathering from its sources (`forum search reindex`):
    what the harvest put in the archive goes, every published summary's comes back, and on
    SQLite the full-text table is made again from search_docs. How many gatherings."""
    async with sessions() as session:
        published = list(await session.scalars(
            select(Summary.gathering_id).where(Summary.published_at.is_not(None))))
        await session.execute(delete(SearchDoc).where(
            SearchDoc.kind.in_(HARVESTED), SearchDoc.gathering_id.is_not(None)))
        await session.commit()
    for gathering_id in published:
        async with sessions() as session:
            gathering = await session.get(Gathering, gathering_id)
            summary = await session.get(Summary, gathering_id)
            if gathering is None or summary is None or summary.published_at is None:
                continue
            built = await summaries.build(gathering)
            await harvest(session, built)
            await session.commit()
    async with sessions() as session:
        await rebuild_fulltext(session)
        await session.commit()
    return len(published)
