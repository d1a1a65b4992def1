"""Who may send which command: the role table."""

from enum import StrEnum


class Role(StrEnum):
    PROGRAMME_LEAD = "programme_lead"
    FACILITATOR = "facilitator"
    EXPERT = "expert"
    PARTICIPANT = "participant"
    OBSERVER = "observer"


RUNNERS = frozenset({Role.PROGRAMME_LEAD, Role.FACILITATOR})
SPEAKERS = RUNNERS | {Role.EXPERT, Role.PARTICIPANT}
EVERYONE = SPEAKERS | {Role.OBSERVER}

# command type -> roles that may send it. A command missing here is refused.
COMMAND_RIGHTS: dict[str, frozenset[Role]] = {
    "room.join": EVERYONE,
    "room.sync": EVERYONE,
    "room.open": RUNNERS,
    "agenda.next": RUNNERS,
    "agenda.previous": RUNNERS,
    "agenda.extend": RUNNERS,
    "hand.raise": SPEAKERS,
    "hand.lower": SPEAKERS,
    "hand.call_next": RUNNERS,
    "chat.send": SPEAKERS,
    "gathering.end": RUNNERS,
}


def may_send(role: Role, command_type: str) -> bool:
    return role in COMMAND_RIGHTS.get(command_type, frozenset())


def runs_gathering(role: Role) -> bool:
    return role in RUNNERS
