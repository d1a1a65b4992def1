"""Commands: what a person (or a timer) asks of a gathering, each declared once.

A command is a frozen dataclass that names, in its class statement, everything about it
that is not its rule:

    @dataclass(frozen=True)
    class ExtendItem(Command, type="agenda.extend", rights=RUNNERS, phases=LIVE,
                     summary="Give the current item more minutes."):
        minutes: Annotated[int, Ge(1), Le(MAX_EXTEND_MINUTES)]

`type` is its protocol name; `rights` the roles that may send it (they go into the one
rights table, facilitation/roles.py `RIGHTS`); `phases` when it is allowed; `needs` what
the caller must load into the decision's `Context` for it (rooms/context.py); `summary`
one line for the protocol's list. The fields, with their bounds as `annotated_types`
constraints, are its payload: the socket layer derives the wire schema from them
(server/sockets/protocol.py). Its rule is a function registered with `@decides` in the
same module (facilitation/core.py)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from annotated_types import Ge, Le, MaxLen, MinLen

from facilitation.roles import EVERYONE, RIGHTS, RUNNERS, SPEAKERS, Role
from facilitation.state import Phase

ANY_PHASE = frozenset(Phase)
OPEN_PHASES = frozenset({Phase.LOBBY, Phase.LIVE})
LIVE = frozenset({Phase.LIVE})
ENDED = frozenset({Phase.ENDED})
CHAT_MAX_CHARS = 2000


class Need(StrEnum):
    """What a command's decision looks at beyond the gathering's own state."""

    PRESENT = "present"  # the participants present now (breakouts group them)
    HERE = "here"  # the ids of everyone present now, all roles (the floor goes to one)
    MET = "met"  # which municipalities met in the theme's earlier gatherings
    STAGES = "stages"  # the project stages' names
    PEOPLE = "people"  # the theme's people by name (the stage is given to one of them)
    THEME_PEOPLE = "theme_people"  # who may be named an item's expert
    SOURCE_AGENDA = "source_agenda"  # the agenda `agenda.copy_from` names
    ADVANCE_QUESTIONS = "advance_questions"  # asked before the gathering, not yet brought


@dataclass(frozen=True)
class CommandSpec:
    type: str
    command: builtins.type[Command]  # `type` alone would be the field above
    rights: frozenset[Role]
    phases: frozenset[Phase]
    summary: str
    needs: frozenset[Need]


# protocol name -> its declaration; filled as the feature modules are imported
COMMANDS: dict[str, CommandSpec] = {}


@dataclass(frozen=True)
class Command:
    """Base class; `type` is the command's protocol name."""

    type = ""

    def __init_subclass__(cls, *, type: str = "", rights: frozenset[Role] = frozenset(),
                          phases: frozenset[Phase] = frozenset(), summary: str = "",
                          needs: frozenset[Need] = frozenset(), **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not type:
            return
        assert type not in COMMANDS, f"command {type} declared twice"
        assert rights and phases and summary, f"command {type} needs rights, phases, summary"
        cls.type = type
        COMMANDS[type] = CommandSpec(type, cls, rights, phases, summary, needs)
        RIGHTS[type] = rights


AGENDA_MOVE_NEEDS = frozenset({Need.PRESENT, Need.MET, Need.STAGES, Need.PEOPLE})


@dataclass(frozen=True)
class JoinRoom(Command, type="room.join", rights=EVERYONE, phases=ANY_PHASE,
               summary="Enter the gathering's room; ack has the snapshot.",
               needs=frozenset({Need.MET, Need.STAGES})):
    pass


@dataclass(frozen=True)
class SyncRoom(Command, type="room.sync", rights=EVERYONE, phases=ANY_PHASE,
               summary="Catch up: events since a version, or a snapshot."):
    """Answered from the log by the socket layer; it never reaches `decide`."""

    since: Annotated[int, Ge(0)]


@dataclass(frozen=True)
class OpenRoom(Command, type="room.open", rights=RUNNERS, phases=frozenset({Phase.LOBBY}),
               summary="Open the room: lobby -> live."):
    pass


@dataclass(frozen=True)
class NextItem(Command, type="agenda.next", rights=RUNNERS, phases=LIVE,
               summary="Start the next agenda item.", needs=AGENDA_MOVE_NEEDS):
    """Advance the agenda. `from_item` is the item id the sender sees as current
    (None before the first item), so two consoles clicking at once advance once."""

    from_item: int | None


@dataclass(frozen=True)
class PreviousItem(Command, type="agenda.previous", rights=RUNNERS, phases=LIVE,
                   summary="Go back to the previous agenda item.", needs=AGENDA_MOVE_NEEDS):
    from_item: int | None


MAX_EXTEND_MINUTES = 60


@dataclass(frozen=True)
class ExtendItem(Command, type="agenda.extend", rights=RUNNERS, phases=LIVE,
                 summary="Give the current item more minutes."):
    minutes: Annotated[int, Ge(1), Le(MAX_EXTEND_MINUTES)]


@dataclass(frozen=True)
class PauseItem(Command, type="agenda.pause", rights=RUNNERS, phases=LIVE,
                summary="Pause the current item's timer."):
    pass


@dataclass(frozen=True)
class ResumeItem(Command, type="agenda.resume", rights=RUNNERS, phases=LIVE,
                 summary="Resume a paused timer."):
    pass


@dataclass(frozen=True)
class Tick(Command, type="timer.tick", rights=frozenset({Role.SYSTEM}), phases=LIVE,
           summary="The server's clock: deadlines and warnings (never sent by a person)."):
    """Sent by the server's clock, never by a person: deadlines and warnings."""


@dataclass(frozen=True)
class RaiseHand(Command, type="hand.raise", rights=SPEAKERS, phases=LIVE,
                summary="Join the speaking queue."):
    pass


@dataclass(frozen=True)
class LowerHand(Command, type="hand.lower", rights=SPEAKERS, phases=OPEN_PHASES,
                summary="Leave the queue (or, facilitator: remove one)."):
    """Lower a hand: one's own, or (for those running the gathering) anyone's."""

    person_id: int | None = None


@dataclass(frozen=True)
class CallNextHand(Command, type="hand.call_next", rights=RUNNERS, phases=LIVE,
                   summary="Give the floor to the first in the queue who is here.",
                   needs=frozenset({Need.HERE})):
    pass


@dataclass(frozen=True)
class SendChat(Command, type="chat.send", rights=SPEAKERS, phases=OPEN_PHASES,
               summary="Post a chat message to the gathering."):
    text: Annotated[str, MinLen(1), MaxLen(CHAT_MAX_CHARS)]


@dataclass(frozen=True)
class EndGathering(Command, type="gathering.end", rights=RUNNERS, phases=OPEN_PHASES,
                   summary="End the gathering."):
    pass
