"""The rules of a live gathering as pure code: no I/O in this package.

`decide(state, actor, command, now)` is the one function through which a
gathering's live state changes; `apply(state, event)` folds an event into state.
"""

from facilitation import breakouts as _breakouts  # noqa: F401  (registers its rules)
from facilitation import notes as _notes  # noqa: F401  (registers its rules)
from facilitation import planning as _planning  # noqa: F401  (registers its rules)
from facilitation import polls as _polls  # noqa: F401  (registers its rules)
from facilitation import questions as _questions  # noqa: F401  (registers its rules)
from facilitation import recording as _recording  # noqa: F401  (registers its rules)
from facilitation import stage as _stage  # noqa: F401  (registers its rules)
from facilitation.commands import Command
from facilitation.core import Rejected, apply, fold
from facilitation.events import Event
from facilitation.roles import Role
from facilitation.rules import decide
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
