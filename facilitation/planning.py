"""Agenda planning: add, edit, move and remove agenda items, or start over from a template
or another gathering's agenda; and the planned clock (when each item starts, and whether
the plan fits the gathering's length).

The rights: runners only (roles.py); in the lobby and while live (rules.py), but never on
an item that has started. Items start in agenda order, one step at a time, so the started
items are a prefix of the agenda ("the frozen prefix"): everything before and including
the last item ever started stays as it is, and changes happen after it. That keeps the
running item's index, and the record of what ran, valid."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar

from annotated_types import Ge, MaxLen, MinLen

from facilitation.breakouts import MAX_GROUP_SIZE
from facilitation.commands import OPEN_PHASES, Command, Need
from facilitation.core import Decision, Rejected, applies, decides
from facilitation.events import Event
from facilitation.polls import CHECKIN_KIND, check_plan
from facilitation.roles import RUNNERS
from facilitation.state import AgendaSlot, BreakoutPlan, GatheringState, GroupingRule, PollPlan

KINDS = ("welcome", "expert_talk", "qa", "breakout", "plenary", "break", "wrap_up")
EXPERT_KINDS = frozenset({"expert_talk", "qa"})  # the kinds that may name an expert
FOLLOW_UP_KINDS = frozenset({"plenary", "breakout"})  # the kinds that may list follow-ups
MAX_TITLE_CHARS = 200
MIN_MINUTES, MAX_MINUTES = 1, 240
MAX_TASK_CHARS = 1000
MAX_NOTE_TEMPLATE_CHARS = 2000
MAX_ITEMS = 40
NOT_WELCOME = "only a welcome item has a check-in poll"


class Unchanged:
    """`agenda.update_item` leaves a field as it is when the field is not given."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = Unchanged()


@dataclass(frozen=True)
class BreakoutChanges:
    """Breakout settings as sent: each field given replaces the plan's (or the default's)."""

    rule: GroupingRule | None = None
    group_size: int | None = None
    task: str | None = None
    note_template: str | None = None
    spread_municipalities: bool | None = None

    def onto(self, plan: BreakoutPlan) -> BreakoutPlan:
        given = {k: v for k, v in vars(self).items() if v is not None}
        return replace(plan, **given)


# --- commands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AddItem(Command, type="agenda.add_item", rights=RUNNERS, phases=OPEN_PHASES,
              summary="Add an agenda item.", needs=frozenset({Need.THEME_PEOPLE})):
    """Add an item at `position` (0-based; default: at the end)."""

    kind: str
    title: str
    planned_minutes: int
    position: int | None = None
    expert_id: int | None = None
    breakout: BreakoutChanges | None = None
    checkin_poll: PollPlan | None = None  # welcome items only: launched when it starts
    follow_ups: bool = False  # plenary and breakout items only: list the follow-ups due


@dataclass(frozen=True)
class UpdateItem(Command, type="agenda.update_item", rights=RUNNERS, phases=OPEN_PHASES,
                 summary="Change an item that has not started.",
                 needs=frozenset({Need.THEME_PEOPLE})):
    """Change the fields given; the others stay. Changing the kind away from `breakout`
    drops the breakout settings, away from an expert kind drops the expert, away from
    `welcome` drops the check-in poll. `checkin_poll=None` removes the check-in poll."""

    item_id: int
    kind: str | Unchanged = UNCHANGED
    title: str | Unchanged = UNCHANGED
    planned_minutes: int | Unchanged = UNCHANGED
    expert_id: int | None | Unchanged = UNCHANGED
    breakout: BreakoutChanges | Unchanged = UNCHANGED
    checkin_poll: PollPlan | None | Unchanged = UNCHANGED
    follow_ups: bool | Unchanged = UNCHANGED


@dataclass(frozen=True)
class MoveItem(Command, type="agenda.move_item", rights=RUNNERS, phases=OPEN_PHASES,
               summary="Move an item that has not started."):
    """Move an item so that it ends up at `position` (0-based) in the agenda. Where an
    item may go depends on the agenda now (its length, the started items), so a position
    past the end is the rule's refusal (`rejected`), not a bound of the schema."""

    item_id: int
    position: Annotated[int, Ge(0)]


@dataclass(frozen=True)
class RemoveItem(Command, type="agenda.remove_item", rights=RUNNERS, phases=OPEN_PHASES,
                 summary="Remove an item that has not started."):
    item_id: int


