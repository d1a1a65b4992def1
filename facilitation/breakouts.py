"""Breakout groups: propose (by the item's grouping rule), adjust, open, broadcast,
recall. A breakout agenda item opens its groups when it starts; late joiners get a group;
the groups close on their deadline, with a warning a minute before."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Annotated, Any, ClassVar

from annotated_types import Ge, Le, MaxLen, MinLen, Predicate

from facilitation.commands import LIVE, Command, Need
from facilitation.core import Decision, Rejected, applies, decides, fold, hook
from facilitation.events import Event, GatheringEnded
from facilitation.grouping import place_late_joiner, propose_groups
from facilitation.roles import RUNNERS, Role
from facilitation.signups import adjust_proposal, planned_for
from facilitation.state import (
    BreakoutPlan,
    Breakouts,
    BreakoutStatus,
    Broadcast,
    GatheringState,
    Group,
    GroupingRule,
    Member,
)

WARNING_SECONDS = 60
DEFAULT_MINUTES = 15
MAX_MINUTES = 180
MAX_GROUP_SIZE = 12
BROADCAST_KEPT = 20
MAX_BROADCAST_CHARS = 1000

# --- commands ----------------------------------------------------------------------------

GROUP_ID = re.compile(r"^g[1-9][0-9]{0,3}$")


def is_group_id(value: str) -> bool:
    """`g1`, `g2`, ...: a group's id within its round."""
    return GROUP_ID.match(value) is not None


GroupId = Annotated[str, MaxLen(5), Predicate(is_group_id)]
GROUPING = frozenset({Need.PRESENT, Need.MET, Need.STAGES})


@dataclass(frozen=True)
class ProposeBreakouts(Command, type="breakouts.propose", rights=RUNNERS, phases=LIVE,
                       summary="Propose groups from who is present, by a grouping rule.",
                       needs=GROUPING):
    """Propose groups from who is present, by the breakout item's plan (or these changes)."""

    rule: GroupingRule | None = None
    group_size: Annotated[int, Ge(2), Le(MAX_GROUP_SIZE)] | None = None
    spread_municipalities: bool | None = None


@dataclass(frozen=True)
class MoveMember(Command, type="breakouts.move", rights=RUNNERS, phases=LIVE,
                 summary="Move a person to another group.", needs=GROUPING):
    person_id: int
    to_group: GroupId


@dataclass(frozen=True)
class RenameGroup(Command, type="breakouts.rename", rights=RUNNERS, phases=LIVE,
                  summary="Rename a group."):
    group: GroupId
    name: Annotated[str, MinLen(1), MaxLen(80)]


@dataclass(frozen=True)
class OpenBreakouts(Command, type="breakouts.open", rights=RUNNERS, phases=LIVE,
                    summary="Open the proposed groups.", needs=GROUPING):
    minutes: Annotated[int, Ge(1), Le(MAX_MINUTES)] | None = None


@dataclass(frozen=True)
class ChooseGroup(Command, type="breakouts.choose", rights=frozenset({Role.PARTICIPANT}),
                  phases=LIVE, summary="Pick one's own group (self-select)."):
    """A participant picks their group (self-select breakouts)."""

    group: GroupId


@dataclass(frozen=True)
class BroadcastToGroups(Command, type="breakouts.broadcast", rights=RUNNERS, phases=LIVE,
                        summary="A message to every group."):
    text: Annotated[str, MinLen(1), MaxLen(MAX_BROADCAST_CHARS)]


@dataclass(frozen=True)
class RecallBreakouts(Command, type="breakouts.recall", rights=RUNNERS, phases=LIVE,
                      summary="Call everyone back to plenary."):
    pass


# --- events ------------------------------------------------------------------------------


def _member(data: dict[str, Any]) -> Member:
    return Member(**{**data, "tags": tuple(data.get("tags", ()))})


def _group(data: dict[str, Any]) -> Group:
    return Group(data["id"], data["name"], tuple(_member(m) for m in data["members"]))


@dataclass(frozen=True)
class BreakoutsProposed(Event):
    type: ClassVar[str] = "breakouts.proposed"
    round: int
    item_id: int | None
    plan: BreakoutPlan
    groups: tuple[Group, ...]

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Event:
        plan = BreakoutPlan(**{**data["plan"], "rule": GroupingRule(data["plan"]["rule"])})
        return cls(data["round"], data["item_id"], plan, tuple(_group(g) for g in data["groups"]))


@dataclass(frozen=True)
class BreakoutsOpened(Event):
    type: ClassVar[str] = "breakouts.opened"
    at: float
    deadline: float


