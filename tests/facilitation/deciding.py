"""What the pure rule tests share: their people, a fake clock, and `decide` with the
invariants every decision must keep (each event advances the version by one; the events fold
to the state; every event comes back equal from the JSON the event log stores)."""

from __future__ import annotations

import json

import pytest

from facilitation import Actor, GatheringState, Rejected, Role, fold
from facilitation import commands as c
from facilitation.events import Event, event_from
from facilitation.rules import NO_CONTEXT, decide
from facilitation.state import Context

T0 = 1_800_000_000.0  # the fake clock starts here; tests add seconds to it

FRIDA = Actor(1, "Frida Fasilitator", Role.FACILITATOR)
PER = Actor(2, "Per Programleder", Role.PROGRAMME_LEAD)
ALICE = Actor(3, "Alice Askvik", Role.PARTICIPANT, "Askvik kommune")
BJORN = Actor(4, "Bjørn Brekke", Role.PARTICIPANT, "Brekke kommune")
EVA = Actor(5, "Eva Ekspert", Role.EXPERT)
CARL = Actor(7, "Carl Cederås", Role.PARTICIPANT, "Cederås kommune")


def stored(event: Event) -> Event:
    """The event as the server reads it back from its log: through JSON."""
    return event_from(event.type, json.loads(json.dumps(event.data())))


def run(state: GatheringState, actor: Actor, command: c.Command, now: float = T0,
        context: Context = NO_CONTEXT) -> tuple[GatheringState, list[Event]]:
    new_state, events = decide(state, actor, command, now, context)
    assert new_state.version == state.version + len(events)
    assert fold(state, events) == new_state
    for event in events:
        assert stored(event) == event, f"{event.type} does not survive a JSON round trip"
    return new_state, events


def rejected(state: GatheringState, actor: Actor, command: c.Command, now: float = T0,
             context: Context = NO_CONTEXT) -> Rejected:
    with pytest.raises(Rejected) as caught:
        decide(state, actor, command, now, context)
    return caught.value