@dataclass(frozen=True)
class CopyFrom(Command, type="agenda.copy_from", rights=RUNNERS, phases=OPEN_PHASES,
               summary="Replace the agenda with another gathering's (same theme).",
               needs=frozenset({Need.THEME_PEOPLE, Need.SOURCE_AGENDA})):
    """Replace the agenda with a copy of another gathering's (of the same theme). The
    caller loads that agenda into the decision's context (`Context.source_agenda`)."""

    from_gathering: Annotated[str, MinLen(1), MaxLen(64)]


@dataclass(frozen=True)
class UseTemplate(Command, type="agenda.use_template", rights=RUNNERS, phases=OPEN_PHASES,
                  summary="Replace the agenda with a template's, keeping items of its kinds."):
    """Replace the agenda with one of the TEMPLATES, laid over it (`merge_template`): the
    agenda's items of the template's kinds stay as they are."""

    template: Annotated[str, MinLen(1), MaxLen(40)]


# --- events ------------------------------------------------------------------------------


def slot_from_data(data: dict[str, Any]) -> AgendaSlot:
    breakout = data.get("breakout")
    return AgendaSlot(
        id=data["id"], title=data["title"], kind=data["kind"],
        planned_minutes=data["planned_minutes"], expert_id=data.get("expert_id"),
        breakout=None if breakout is None else BreakoutPlan.from_settings(breakout),
        checkin_poll=PollPlan.from_settings(data.get("checkin_poll")),  # polls.py
        follow_ups=bool(data.get("follow_ups", False)))


@dataclass(frozen=True)
class ItemAdded(Event):
    type: ClassVar[str] = "agenda.item_added"
    item: AgendaSlot
    position: int

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Event:
        return cls(slot_from_data(data["item"]), data["position"])


@dataclass(frozen=True)
class ItemUpdated(Event):
    """The item as it is now, all fields."""

    type: ClassVar[str] = "agenda.item_updated"
    item: AgendaSlot

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Event:
        return cls(slot_from_data(data["item"]))


@dataclass(frozen=True)
class ItemMoved(Event):
    type: ClassVar[str] = "agenda.item_moved"
    item_id: int
    position: int


@dataclass(frozen=True)
class ItemRemoved(Event):
    type: ClassVar[str] = "agenda.item_removed"
    item_id: int


@dataclass(frozen=True)
class AgendaReplaced(Event):
    """The whole agenda anew: from a template, or copied from another gathering."""

    type: ClassVar[str] = "agenda.replaced"
    agenda: tuple[AgendaSlot, ...]
    template: str | None = None
    from_gathering: str | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Event:
        return cls(tuple(slot_from_data(s) for s in data["agenda"]), data.get("template"),
                   data.get("from_gathering"))


# --- templates: named agendas, as data -----------------------------------------------------

NOTE_TEMPLATE = ("Vår utfordring:\n\n"
                 "Dette har fungert:\n\n"
                 "Hjelp vi trenger:\n\n"
                 "Hvem kan vi kontakte:\n")

# (kind, title, minutes, breakout settings or None). Titles are content, in bokmål.
TEMPLATES: dict[str, tuple[tuple[str, str, int, BreakoutPlan | None], ...]] = {
    "standard": (
        ("welcome", "Velkommen og innsjekk", 10, None),
        ("expert_talk", "Innlegg", 25, None),
        ("qa", "Spørsmål og svar", 15, None),
        ("break", "Pause", 10, None),
        ("breakout", "Grupperom etter prosjektfase", 30,
         BreakoutPlan(rule=GroupingRule.SAME_STAGE, group_size=4,
                      task="Del erfaringer fra prosjektene: hva står dere fast på?",
                      note_template=NOTE_TEMPLATE)),
        ("plenary", "Deling i plenum", 20, None),
        ("wrap_up", "Oppsummering og veien videre", 10, None),
    ),
    "workshop": (
        ("welcome", "Velkommen og innsjekk", 10, None),
        ("plenary", "Felles utfordringer", 15, None),
        ("breakout", "Verksted i blandede grupper", 35,
         BreakoutPlan(rule=GroupingRule.MIXED, group_size=5,
                      task="Lag et konkret neste steg for hvert prosjekt i gruppa.",
                      note_template=NOTE_TEMPLATE)),
        ("break", "Pause", 10, None),
        ("breakout", "Grupperom etter prosjektfase", 25,
         BreakoutPlan(rule=GroupingRule.SAME_STAGE, group_size=4,
                      task="Hva trenger dere for å komme videre?",
                      note_template=NOTE_TEMPLATE)),
        ("plenary", "Høsting fra gruppene", 15, None),
        ("wrap_up", "Oppsummering", 10, None),
    ),
}


