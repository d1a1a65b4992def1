"""Roles, and who may send which command or socket event: the rights table."""

from enum import StrEnum


class Role(StrEnum):
    PROGRAMME_LEAD = "programme_lead"
    FACILITATOR = "facilitator"
    EXPERT = "expert"
    PARTICIPANT = "participant"
    OBSERVER = "observer"
    SYSTEM = "system"  # the server itself (its clock); never a person's role


RUNNERS = frozenset({Role.PROGRAMME_LEAD, Role.FACILITATOR})
SPEAKERS = RUNNERS | {Role.EXPERT, Role.PARTICIPANT}
EVERYONE = SPEAKERS | {Role.OBSERVER}

# Who may send what: one table for every command and every other socket event. Each
# command adds its own row where it is declared (facilitation/commands.py `Command`); the
# socket events that are not commands (server/sockets/) are written here. Missing: refused.
RIGHTS: dict[str, frozenset[Role]] = {
    "note.subscribe": EVERYONE,  # who may read or write which note: facilitation/notes.py
    "note.unsubscribe": EVERYONE,
    "note": EVERYONE,
    "reaction": SPEAKERS,
    "media.join": EVERYONE,  # who connects to whom: facilitation/media.py may_connect
    "media.leave": EVERYONE,
    "media.ice": EVERYONE,
    "signal": EVERYONE,
    "media.state": SPEAKERS,
    "media.states": EVERYONE,
    "media.mute": RUNNERS,  # only the person can turn their microphone on again
    "stage.publish": EVERYONE,  # who publishes: facilitation/media.py may_publish
    "stage.listen": EVERYONE,
    "stage.answer": EVERYONE,
    "stage.unpublish": EVERYONE,
    "stage.leave": EVERYONE,
}


def may_send(role: Role, name: str) -> bool:
    """Whether `role` may send the command or socket event `name`."""
    return role in RIGHTS.get(name, frozenset())


def runs_gathering(role: Role) -> bool:
    return role in RUNNERS
