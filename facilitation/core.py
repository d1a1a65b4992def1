"""The machinery every rule module uses: a decision's inputs, the two registries
(how a command becomes events, how an event changes state), the fold, and the hooks with
the one table of the order in which they run (HOOK_ORDER).

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

# The order in which a moment's hooks run, written down here rather than left to the
# order in which facilitation/__init__.py happens to import the feature modules. It is the
# order of the events in the gathering's log, and the log is the record: it is stored,
# replayed, and folded by every client one event at a time, so clients pass through the
# states this order gives. Each hook sees the state with the events of the hooks before it
# applied. Stored logs and tests/facilitation/test_hooks.py hold this order: a new hook
# goes where it must run; moving an existing one changes every log from then on.
HOOK_ORDER: dict[str, tuple[str, ...]] = {
    # after agenda.item_started. Today none of these reads what an earlier one changed in a
    # way that alters the outcome (3 finds no check-in left for it to close after 2), so the
    # order decides the log. What each position gives:
    "item_started": (
        # 1. first, the room: open groups that are not the new item's own are called back
        #    to plenary before anything of the new item (its check-in, the Q&A focus, the
        #    stage) is announced; a breakout item's groups open right after its start
        "breakouts.open_or_recall_groups",
        # 2. the last item's check-in poll closes with its item: after the room is back
        #    (where people are comes first), and before a new check-in launches, so the old
        #    poll's close is the last item's, not a side effect of the new launch
        "polls.close_checkin_at_item_end",
        # 3. a welcome item's check-in poll (closing any poll still open)
        "polls.launch_checkin_poll",
        # 4. a Q&A item puts the questions in focus; any other item ends that focus
        "questions.focus_on_qa_item",
        # 5. the last item's recording stops (item_ended) while its person still has the
        #    spotlight: the recording indicator goes off before the stage moves on to the
        #    next expert or empties, never showing a recording of someone off stage. It goes
        #    on only when the person agreed to the new item too and 6 keeps them on stage
        #    (a talk's Q&A): the rule asks stage.py who that is, so 6 may come after it
        "recording.stop_at_item_end",
        # 6. last, the stage: the item's expert gets the spotlight, or it is cleared
        "stage.set_stage_for_item",
    ),
    # after attendee.arrived (when the person is new): a late participant gets a group
    "joined": ("breakouts.give_late_joiner_a_group",),
    # after agenda.item_warned (when due): the item's warning comes before the groups'
    "tick": ("breakouts.warn_and_recall_at_deadline",),
    # after agenda.item_extended, item_paused or item_resumed: the item's groups follow
    "timer_changed": ("breakouts.retime_with_item",),
    # after the stage events of a move by hand: the recording stop follows the move that
    # caused it (unlike at an item change, where the stop comes first)
    "stage_changed": ("recording.stop_when_spotlight_moves",),
    # before gathering.ended, while the gathering is still live: first the recording stops
    # (nothing more is recorded from the moment the facilitator ends), then a welcome item's
    # check-in poll still open closes; neither reads what the other changed
    "ending": ("recording.stop_at_gathering_end", "polls.close_checkin_at_gathering_end"),
}

# moment -> hook name ("<module>.<function>") -> the hook, filled as the modules register
HOOKS: dict[str, dict[str, Hook]] = {moment: {} for moment in HOOK_ORDER}


def hook_name(fn: Hook) -> str:
    """How HOOK_ORDER names a hook: its module within facilitation, and its name."""
    return f"{fn.__module__.removeprefix('facilitation.')}.{fn.__name__}"


def hook(moment: str) -> Callable[[Hook], Hook]:
    """Register a hook for `moment`. It must be listed there in HOOK_ORDER: a hook that is
    not fails here, at import, rather than running in an order nobody chose."""

    def register(fn: Hook) -> Hook:
        name = hook_name(fn)
        if moment not in HOOK_ORDER:
            raise LookupError(f"hook {name}: no moment {moment!r} in HOOK_ORDER")
        if name not in HOOK_ORDER[moment]:
            raise LookupError(f"hook {name} is not in HOOK_ORDER[{moment!r}]: add it "
                              "there, in the place where it should run")
        if name in HOOKS[moment]:
            raise LookupError(f"hook {name} registered twice for {moment!r}")
        HOOKS[moment][name] = fn
        return fn

    return register


def run_hooks(moment: str, state: GatheringState, d: Decision) -> list[Event]:
    """Run `moment`'s hooks in HOOK_ORDER's order. Each hook sees the state with the
    events of the hooks before it applied."""
    registered = HOOKS[moment]
    events: list[Event] = []
    for name in HOOK_ORDER[moment]:
        fn = registered.get(name)
        if fn is None:
            raise LookupError(f"hook {name} of {moment!r} is in HOOK_ORDER but was never "
                              "registered")
        events.extend(fn(fold(state, events), d))
    return events