def template_agenda(name: str) -> tuple[AgendaSlot, ...] | None:
    """A template's items (id 0: they get theirs when the agenda is replaced); None when
    there is no such template."""
    template = TEMPLATES.get(name)
    if template is None:
        return None
    return tuple(AgendaSlot(0, title, kind, minutes, breakout=plan)
                 for kind, title, minutes, plan in template)


@dataclass(frozen=True)
class Placed:
    """One item of the agenda a template gives: the template's item, and the item of the
    same kind from the agenda as it was, kept as the facilitator made it (None: none was
    left, so the template's item is added)."""

    template: AgendaSlot
    kept: AgendaSlot | None = None

    @property
    def slot(self) -> AgendaSlot:
        return self.template if self.kept is None else self.kept


@dataclass(frozen=True)
class TemplateMerge:
    """A template laid over an agenda (`merge_template`): what the agenda becomes, item by
    item in the template's order, and the agenda's items that go."""

    placed: tuple[Placed, ...]
    removed: tuple[AgendaSlot, ...]

    @property
    def agenda(self) -> tuple[AgendaSlot, ...]:
        return tuple(p.slot for p in self.placed)

    @property
    def kept(self) -> tuple[Placed, ...]:
        return tuple(p for p in self.placed if p.kept is not None)

    @property
    def added(self) -> tuple[AgendaSlot, ...]:
        return tuple(p.template for p in self.placed if p.kept is None)


def merge_template(agenda: tuple[AgendaSlot, ...],
                   template: tuple[AgendaSlot, ...]) -> TemplateMerge:
    """Each template item takes the agenda's next item of the same kind, in order (the
    first expert talk for the first expert talk, ...), which keeps all the facilitator set:
    title, expert, minutes, breakout settings, check-in poll. A template item with no such
    item left comes from the template; the agenda's items left over are removed. Using the
    same template again keeps everything: a merge onto its own result changes nothing."""
    waiting: dict[str, list[AgendaSlot]] = {}
    for slot in agenda:
        waiting.setdefault(slot.kind, []).append(slot)
    placed = []
    for item in template:
        same_kind = waiting.get(item.kind)
        placed.append(Placed(item, same_kind.pop(0) if same_kind else None))
    kept = {p.kept.id for p in placed if p.kept is not None}
    return TemplateMerge(tuple(placed), tuple(s for s in agenda if s.id not in kept))


# --- the planned clock ---------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedItem:
    slot: AgendaSlot
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class PlannedClock:
    items: tuple[PlannedItem, ...]
    starts_at: datetime  # the gathering's start
    ends_at: datetime  # the gathering's planned end
    planned_minutes: int  # the agenda's minutes, added up
    gathering_minutes: int  # the gathering's planned length

    @property
    def fits(self) -> bool:
        return self.planned_minutes <= self.gathering_minutes

    @property
    def over_minutes(self) -> int:
        """How far the agenda runs past the gathering's end (0 when it fits)."""
        return max(0, self.planned_minutes - self.gathering_minutes)

    @property
    def spare_minutes(self) -> int:
        return max(0, self.gathering_minutes - self.planned_minutes)


def planned_clock(agenda: tuple[AgendaSlot, ...] | list[AgendaSlot], starts_at: datetime,
                  gathering_minutes: int) -> PlannedClock:
    """Each item's planned start: the gathering's start plus the planned minutes before it."""
    items = []
    at = starts_at
    for slot in agenda:
        end = at + timedelta(minutes=slot.planned_minutes)
        items.append(PlannedItem(slot, at, end))
        at = end
    total = sum(slot.planned_minutes for slot in agenda)
    return PlannedClock(tuple(items), starts_at, starts_at + timedelta(minutes=gathering_minutes),
                        total, gathering_minutes)


# --- decisions -----------------------------------------------------------------------------


def frozen_prefix(state: GatheringState) -> int:
    """How many leading items may not change: up to and including the last one started."""
    last = -1 if state.current is None else state.current.index
    for index, slot in enumerate(state.agenda):
        if slot.id in state.started_items:
            last = max(last, index)
    return last + 1