@dataclass(frozen=True)
class MemberMoved(Event):
    """A member goes to a group: moved by the facilitator, chosen, or placed on arrival."""

    type: ClassVar[str] = "breakouts.member_moved"
    member: Member
    to_group: str
    group_name: str | None = None  # set when the group is new (a first late joiner)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Event:
        return cls(_member(data["member"]), data["to_group"], data.get("group_name"))


@dataclass(frozen=True)
class GroupRenamed(Event):
    type: ClassVar[str] = "breakouts.group_renamed"
    group: str
    name: str


@dataclass(frozen=True)
class BroadcastSent(Event):
    type: ClassVar[str] = "breakouts.broadcast"
    text: str
    at: float
    name: str


@dataclass(frozen=True)
class BreakoutsRetimed(Event):
    """The groups follow their breakout item's timer: extended, paused or resumed."""

    type: ClassVar[str] = "breakouts.retimed"
    deadline: float
    paused_at: float | None


@dataclass(frozen=True)
class BreakoutsWarned(Event):
    type: ClassVar[str] = "breakouts.warned"
    at: float


@dataclass(frozen=True)
class BreakoutsRecalled(Event):
    type: ClassVar[str] = "breakouts.recalled"
    at: float


# --- decisions ---------------------------------------------------------------------------


def _plan(d: Decision) -> tuple[BreakoutPlan, int | None]:
    """The running breakout item's plan, or the defaults."""
    slot = d.state.current_slot()
    if slot is not None and slot.breakout is not None:
        return slot.breakout, slot.id
    return BreakoutPlan(), None


def _proposal(d: Decision, plan: BreakoutPlan, item_id: int | None) -> BreakoutsProposed:
    current = d.state.breakouts
    if current is not None and current.status is BreakoutStatus.OPEN:
        raise Rejected("breakouts are open: call everyone back first")
    round_ = 1 if current is None else current.round + 1
    # the item's first groups follow those proposed in advance from the sign-ups, adjusted
    # for who arrived (facilitation/signups.py); a later proposal for it is made afresh
    first = current is None or current.item_id != item_id
    advance = planned_for(d.context.advance, item_id, plan) if first else None
    groups = None if advance is None else adjust_proposal(
        advance.groups, d.context.present, plan, met=d.context.met)
    if groups is None:
        groups = propose_groups(d.context.present, plan, met=d.context.met,
                                stage_names=dict(d.context.stage_names),
                                seed=f"{d.state.gathering_id}:{round_}")
    return BreakoutsProposed(round=round_, item_id=item_id, plan=plan, groups=groups)


def _open(d: Decision, minutes: int) -> BreakoutsOpened:
    return BreakoutsOpened(at=d.now, deadline=d.now + minutes * 60)


def _breakouts(state: GatheringState, *statuses: BreakoutStatus) -> Breakouts:
    b = state.breakouts
    if b is None or b.status not in statuses:
        raise Rejected("there are no breakout groups to do that with")
    return b


@decides
def decide_propose_breakouts(command: ProposeBreakouts, d: Decision) -> list[Event]:
    plan, item_id = _plan(d)
    changes = {k: v for k in ("rule", "group_size", "spread_municipalities")
               if (v := getattr(command, k)) is not None}
    plan = replace(plan, **changes)
    if not 2 <= plan.group_size <= MAX_GROUP_SIZE:
        raise Rejected(f"a group has 2 to {MAX_GROUP_SIZE} people")
    return [_proposal(d, plan, item_id)]


def _find_member(d: Decision, person_id: int) -> Member:
    b = d.state.breakouts
    group = b.group_of(person_id) if b else None
    if group is not None:
        return next(m for m in group.members if m.person_id == person_id)
    present = next((m for m in d.context.present if m.person_id == person_id), None)
    if present is None:
        raise Rejected("that person is not here")
    return present


@decides
def decide_move_member(command: MoveMember, d: Decision) -> list[Event]:
    b = _breakouts(d.state, BreakoutStatus.PROPOSED, BreakoutStatus.OPEN)
    if b.group(command.to_group) is None:
        raise Rejected("no such group")
    return [MemberMoved(_find_member(d, command.person_id), command.to_group)]


@decides
def decide_rename_group(command: RenameGroup, d: Decision) -> list[Event]:
    b = _breakouts(d.state, BreakoutStatus.PROPOSED, BreakoutStatus.OPEN)
    name = command.name.strip()
    if b.group(command.group) is None or not name:
        raise Rejected("no such group, or an empty name")
    return [GroupRenamed(command.group, name)]


