"""What happened in a gathering, folded from its event log: the agenda as run (planned
against actual time), who came, and the breakout groups of each round. The summary page
is built from this and the notes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from facilitation import events as e
from facilitation.breakouts import BreakoutsOpened
from facilitation.core import apply
from facilitation.state import AgendaSlot, BreakoutPlan, GatheringState, Group


@dataclass(frozen=True)
class ItemRun:
    """One agenda item, planned and as run. An item run more than once (the facilitator
    went back to it) adds up its times; `started_at` is its first start."""

    slot: AgendaSlot
    started_at: float | None = None
    seconds: float = 0.0

    @property
    def ran(self) -> bool:
        return self.started_at is not None

    @property
    def actual_minutes(self) -> int | None:
        return round(self.seconds / 60) if self.ran else None

    @property
    def difference_minutes(self) -> int | None:
        """Actual minus planned (positive: it ran over)."""
        actual = self.actual_minutes
        return None if actual is None else actual - self.slot.planned_minutes


@dataclass(frozen=True)
class Attendee:
    person_id: int
    name: str
    municipality: str | None


@dataclass(frozen=True)
class BreakoutRound:
    """A round of breakout groups as they stood when they were called back (or now)."""

    round: int
    item_id: int | None
    plan: BreakoutPlan
    groups: tuple[Group, ...]
    opened_at: float | None


@dataclass(frozen=True)
class GatheringHistory:
    state: GatheringState  # the final state
    items: tuple[ItemRun, ...]
    attendees: tuple[Attendee, ...]  # in order of arrival
    rounds: tuple[BreakoutRound, ...]

    @property
    def opened_at(self) -> float | None:
        return self.state.opened_at

    @property
    def ended_at(self) -> float | None:
        return self.state.ended_at

    def by_municipality(self) -> list[tuple[str | None, list[Attendee]]]:
        """Attendees grouped by municipality, by name; those without one last."""
        groups: dict[str | None, list[Attendee]] = {}
        for attendee in self.attendees:
            groups.setdefault(attendee.municipality, []).append(attendee)
        named = sorted((k for k in groups if k is not None), key=str.casefold)
        order: list[str | None] = [*named, *([None] if None in groups else [])]
        return [(k, sorted(groups[k], key=lambda a: a.name.casefold())) for k in order]

    def item_title(self, item_id: int | None) -> str | None:
        return next((r.slot.title for r in self.items if r.slot.id == item_id), None)


@dataclass
class _Runs:
    started: dict[int, float] = field(default_factory=dict)
    seconds: dict[int, float] = field(default_factory=dict)
    running: tuple[int, float] | None = None  # (item id, since)

    def stop(self, at: float) -> None:
        if self.running is not None:
            item_id, since = self.running
            self.seconds[item_id] = self.seconds.get(item_id, 0.0) + max(0.0, at - since)
            self.running = None


def history(start: GatheringState, events: Iterable[e.Event], now: float | None = None
            ) -> GatheringHistory:
    """Fold the log from the gathering's initial state. An item still running counts up to
    `now` (if given)."""
    state = start
    runs = _Runs()
    attendees: list[Attendee] = []
    rounds: dict[int, BreakoutRound] = {}
    for event in events:
        state = apply(state, event)
        if isinstance(event, e.ItemStarted):
            runs.stop(event.started_at)
            runs.started.setdefault(event.item_id, event.started_at)
            runs.running = (event.item_id, event.started_at)
        elif isinstance(event, e.GatheringEnded):
            runs.stop(event.at)
        elif isinstance(event, e.AttendeeArrived):
            attendees.append(Attendee(event.person_id, event.name, event.municipality))
        b = state.breakouts
        if b is not None and (b.opened_at is not None or isinstance(event, BreakoutsOpened)):
            rounds[b.round] = BreakoutRound(b.round, b.item_id, b.plan, b.groups, b.opened_at)
    if now is not None and state.ended_at is None:
        runs.stop(now)
    items = tuple(ItemRun(slot, runs.started.get(slot.id), runs.seconds.get(slot.id, 0.0))
                  for slot in state.agenda)
    return GatheringHistory(state, items, tuple(attendees),
                           tuple(rounds[k] for k in sorted(rounds)))
