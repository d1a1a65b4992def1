"""Gathering what a decision needs beyond the gathering's own state (facilitation.Context):
the participants present, who met whom in the theme's earlier gatherings, stage names."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import Command, GatheringState
from facilitation.breakouts import meetings
from facilitation.events import event_from
from facilitation.planning import CopyFrom
from facilitation.roles import Role
from facilitation.state import Context, Member, PersonRef
from rooms.directory import earlier_gatherings, stage_names, theme_people
from rooms.models import Person
from rooms.presence import Presence
from rooms.store import GatheringStore

# Only these commands look at the context; the rest skip the look-ups.
NEEDS_CONTEXT = frozenset({
    "room.join", "agenda.next", "agenda.previous", "breakouts.propose", "breakouts.move",
    "breakouts.open",
})
# Who is present matters only where people are grouped: a join (a late joiner's placement)
# needs who met whom, not the whole room, which would make seating a room quadratic.
PRESENCE_CONTEXT = NEEDS_CONTEXT - {"room.join"}
# Agenda planning needs other things: who may be named as an expert, the agenda to copy.
PLANNING_CONTEXT = frozenset({"agenda.add_item", "agenda.update_item", "agenda.copy_from"})
# The stage: whom an expert slot starting, or the facilitator, may give the stage to.
STAGE_CONTEXT = frozenset({"agenda.next", "agenda.previous", "stage.spotlight"})


class ContextSource:
    def __init__(self, sessions: async_sessionmaker, store: GatheringStore,
                 presence: Presence) -> None:
        self.sessions = sessions
        self.store = store
        self.presence = presence
        # Earlier gatherings' logs and the stages do not change while a gathering runs.
        self._met: dict[str, frozenset[frozenset[str]]] = {}
        self._stages: tuple[tuple[str, str], ...] | None = None

    async def __call__(self, gathering_id: str, command: Command) -> Context:
        if command.type in PLANNING_CONTEXT:
            return await self.planning(gathering_id, command)
        people = await self.people(gathering_id) if command.type in STAGE_CONTEXT else ()
        if command.type not in NEEDS_CONTEXT:
            return Context(people=people)
        present = await self.present(gathering_id) if command.type in PRESENCE_CONTEXT else ()
        return Context(present=present, met=await self.met(gathering_id),
                       stage_names=await self.stages(), people=people)

    async def people(self, gathering_id: str) -> tuple[PersonRef, ...]:
        """The theme's people by name (an agenda move may give one of them the stage)."""
        gathering = await self.store.gathering(gathering_id)
        if gathering is None:
            return ()
        ids = await theme_people(self.sessions, gathering.theme_id)
        async with self.sessions() as session:
            rows = await session.scalars(select(Person).where(Person.id.in_(ids))
                                         .order_by(Person.id))
            return tuple(PersonRef(p.id, p.name, p.municipality.name if p.municipality else None)
                         for p in rows)

    async def planning(self, gathering_id: str, command: Command) -> Context:
        """The theme's people; for `agenda.copy_from`, the other gathering's agenda as it is
        now (its plan folded with its events), if that gathering is of the same theme."""
        gathering = await self.store.gathering(gathering_id)
        if gathering is None:
            return Context()
        people = await theme_people(self.sessions, gathering.theme_id)
        source = None
        if isinstance(command, CopyFrom):
            other = await self.store.gathering(command.from_gathering)
            if other is not None and other.theme_id == gathering.theme_id:
                state = await self.store.initial_state(other.id)
                source = None if state is None else (await self.store.catch_up(state)).agenda
        return Context(theme_people=people, source_agenda=source)

    async def present(self, gathering_id: str) -> tuple[Member, ...]:
        people = await self.presence.people(gathering_id)
        members = [
            Member(p["person_id"], p["name"], p.get("municipality"), p.get("stage"),
                   tuple(p.get("tags") or ()))
            for p in people if p.get("role") == Role.PARTICIPANT.value
        ]
        return tuple(sorted(members, key=lambda m: m.person_id))

    async def met(self, gathering_id: str) -> frozenset[frozenset[str]]:
        if gathering_id not in self._met:
            self._met[gathering_id] = await self._load_met(gathering_id)
        return self._met[gathering_id]

    async def _load_met(self, gathering_id: str) -> frozenset[frozenset[str]]:
        gathering = await self.store.gathering(gathering_id)
        if gathering is None:
            return frozenset()
        met: set[frozenset[str]] = set()
        for earlier in await earlier_gatherings(self.sessions, gathering):
            stored = await self.store.events_since(earlier, 0)
            start = GatheringState(gathering_id=earlier, agenda=())
            met |= meetings(start, [event_from(s.type, s.data) for s in stored])
        return frozenset(met)

    async def stages(self) -> tuple[tuple[str, str], ...]:
        if self._stages is None:
            self._stages = await stage_names(self.sessions)
        return self._stages
