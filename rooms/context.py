"""Gathering what a decision needs beyond the gathering's own state (facilitation.Context):
the participants present, everyone here, who met whom in the theme's earlier gatherings,
stage names."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import AgendaSlot, Command, GatheringState
from facilitation.breakouts import meetings
from facilitation.commands import COMMANDS, Need
from facilitation.events import event_from
from facilitation.planning import CopyFrom
from facilitation.roles import Role
from facilitation.state import Context, Member, PersonRef
from rooms.directory import earlier_gatherings, stage_names, theme_people
from rooms.experts import advance_asks
from rooms.models import Person
from rooms.presence import Presence
from rooms.projects import current_stages
from rooms.signups import advance_groups
from rooms.store import GatheringStore


async def met_in(store: GatheringStore, gathering_ids: Iterable[str]) -> frozenset[frozenset[str]]:
    """Who met whom: the municipality pairs that shared a breakout group in these
    gatherings' logs (breakouts seat people who have not met yet; peers are matched so)."""
    met: set[frozenset[str]] = set()
    for gathering_id in gathering_ids:
        stored = await store.events_since(gathering_id, 0)
        start = GatheringState(gathering_id=gathering_id, agenda=())
        met |= meetings(start, [event_from(s.type, s.data) for s in stored])
    return frozenset(met)


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
        """What the command's declaration says its decision needs, and nothing more: a join
        needs who met whom, not the whole room, which would make seating a room quadratic."""
        spec = COMMANDS.get(command.type)
        needs = frozenset() if spec is None else spec.needs
        if not needs:
            return Context()
        return Context(
            present=await self.present(gathering_id) if Need.PRESENT in needs else (),
            # the groups proposed in advance come with those they group (rooms/signups.py)
            advance=await advance_groups(self.sessions, gathering_id)
            if Need.PRESENT in needs else (),
            here=await self.here(gathering_id) if Need.HERE in needs else frozenset(),
            met=await self.met(gathering_id) if Need.MET in needs else frozenset(),
            stage_names=await self.stages() if Need.STAGES in needs else (),
            people=await self.people(gathering_id) if Need.PEOPLE in needs else (),
            theme_people=await self.theme_people(gathering_id)
            if Need.THEME_PEOPLE in needs else frozenset(),
            source_agenda=await self.source_agenda(gathering_id, command)
            if Need.SOURCE_AGENDA in needs else None,
            advance_questions=await advance_asks(self.sessions, gathering_id)
            if Need.ADVANCE_QUESTIONS in needs else ())

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

    async def theme_people(self, gathering_id: str) -> frozenset[int]:
        """Who may be named an agenda item's expert: the theme's people."""
        gathering = await self.store.gathering(gathering_id)
        return frozenset() if gathering is None else await theme_people(self.sessions,
                                                                          gathering.theme_id)

    async def source_agenda(self, gathering_id: str,
                            command: Command) -> tuple[AgendaSlot, ...] | None:
        """For `agenda.copy_from`: the other gathering's agenda as it is now (its plan folded
        with its events), if that gathering is of the same theme."""
        gathering = await self.store.gathering(gathering_id)
        if gathering is None or not isinstance(command, CopyFrom):
            return None
        other = await self.store.gathering(command.from_gathering)
        if other is None or other.theme_id != gathering.theme_id:
            return None
        state = await self.store.initial_state(other.id)
        return None if state is None else (await self.store.catch_up(state)).agenda

    async def present(self, gathering_id: str) -> tuple[Member, ...]:
        people = [p for p in await self.presence.people(gathering_id)
                  if p.get("role") == Role.PARTICIPANT.value]
        # A project's stage may have changed since its people joined (their presence entry
        # holds the stage of that moment): group by the stage the projects have now.
        gathering = await self.store.gathering(gathering_id)
        now = {} if gathering is None else await current_stages(
            self.sessions, gathering.theme_id, {p["person_id"] for p in people})
        members = [
            Member(p["person_id"], p["name"], p.get("municipality"),
                   *now.get(p["person_id"], (p.get("stage"), tuple(p.get("tags") or ()))))
            for p in people
        ]
        return tuple(sorted(members, key=lambda m: m.person_id))

    async def here(self, gathering_id: str) -> frozenset[int]:
        """Everyone present now, whatever their role (rooms/presence.py)."""
        return frozenset(p["person_id"] for p in await self.presence.people(gathering_id))

    async def met(self, gathering_id: str) -> frozenset[frozenset[str]]:
        if gathering_id not in self._met:
            self._met[gathering_id] = await self._load_met(gathering_id)
        return self._met[gathering_id]

    async def _load_met(self, gathering_id: str) -> frozenset[frozenset[str]]:
        gathering = await self.store.gathering(gathering_id)
        if gathering is None:
            return frozenset()
        return await met_in(self.store, await earlier_gatherings(self.sessions, gathering))

    async def stages(self) -> tuple[tuple[str, str], ...]:
        if self._stages is None:
            self._stages = await stage_names(self.sessions)
        return self._stages
