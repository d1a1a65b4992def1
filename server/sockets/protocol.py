"""The socket protocol's commands on the wire: the envelope every command carries, and
each command's payload schema.

A command's payload schema is derived from its declaration (facilitation/commands.py): its
dataclass fields and their `annotated_types` bounds become a strict pydantic model (a
StrEnum field is its values as strings, a tuple field a JSON array), and `to_command`
builds the command from a validated payload. Only the agenda items' commands, whose wire
shape nests settings and tells "unchanged" from "removed", have a schema written here.
`COMMANDS` lists every command a client may send; docs/protocol.md must describe each."""

from __future__ import annotations

import builtins
import dataclasses
import types
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

from facilitation import breakouts as b
from facilitation import commands as c
from facilitation import planning
from facilitation import polls as p
from facilitation.roles import Role
from facilitation.state import GroupingRule, PollKind, PollPlan

Rule = Literal["same_stage", "mixed", "by_tag", "random", "self_select"]
CommandId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
GatheringId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ConnectAuth(BaseModel):
    """What a client may send as it connects (Socket.IO's `auth`): the gathering it opens,
    so that its join needs no lookup of its own. Anything else in it is ignored."""

    gathering: GatheringId | None = None


class Envelope(BaseModel):
    """What every command carries besides its own fields."""

    model_config = ConfigDict(extra="allow", strict=True)
    id: CommandId
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    gathering: GatheringId


class Payload(BaseModel):
    """A command's own fields. Unknown fields are an error, not silently dropped."""

    # strict: JSON has real numbers and booleans; "5" or true is not a number of minutes
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    command: ClassVar[type[c.Command]]
    converters: ClassVar[dict[str, Callable[[Any], Any]]] = {}

    def to_command(self) -> c.Command:
        values = {name: self.converters.get(name, _same)(getattr(self, name))
                  for name in type(self).model_fields}
        return self.command(**values)


# --- payloads derived from the commands' declarations ---------------------------------------

Converter = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _wire(hint: Any) -> tuple[Any, Converter]:
    """A command field's type as JSON carries it, and how a validated value of that type
    becomes the field's value."""
    origin = get_origin(hint)
    if origin is Annotated:
        inner, *bounds = get_args(hint)
        wire, convert = _wire(inner)
        return Annotated[(wire, *bounds)], convert
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if len(options) != 1:
            raise TypeError(f"{hint}: only `X | None` unions are derived")
        wire, convert = _wire(options[0])
        return wire | None, lambda v: None if v is None else convert(v)
    if origin is tuple:
        item, more = get_args(hint)
        if more is not Ellipsis:
            raise TypeError(f"{hint}: only `tuple[X, ...]` is derived")
        wire, convert = _wire(item)
        return list[wire], lambda v: tuple(convert(x) for x in v)  # type: ignore[valid-type]
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return Literal[tuple(m.value for m in hint)], hint
    if hint in (int, str, bool, float):
        return hint, _same
    raise TypeError(f"{hint}: write this command's payload by hand")


def derived_payload(command: type[c.Command]) -> type[Payload]:
    hints = get_type_hints(command, include_extras=True)
    fields: dict[str, Any] = {}
    converters: dict[str, Converter] = {}
    for f in dataclasses.fields(command):
        wire, converters[f.name] = _wire(hints[f.name])
        required = f.default is dataclasses.MISSING
        fields[f.name] = (wire, ... if required else f.default)
    model = create_model(f"{command.__name__}Payload", __base__=Payload, **fields)
    model.command = command
    model.converters = converters
    return model


# --- payloads written by hand ------------------------------------------------------------------

# A poll's fields, for `poll.launch` and a welcome item's check-in poll alike. The rules
# beyond the schema (2-8 distinct options for choice polls, none for word) are polls.py's.
PollQuestion = Annotated[str, StringConstraints(min_length=1, max_length=p.MAX_QUESTION_CHARS)]
PollKindName = Literal["single", "multiple", "word"]
PollOptions = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=p.MAX_OPTION_CHARS)]],
    Field(max_length=p.MAX_OPTIONS),
]