def next_item_id(state: GatheringState) -> int:
    return max([state.highest_item_id, *(s.id for s in state.agenda)]) + 1


def _index_of(state: GatheringState, item_id: int) -> int:
    for index, slot in enumerate(state.agenda):
        if slot.id == item_id:
            return index
    raise Rejected("there is no such agenda item")


def _changeable(state: GatheringState, item_id: int) -> int:
    index = _index_of(state, item_id)
    if index < frozen_prefix(state):
        raise Rejected("this item has started: it can no longer be changed")
    return index


def _check_position(state: GatheringState, position: int, last: int) -> None:
    first = frozen_prefix(state)
    if not first <= position <= last:
        raise Rejected(f"the position must be from {first} to {last}"
                       if first <= last else "there is no place left for it in the agenda")


def _checked_slot(slot: AgendaSlot, d: Decision) -> AgendaSlot:
    """The item's own rules: kind, title, minutes, expert, breakout settings, check-in."""
    title = slot.title.strip()
    if slot.kind not in KINDS:
        raise Rejected(f"unknown kind of item {slot.kind!r}")
    if not title:
        raise Rejected("an item needs a title")
    if len(title) > MAX_TITLE_CHARS:
        raise Rejected(f"a title has at most {MAX_TITLE_CHARS} characters")
    if not MIN_MINUTES <= slot.planned_minutes <= MAX_MINUTES:
        raise Rejected(f"an item lasts {MIN_MINUTES} to {MAX_MINUTES} minutes")
    if slot.expert_id is not None:
        if slot.kind not in EXPERT_KINDS:
            raise Rejected("only an expert talk or a Q&A item names an expert")
        if slot.expert_id not in d.context.theme_people:
            raise Rejected("the expert must be a person of this theme")
    plan = slot.breakout
    if slot.follow_ups and slot.kind not in FOLLOW_UP_KINDS:
        raise Rejected("only a plenary or breakout item lists the follow-ups")
    if slot.kind == "breakout":
        plan = plan or BreakoutPlan()
        if not 2 <= plan.group_size <= MAX_GROUP_SIZE:
            raise Rejected(f"a group has 2 to {MAX_GROUP_SIZE} people")
        if len(plan.task) > MAX_TASK_CHARS or len(plan.note_template) > MAX_NOTE_TEMPLATE_CHARS:
            raise Rejected("the task or the note template is too long")
    elif plan is not None:
        raise Rejected("only a breakout item has breakout settings")
    if slot.checkin_poll is not None and slot.kind != CHECKIN_KIND:
        raise Rejected(NOT_WELCOME)
    return replace(slot, title=title, breakout=plan)


def _checked_poll(plan: PollPlan | None, kind: str) -> PollPlan | None:
    """A check-in poll as given (trimmed): on a welcome item only, by poll.launch's rules.
    Checked when given, so a stored plan that could not run never blocks other changes."""
    if plan is None:
        return None
    if kind != CHECKIN_KIND:
        raise Rejected(NOT_WELCOME)
    return check_plan(plan)


@decides
def decide_add_item(command: AddItem, d: Decision) -> list[Event]:
    state = d.state
    if len(state.agenda) >= MAX_ITEMS:
        raise Rejected(f"an agenda has at most {MAX_ITEMS} items")
    position = len(state.agenda) if command.position is None else command.position
    _check_position(state, position, len(state.agenda))
    if command.breakout is not None and command.kind != "breakout":
        raise Rejected("only a breakout item has breakout settings")
    plan = command.breakout.onto(BreakoutPlan()) if command.breakout is not None else None
    slot = _checked_slot(AgendaSlot(next_item_id(state), command.title, command.kind,
                                    command.planned_minutes, command.expert_id, plan,
                                    _checked_poll(command.checkin_poll, command.kind),
                                    command.follow_ups), d)
    return [ItemAdded(slot, position)]