@decides
def decide_open_breakouts(command: OpenBreakouts, d: Decision) -> list[Event]:
    b = _breakouts(d.state, BreakoutStatus.PROPOSED)
    minutes = command.minutes or _minutes_left(d)
    if not 1 <= minutes <= MAX_MINUTES:
        raise Rejected(f"breakouts last 1 to {MAX_MINUTES} minutes")
    return [_open(d, minutes), *_place_the_unplaced(b, d)]


def _place_the_unplaced(b: Breakouts, d: Decision) -> list[Event]:
    """Participants who arrived after the groups were proposed get a group as they open."""
    if b.plan.rule is GroupingRule.SELF_SELECT:
        return []
    events: list[Event] = []
    groups = b.groups
    for member in d.context.present:
        if any(g.has(member.person_id) for g in groups):
            continue
        placed = place_late_joiner(groups, member, b.plan, met=d.context.met)
        group = next(g for g in placed if g.has(member.person_id))
        known = any(g.id == group.id for g in groups)
        events.append(MemberMoved(member, group.id, None if known else group.name))
        groups = placed
    return events


def _tied_to_current_item(state: GatheringState) -> bool:
    """Open groups of the running breakout item keep time with the item's timer."""
    b, slot = state.breakouts, state.current_slot()
    return (b is not None and b.status is BreakoutStatus.OPEN and slot is not None
            and b.item_id == slot.id)


def _minutes_left(d: Decision) -> int:
    current = d.state.current
    slot = d.state.current_slot()
    if current is None or slot is None or slot.breakout is None:
        return DEFAULT_MINUTES
    return max(1, round((current.deadline - d.now) / 60))


@decides
def decide_choose_group(command: ChooseGroup, d: Decision) -> list[Event]:
    b = _breakouts(d.state, BreakoutStatus.PROPOSED, BreakoutStatus.OPEN)
    if b.plan.rule is not GroupingRule.SELF_SELECT:
        raise Rejected("the facilitator places people in groups this time")
    group = b.group(command.group)
    if group is None:
        raise Rejected("no such group")
    if len(group.members) >= b.plan.group_size and not group.has(d.actor.person_id):
        raise Rejected("that group is full")
    return [MemberMoved(d.actor.member, command.group)]


@decides
def decide_broadcast_to_groups(command: BroadcastToGroups, d: Decision) -> list[Event]:
    _breakouts(d.state, BreakoutStatus.OPEN)
    text = command.text.strip()
    if not text:
        raise Rejected("an empty message cannot be sent")
    return [BroadcastSent(text=text, at=d.now, name=d.actor.name)]


@decides
def decide_recall_breakouts(command: RecallBreakouts, d: Decision) -> list[Event]:
    _breakouts(d.state, BreakoutStatus.PROPOSED, BreakoutStatus.OPEN)
    return [BreakoutsRecalled(at=d.now)]


@hook("item_started")
def open_or_recall_groups(state: GatheringState, d: Decision) -> list[Event]:
    """Starting a breakout item opens its groups; leaving it calls everyone back; coming
    back to it reopens the same groups (their notes are where they left them)."""
    b, slot, current = state.breakouts, state.current_slot(), state.current
    is_breakout = slot is not None and slot.breakout is not None and current is not None
    if b is not None and slot is not None and b.item_id == slot.id and is_breakout:
        if b.status is not BreakoutStatus.RECALLED:
            return []
        assert current is not None
        return [BreakoutsOpened(at=d.now, deadline=current.deadline),
                *_place_the_unplaced(b, d)]
    events: list[Event] = []
    if b is not None and b.status is not BreakoutStatus.RECALLED:
        events.append(BreakoutsRecalled(at=d.now))
    if not is_breakout:
        return events
    assert slot is not None and slot.breakout is not None and current is not None
    proposal = _proposal(replace(d, state=fold(state, events)), slot.breakout, slot.id)
    return [*events, proposal, BreakoutsOpened(at=d.now, deadline=current.deadline)]


@hook("timer_changed")
def retime_with_item(state: GatheringState, d: Decision) -> list[Event]:
    """The running breakout item's open groups keep its deadline, and pause with it."""
    if not _tied_to_current_item(state) or state.current is None:
        return []
    return [BreakoutsRetimed(deadline=state.current.deadline, paused_at=state.current.paused_at)]


@hook("joined")
def give_late_joiner_a_group(state: GatheringState, d: Decision) -> list[Event]:
    """A participant who arrives while groups are open is placed in one (not self-select)."""
    b = state.breakouts
    if (b is None or b.status is not BreakoutStatus.OPEN or d.actor.role is not Role.PARTICIPANT
            or b.plan.rule is GroupingRule.SELF_SELECT or b.group_of(d.actor.person_id)):
        return []
    placed = place_late_joiner(b.groups, d.actor.member, b.plan, met=d.context.met)
    group = next(g for g in placed if g.has(d.actor.person_id))
    new_name = None if b.group(group.id) else group.name
    return [MemberMoved(d.actor.member, group.id, new_name)]