class CheckinPoll(BaseModel):
    """A welcome item's check-in poll, launched when the item first starts."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    question: PollQuestion
    kind: PollKindName
    options: PollOptions = []

    def plan(self) -> PollPlan:
        return PollPlan(self.question, PollKind(self.kind), tuple(self.options))


AgendaKind = Literal["welcome", "expert_talk", "qa", "breakout", "plenary", "break", "wrap_up"]
ItemTitle = Annotated[str, StringConstraints(min_length=1, max_length=planning.MAX_TITLE_CHARS)]
ItemMinutes = Annotated[int, Field(ge=planning.MIN_MINUTES, le=planning.MAX_MINUTES)]
Position = Annotated[int, Field(ge=0)]  # past the end: the rule's `rejected` (planning.py)


class BreakoutSettings(BaseModel):
    """A breakout item's settings; a field left out keeps its current (or default) value."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    rule: Rule | None = None
    group_size: int | None = Field(default=None, ge=2, le=b.MAX_GROUP_SIZE)
    task: Annotated[str, StringConstraints(max_length=planning.MAX_TASK_CHARS)] | None = None
    note_template: Annotated[
        str, StringConstraints(max_length=planning.MAX_NOTE_TEMPLATE_CHARS)] | None = None
    spread_municipalities: bool | None = None

    def changes(self) -> planning.BreakoutChanges:
        rule = None if self.rule is None else GroupingRule(self.rule)
        return planning.BreakoutChanges(rule, self.group_size, self.task, self.note_template,
                                        self.spread_municipalities)


class AddAgendaItem(Payload):
    command = planning.AddItem
    kind: AgendaKind
    title: ItemTitle
    planned_minutes: ItemMinutes
    position: Position | None = None
    expert_id: int | None = None
    breakout: BreakoutSettings | None = None
    checkin_poll: CheckinPoll | None = None
    follow_ups: bool = False

    def to_command(self) -> c.Command:
        return planning.AddItem(self.kind, self.title, self.planned_minutes, self.position,
                                self.expert_id,
                                None if self.breakout is None else self.breakout.changes(),
                                None if self.checkin_poll is None else self.checkin_poll.plan(),
                                self.follow_ups)


class UpdateAgendaItem(Payload):
    """Only the fields given change; `expert_id: null` removes the expert,
    `checkin_poll: null` the check-in poll."""

    command = planning.UpdateItem
    item_id: int
    kind: AgendaKind | None = None
    title: ItemTitle | None = None
    planned_minutes: ItemMinutes | None = None
    expert_id: int | None = None
    breakout: BreakoutSettings | None = None
    checkin_poll: CheckinPoll | None = None
    follow_ups: bool | None = None

    def to_command(self) -> c.Command:
        given = self.model_fields_set
        keep = planning.UNCHANGED
        checkin = None if self.checkin_poll is None else self.checkin_poll.plan()
        return planning.UpdateItem(
            self.item_id,
            kind=keep if self.kind is None else self.kind,
            title=keep if self.title is None else self.title,
            planned_minutes=keep if self.planned_minutes is None else self.planned_minutes,
            expert_id=self.expert_id if "expert_id" in given else keep,
            breakout=keep if self.breakout is None else self.breakout.changes(),
            checkin_poll=checkin if "checkin_poll" in given else keep,
            follow_ups=keep if self.follow_ups is None else self.follow_ups)



@dataclass(frozen=True)
class CommandSpec:
    type: str
    schema: builtins.type[Payload]  # `type` alone would be the field above
    summary: str


# the commands whose payload is written above
WRITTEN: dict[str, builtins.type[Payload]] = {
    "agenda.add_item": AddAgendaItem,
    "agenda.update_item": UpdateAgendaItem,
}


def _protocol_commands() -> dict[str, CommandSpec]:
    """Every command a client may send (not the server clock's own)."""
    return {spec.type: CommandSpec(spec.type, WRITTEN.get(spec.type)
                                   or derived_payload(spec.command), spec.summary)
            for spec in c.COMMANDS.values() if spec.rights != {Role.SYSTEM}}


COMMANDS: dict[str, CommandSpec] = _protocol_commands()

# Events the server sends that are not in the gathering's versioned log.
EPHEMERAL_EVENTS: dict[str, str] = {
    "presence.changed": "Who came and went in the last short window, as a list of "
                        "`presence.joined` and `presence.left` entries (rooms/presence.py).",
    "presence.joined": "An entry of `presence.changed`: a person's first connection entered "
                       "the room, or a present person's entry changed (their stage).",
    "presence.left": "An entry of `presence.changed`: a person's last connection left the room.",
    "reaction.sent": "Someone sent an emoji reaction (server/sockets/reactions.py).",
    "peer_joined": "A media peer one may connect to joined the mesh (server/sockets/media.py).",
    "peer_left": "A media peer left the gathering's mesh (server/sockets/media.py).",
    "replaced": "Another tab of the same person joined the mesh and took this tab's place "
                "(signaling/peers.py).",
    "publishers": "Someone went on or off the plenary stage (`stage` push, "
                  "server/sockets/stage.py).",
    "media.state": "Someone's microphone or camera went on or off (server/sockets/media_state.py).",
    "media.muted": "A runner muted this person's microphone (server/sockets/media_state.py).",
    "bus": "The bus between the server's workers went down or is back: after `up`, catch up "
           "with `room.sync` (server/sockets/bus.py).",
}


def payload_of(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in Envelope.model_fields}
