"""Commands: what a person (or a timer) asks of a gathering."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """Base class; `type` is the command's protocol name."""

    type = ""


@dataclass(frozen=True)
class JoinRoom(Command):
    type = "room.join"


@dataclass(frozen=True)
class OpenRoom(Command):
    type = "room.open"


@dataclass(frozen=True)
class NextItem(Command):
    """Advance the agenda. `from_item` is the item id the sender sees as current
    (None before the first item), so two consoles clicking at once advance once."""

    type = "agenda.next"
    from_item: int | None


@dataclass(frozen=True)
class PreviousItem(Command):
    type = "agenda.previous"
    from_item: int | None


@dataclass(frozen=True)
class ExtendItem(Command):
    type = "agenda.extend"
    minutes: int


@dataclass(frozen=True)
class PauseItem(Command):
    type = "agenda.pause"


@dataclass(frozen=True)
class ResumeItem(Command):
    type = "agenda.resume"


@dataclass(frozen=True)
class Tick(Command):
    """Sent by the server's clock, never by a person: deadlines and warnings."""

    type = "timer.tick"


@dataclass(frozen=True)
class RaiseHand(Command):
    type = "hand.raise"


@dataclass(frozen=True)
class LowerHand(Command):
    """Lower a hand: one's own, or (for those running the gathering) anyone's."""

    type = "hand.lower"
    person_id: int | None = None


@dataclass(frozen=True)
class CallNextHand(Command):
    type = "hand.call_next"


@dataclass(frozen=True)
class SendChat(Command):
    type = "chat.send"
    text: str


@dataclass(frozen=True)
class EndGathering(Command):
    type = "gathering.end"