@decides
def decide_update_item(command: UpdateItem, d: Decision) -> list[Event]:
    old = d.state.agenda[_changeable(d.state, command.item_id)]
    kind = old.kind if isinstance(command.kind, Unchanged) else command.kind
    changes: dict[str, Any] = {"kind": kind}
    for name in ("title", "planned_minutes", "expert_id"):
        value = getattr(command, name)
        if not isinstance(value, Unchanged):
            changes[name] = value
    if kind not in EXPERT_KINDS and isinstance(command.expert_id, Unchanged):
        changes["expert_id"] = None  # no longer a kind with an expert
    if isinstance(command.breakout, BreakoutChanges):
        if kind != "breakout":
            raise Rejected("only a breakout item has breakout settings")
        changes["breakout"] = command.breakout.onto(old.breakout or BreakoutPlan())
    elif kind != "breakout":
        changes["breakout"] = None
    if not isinstance(command.checkin_poll, Unchanged):
        changes["checkin_poll"] = _checked_poll(command.checkin_poll, kind)
    elif kind != CHECKIN_KIND:
        changes["checkin_poll"] = None  # only a welcome item checks in (polls.py)
    if not isinstance(command.follow_ups, Unchanged):
        changes["follow_ups"] = command.follow_ups
    elif kind not in FOLLOW_UP_KINDS:
        changes["follow_ups"] = False  # only plenary and breakout items list follow-ups
    new = _checked_slot(replace(old, **changes), d)
    return [] if new == old else [ItemUpdated(new)]


@decides
def decide_move_item(command: MoveItem, d: Decision) -> list[Event]:
    index = _changeable(d.state, command.item_id)
    _check_position(d.state, command.position, len(d.state.agenda) - 1)
    return [] if index == command.position else [ItemMoved(command.item_id, command.position)]


@decides
def decide_remove_item(command: RemoveItem, d: Decision) -> list[Event]:
    _changeable(d.state, command.item_id)
    return [ItemRemoved(command.item_id)]


def _replacing(d: Decision, slots: tuple[AgendaSlot, ...]) -> tuple[AgendaSlot, ...]:
    if frozen_prefix(d.state) > 0:
        raise Rejected("the agenda has started: change the items that are left one by one")
    if not slots:
        raise Rejected("that agenda is empty")
    first = next_item_id(d.state)
    return tuple(replace(slot, id=first + n) for n, slot in enumerate(slots[:MAX_ITEMS]))


@decides
def decide_copy_from(command: CopyFrom, d: Decision) -> list[Event]:
    if command.from_gathering == d.state.gathering_id:
        raise Rejected("a gathering cannot copy its own agenda")
    source = d.context.source_agenda
    if source is None:
        raise Rejected("there is no such gathering in this theme")
    # an expert who no longer belongs to the theme is not copied along
    slots = tuple(s if s.expert_id is None or s.expert_id in d.context.theme_people
                  else replace(s, expert_id=None) for s in source)
    return [AgendaReplaced(_replacing(d, slots), from_gathering=command.from_gathering)]


@decides
def decide_use_template(command: UseTemplate, d: Decision) -> list[Event]:
    template = template_agenda(command.template)
    if template is None:
        raise Rejected(f"there is no template {command.template!r}")
    merged = merge_template(d.state.agenda, template).agenda
    return [AgendaReplaced(_replacing(d, merged), template=command.template)]


# --- apply ---------------------------------------------------------------------------------


def _highest(state: GatheringState, *slots: AgendaSlot) -> int:
    return max([state.highest_item_id, *(s.id for s in state.agenda), *(s.id for s in slots)])


@applies(ItemAdded)
def _apply_added(s: GatheringState, ev: ItemAdded) -> GatheringState:
    agenda = (*s.agenda[:ev.position], ev.item, *s.agenda[ev.position:])
    return replace(s, agenda=agenda, highest_item_id=_highest(s, ev.item))


@applies(ItemUpdated)
def _apply_updated(s: GatheringState, ev: ItemUpdated) -> GatheringState:
    return replace(s, agenda=tuple(ev.item if slot.id == ev.item.id else slot
                                   for slot in s.agenda))


@applies(ItemMoved)
def _apply_moved(s: GatheringState, ev: ItemMoved) -> GatheringState:
    moving = next(slot for slot in s.agenda if slot.id == ev.item_id)
    rest = [slot for slot in s.agenda if slot.id != ev.item_id]
    rest.insert(ev.position, moving)
    return replace(s, agenda=tuple(rest))


@applies(ItemRemoved)
def _apply_removed(s: GatheringState, ev: ItemRemoved) -> GatheringState:
    return replace(s, agenda=tuple(slot for slot in s.agenda if slot.id != ev.item_id),
                   highest_item_id=_highest(s))


@applies(AgendaReplaced)
def _apply_replaced(s: GatheringState, ev: AgendaReplaced) -> GatheringState:
    return replace(s, agenda=ev.agenda, highest_item_id=_highest(s, *ev.agenda))
