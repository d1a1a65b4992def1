"""The machinery every rule module uses: a decision's inputs, the two registries
(how a command becomes events, how an event changes state) and the fold.

Feature modules (agenda, hands, breakouts, questions, ...) register their handlers with
`@decides` and `@applies`; `facilitation.rules.decide` is the one entry point."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import singledispatch
from typing import Any, TypeVar

from facilitation.commands import Command
from facilitation.events import Event
from facilitation.state import Actor, Context, GatheringState


class Rejected(Exception):
    """The command is well-formed and allowed for the role, but not now.

    `code` is `rejected`, `conflict` when the sender acted on a stale view, or `forbidden`
    when the rule depends on who the sender is relative to the state."""

    def __init__(self, reason: str, code: str = "rejected") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class Decision:
    """Everything a command handler may look at."""

    state: GatheringState
    actor: Actor
    now: float
    context: Context


@singledispatch
def decide_command(command: Command, d: Decision) -> list[Event]:
    raise Rejected(f"unknown command {command.type}")


decides = decide_command.register

E = TypeVar("E", bound=Event)
_APPLY: dict[type[Event], Callable[[GatheringState, Any], GatheringState]] = {}


def applies(event_type: type[E]) -> Callable[
    [Callable[[GatheringState, E], GatheringState]], Callable[[GatheringState, E], GatheringState]
]:
    def register(
        fn: Callable[[GatheringState, E], GatheringState],
    ) -> Callable[[GatheringState, E], GatheringState]:
        assert event_type not in _APPLY, f"{event_type.type} applied twice"
        _APPLY[event_type] = fn
        return fn

    return register


def apply(state: GatheringState, event: Event) -> GatheringState:
    """Fold one event into state; each event advances the version by one."""
    state = replace(state, version=state.version + 1)
    return _APPLY[type(event)](state, event)


def fold(state: GatheringState, events: Iterable[Event]) -> GatheringState:
    for event in events:
        state = apply(state, event)
    return state


# Hooks let a feature react to a core moment without the core knowing the feature:
#   "item_started": after an agenda item starts, with the state in which it runs, so an
#                    item does what it says (a breakout item opens breakouts, ...);
#   "joined":        after a person joins the room (a late joiner gets a group);
#   "tick":          the server's clock (deadlines and warnings);
#   "timer_changed": after the current item's timer is extended, paused or resumed;
#   "stage_changed": after the spotlight or the floor moved by hand;
#   "ending":        just before the gathering ends (the state is the one it ends in).
Hook = Callable[[GatheringState, Decision], list[Event]]
HOOKS: dict[str, list[Hook]] = {"item_started": [], "joined": [], "tick": [],
                                "timer_changed": [], "stage_changed": [], "ending": []}


def hook(moment: str) -> Callable[[Hook], Hook]:
    def register(fn: Hook) -> Hook:
        HOOKS[moment].append(fn)
        return fn

    return register


def run_hooks(moment: str, state: GatheringState, d: Decision) -> list[Event]:
    """Each hook sees the state with the events of the hooks before it applied."""
    events: list[Event] = []
    for fn in HOOKS[moment]:
        events.extend(fn(fold(state, events), d))
    return events