@hook("tick")
def warn_and_recall_at_deadline(state: GatheringState, d: Decision) -> list[Event]:
    """Open groups get a warning a minute before their deadline, and are called back at it."""
    b = state.breakouts
    if b is None or b.status is not BreakoutStatus.OPEN or b.deadline is None:
        return []
    if b.paused_at is not None:
        return []
    if d.now >= b.deadline:
        return [BreakoutsRecalled(at=d.now)]
    if not b.warned and d.now >= b.deadline - WARNING_SECONDS:
        return [BreakoutsWarned(at=d.now)]
    return []


# --- apply -------------------------------------------------------------------------------


def _with(state: GatheringState, **changes: Any) -> GatheringState:
    assert state.breakouts is not None
    return replace(state, breakouts=replace(state.breakouts, **changes))


@applies(BreakoutsProposed)
def _apply_proposed(s: GatheringState, ev: BreakoutsProposed) -> GatheringState:
    return replace(s, breakouts=Breakouts(ev.round, ev.item_id, ev.plan, ev.groups))


@applies(BreakoutsOpened)
def _apply_opened(s: GatheringState, ev: BreakoutsOpened) -> GatheringState:
    return _with(s, status=BreakoutStatus.OPEN, opened_at=ev.at, deadline=ev.deadline,
                 paused_at=None, warned=False)


@applies(MemberMoved)
def _apply_moved(s: GatheringState, ev: MemberMoved) -> GatheringState:
    assert s.breakouts is not None
    pid = ev.member.person_id
    existing = s.breakouts.groups
    if ev.group_name is not None and s.breakouts.group(ev.to_group) is None:
        existing = (*existing, Group(ev.to_group, ev.group_name))
    groups = tuple(
        replace(g, members=tuple(m for m in g.members if m.person_id != pid)
                + ((ev.member,) if g.id == ev.to_group else ()))
        for g in existing
    )
    return _with(s, groups=groups)


@applies(GroupRenamed)
def _apply_renamed(s: GatheringState, ev: GroupRenamed) -> GatheringState:
    assert s.breakouts is not None
    groups = tuple(replace(g, name=ev.name) if g.id == ev.group else g
                   for g in s.breakouts.groups)
    return _with(s, groups=groups)


@applies(BroadcastSent)
def _apply_broadcast(s: GatheringState, ev: BroadcastSent) -> GatheringState:
    assert s.breakouts is not None
    sent = Broadcast(ev.text, ev.at, ev.name)
    return _with(s, broadcasts=(*s.breakouts.broadcasts, sent)[-BROADCAST_KEPT:])


@applies(BreakoutsRetimed)
def _apply_retimed(s: GatheringState, ev: BreakoutsRetimed) -> GatheringState:
    assert s.breakouts is not None
    later = s.breakouts.deadline is None or ev.deadline > s.breakouts.deadline
    warned = s.breakouts.warned and not later
    return _with(s, deadline=ev.deadline, paused_at=ev.paused_at, warned=warned)


@applies(BreakoutsWarned)
def _apply_warned(s: GatheringState, ev: BreakoutsWarned) -> GatheringState:
    return _with(s, warned=True)


@applies(BreakoutsRecalled)
def _apply_recalled(s: GatheringState, ev: BreakoutsRecalled) -> GatheringState:
    return _with(s, status=BreakoutStatus.RECALLED)


# --- who met whom --------------------------------------------------------------------------


def municipality_pairs(groups: tuple[Group, ...]) -> set[frozenset[str]]:
    pairs: set[frozenset[str]] = set()
    for group in groups:
        names = sorted({m.municipality for m in group.members if m.municipality})
        pairs.update(frozenset((a, b)) for i, a in enumerate(names) for b in names[i + 1:])
    return pairs


def meetings(start: GatheringState, events: list[Event]) -> frozenset[frozenset[str]]:
    """The municipality pairs that shared a breakout group in a gathering's event log: groups
    called back, and groups still open when the gathering ended (ended without a recall)."""
    met: set[frozenset[str]] = set()
    state = start
    for event in events:
        state = fold(state, [event])
        b = state.breakouts
        ended_open = (isinstance(event, GatheringEnded) and b is not None
                      and b.status is BreakoutStatus.OPEN)
        if b is not None and (isinstance(event, BreakoutsRecalled) or ended_open):
            met |= municipality_pairs(b.groups)
    return frozenset(met)
