"""The socket protocol's commands: each schema next to how it becomes a command.

One list, COMMANDS, registers them all; docs/protocol.md must describe each."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from facilitation import commands as c

CommandId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
GatheringId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
CHAT_MAX_CHARS = 2000


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

    def to_command(self) -> c.Command:
        return self.command(**self.model_dump())


class JoinRoom(Payload):
    command = c.JoinRoom


class SyncRoom(Payload):
    """Ask for what happened after `since` (a snapshot if that is too far back)."""

    command = c.JoinRoom
    since: int = Field(ge=0)


class OpenRoom(Payload):
    command = c.OpenRoom


class NextItem(Payload):
    command = c.NextItem
    from_item: int | None


class PreviousItem(Payload):
    command = c.PreviousItem
    from_item: int | None


class ExtendItem(Payload):
    command = c.ExtendItem
    minutes: int = Field(ge=1, le=60)


class RaiseHand(Payload):
    command = c.RaiseHand


class LowerHand(Payload):
    command = c.LowerHand
    person_id: int | None = None


class CallNextHand(Payload):
    command = c.CallNextHand


class SendChat(Payload):
    command = c.SendChat
    text: Annotated[str, StringConstraints(min_length=1, max_length=CHAT_MAX_CHARS)]


class EndGathering(Payload):
    command = c.EndGathering


@dataclass(frozen=True)
class CommandSpec:
    type: str
    schema: builtins.type[Payload]  # `type` alone would be the field above
    summary: str
    # False for commands that only read: they are answered afresh, never from a receipt
    changes_state: bool = True


COMMANDS: dict[str, CommandSpec] = {
    spec.type: spec
    for spec in (
        CommandSpec("room.join", JoinRoom, "Enter the gathering's room; ack has the snapshot.",
                    changes_state=False),
        CommandSpec("room.sync", SyncRoom, "Catch up: events since a version, or a snapshot.",
                    changes_state=False),
        CommandSpec("room.open", OpenRoom, "Open the room: lobby -> live."),
        CommandSpec("agenda.next", NextItem, "Start the next agenda item."),
        CommandSpec("agenda.previous", PreviousItem, "Go back to the previous agenda item."),
        CommandSpec("agenda.extend", ExtendItem, "Give the current item more minutes."),
        CommandSpec("hand.raise", RaiseHand, "Join the speaking queue."),
        CommandSpec("hand.lower", LowerHand, "Leave the queue (or, facilitator: remove one)."),
        CommandSpec("hand.call_next", CallNextHand, "Give the floor to the first in the queue."),
        CommandSpec("chat.send", SendChat, "Post a chat message to the gathering."),
        CommandSpec("gathering.end", EndGathering, "End the gathering."),
    )
}

# Events the server sends that are not in the gathering's versioned log.
EPHEMERAL_EVENTS: dict[str, str] = {
    "presence.joined": "A person's first connection entered the room.",
    "presence.left": "A person's last connection left the room.",
}


def payload_of(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in Envelope.model_fields}
