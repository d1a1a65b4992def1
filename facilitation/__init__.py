"""The rules of a live gathering as pure code: no I/O in this package.

`decide(state, actor, command, now)` is the one function through which a
gathering's live state changes; `apply(state, event)` folds an event into state.
"""

from facilitation.commands import Command
from facilitation.events import Event
from facilitation.roles import Role
from facilitation.rules import Rejected, apply, decide, fold
from facilitation.state import Actor, AgendaSlot, GatheringState, Phase

__all__ = [
    "Actor",
    "AgendaSlot",
    "Command",
    "Event",
    "GatheringState",
    "Phase",
    "Rejected",
    "Role",
    "apply",
    "decide",
    "fold",
]
