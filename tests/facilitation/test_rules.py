"""The rules of a live gathering, pure and table-driven: no I/O, a fake clock (floats)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from facilitation import (
    Actor,
    AgendaSlot,
    GatheringState,
    Phase,
    Role,
    apply,
    fold,
    notes,
)
from facilitation import breakouts as b
from facilitation import commands as c
from facilitation import events as e
from facilitation import planning as p
from facilitation.commands import COMMANDS
from facilitation.core import decide_command
from facilitation.roles import RIGHTS, may_send
from facilitation.rules import MAX_EXTEND_MINUTES
from facilitation.state import (
    CHAT_KEPT,
    BreakoutPlan,
    Context,
    CurrentItem,
    Group,
    GroupingRule,
    PersonRef,
)
from tests.facilitation.deciding import T0, rejected, run
from tests.facilitation.test_advance_questions import ADVANCE_EVENT_SAMPLES
from tests.facilitation.test_polls import POLL_EVENT_SAMPLES
from tests.facilitation.test_questions import QUESTION_EVENT_SAMPLES
from tests.facilitation.test_recording import RECORDING_EVENT_SAMPLES
from tests.facilitation.test_stage import STAGE_EVENT_SAMPLES

AGENDA = (
    AgendaSlot(11, "Velkommen", "welcome", 10),
    AgendaSlot(12, "Innlegg", "expert_talk", 20),
    AgendaSlot(13, "Grupperom", "breakout", 25),
    AgendaSlot(14, "Oppsummering", "wrap_up", 5),
)

FRIDA = Actor(1, "Frida Fasilitator", Role.FACILITATOR)
PER = Actor(2, "Per Programleder", Role.PROGRAMME_LEAD)
ALICE = Actor(3, "Alice Askvik", Role.PARTICIPANT, "Askvik kommune", "oppstart", ("innkjøp",))
BJORN = Actor(4, "Bjørn Brekke", Role.PARTICIPANT, "Brekke kommune", "gjennomforing")
EVA = Actor(5, "Eva Ekspert", Role.EXPERT)
OLA = Actor(6, "Ola Observatør", Role.OBSERVER)
# everyone is here (the floor goes only to someone present: `Context.here`)
HERE = Context(here=frozenset({1, 2, 3, 4, 5, 6}))


def lobby() -> GatheringState:
    return GatheringState(gathering_id="g1", agenda=AGENDA)


def live(now: float = T0) -> GatheringState:
    state, _ = run(lobby(), FRIDA, c.OpenRoom(), now)
    return state


def at_item(index: int, now: float = T0) -> GatheringState:
    state = live(now)
    for _ in range(index + 1):
        slot = state.current_slot()
        state, _ = run(state, FRIDA, c.NextItem(from_item=slot.id if slot else None), now)
    return state


# --- the phase table ------------------------------------------------------------------

CORE_COMMAND_TYPES = {
    "room.join", "room.sync", "room.open", "agenda.next", "agenda.previous", "agenda.extend",
    "agenda.pause", "hand.raise", "hand.lower", "hand.call_next", "chat.send", "gathering.end",
}
# commands that need a particular state to succeed: their own tests cover them
STATEFUL_COMMAND_TYPES = {
    "agenda.resume", "timer.tick", "breakouts.propose", "breakouts.move", "breakouts.rename",
    "breakouts.open", "breakouts.choose", "breakouts.broadcast", "breakouts.recall",
}
# agenda planning: tests/facilitation/test_planning.py walks them through each phase
PLANNING_COMMAND_TYPES = {
    "agenda.add_item", "agenda.update_item", "agenda.move_item", "agenda.remove_item",
    "agenda.copy_from", "agenda.use_template",
}
STATEFUL_COMMAND_TYPES |= PLANNING_COMMAND_TYPES
# questions, polls, the stage: test_questions.py, test_polls.py, test_stage.py
QA_COMMAND_TYPES = {
    "question.ask", "question.upvote", "question.unvote", "question.pick", "question.answered",
    "question.hide", "questions.settings", "poll.launch", "poll.answer", "poll.close",
    "stage.spotlight", "stage.clear", "stage.take_off",
    "question.bring_advance",  # test_advance_questions.py
}
# recording an expert slot: test_recording.py
QA_COMMAND_TYPES |= {"recording.consent", "recording.withdraw", "recording.start",
                     "recording.stop"}
STATEFUL_COMMAND_TYPES |= QA_COMMAND_TYPES
STATEFUL_COMMAND_TYPES |= {"notes.reopen", "notes.close"}  # test_breakouts.py
ALL_COMMAND_TYPES = CORE_COMMAND_TYPES | STATEFUL_COMMAND_TYPES

L, V, X = Phase.LOBBY, Phase.LIVE, Phase.ENDED
EXPECTED_PHASES: dict[str, set[Phase]] = {
    "room.join": {L, V, X},
    "room.sync": {L, V, X},
    "room.open": {L},
    "agenda.next": {V},
    "agenda.previous": {V},
    "agenda.extend": {V},
    "hand.raise": {V},
    "hand.lower": {L, V},
    "hand.call_next": {V},
    "chat.send": {L, V},
    "gathering.end": {L, V},
    "agenda.pause": {V},
    "agenda.resume": {V},
    "timer.tick": {V},
    **{t: {V} for t in STATEFUL_COMMAND_TYPES if t.startswith("breakouts.")},
    **{t: {L, V} for t in PLANNING_COMMAND_TYPES},
    # questions before and during the gathering; answering, polls and the stage live
    **{t: {L, V} for t in ("question.ask", "question.upvote", "question.unvote",
                           "question.hide", "questions.settings", "question.bring_advance")},
    **{t: {V} for t in ("question.pick", "question.answered", "poll.launch", "poll.answer",
                        "poll.close", "stage.spotlight", "stage.clear", "stage.take_off",
                        "recording.consent", "recording.withdraw", "recording.start",
                        "recording.stop")},
    "notes.reopen": {X},
    "notes.close": {X},
}


# each command's phases, as declared with the command (facilitation/commands.py)
PHASE_RULES = {type_: spec.phases for type_, spec in COMMANDS.items()}


def test_the_phase_table_covers_every_command() -> None:
    assert set(PHASE_RULES) == ALL_COMMAND_TYPES
    assert {k: set(v) for k, v in PHASE_RULES.items()} == EXPECTED_PHASES


def _ready(phase: Phase) -> GatheringState:
    """A state in `phase` where every command would succeed if the phase allowed it:
    item 2 of 4 running, Bjørn's hand up, the actor (Frida) not yet an attendee."""
    state = replace(
        lobby(),
        phase=phase,
        current=CurrentItem(index=1, started_at=T0, planned_seconds=20 * 60),
        hands=(PersonRef(BJORN.person_id, BJORN.name, BJORN.municipality),),
    )
    return state


def _command(type_: str) -> c.Command:
    return {
        "room.join": c.JoinRoom(),
        "room.open": c.OpenRoom(),
        "agenda.next": c.NextItem(from_item=12),
        "agenda.previous": c.PreviousItem(from_item=12),
        "agenda.extend": c.ExtendItem(minutes=5),
        "agenda.pause": c.PauseItem(),
        "hand.raise": c.RaiseHand(),
        "hand.lower": c.LowerHand(person_id=BJORN.person_id),
        "hand.call_next": c.CallNextHand(),
        "chat.send": c.SendChat(text="hei"),
        "gathering.end": c.EndGathering(),
    }[type_]


DECIDED_TYPES = sorted(CORE_COMMAND_TYPES - {"room.sync"})  # room.sync only reads


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("type_", DECIDED_TYPES)
def test_each_command_in_each_phase(type_: str, phase: Phase) -> None:
    state = _ready(phase)
    command = _command(type_)
    assert command.type == type_
    if phase in EXPECTED_PHASES[type_]:
        new_state, events = run(state, FRIDA, command, T0 + 30, HERE)
        assert events, f"{type_} in {phase} should have changed something"
        assert new_state.version == state.version + len(events)
    else:
        error = rejected(state, FRIDA, command, T0 + 30, HERE)
        assert error.code == "rejected"
        assert str(phase) in error.reason


def test_an_unknown_command_is_rejected() -> None:
    class Dance(c.Command):
        type = "dance"

    assert rejected(live(), FRIDA, Dance()).code == "rejected"


def test_every_rule_can_be_found_by_name() -> None:
    """Each command's handler is `decide_<command class in snake case>`: grep finds it."""
    handlers = {cls: fn for cls, fn in decide_command.registry.items() if cls is not object}
    assert {cls.type for cls in handlers} == set(PHASE_RULES) - {"room.sync"}
    for cls, fn in handlers.items():
        assert fn.__name__ == "decide_" + re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


# --- the role table -------------------------------------------------------------------

RUN = {Role.PROGRAMME_LEAD, Role.FACILITATOR}
SPEAK = RUN | {Role.EXPERT, Role.PARTICIPANT}
ALL = SPEAK | {Role.OBSERVER}
EXPECTED_RIGHTS: dict[str, set[Role]] = {
    "room.join": ALL,
    "room.sync": ALL,
    "room.open": RUN,
    "agenda.next": RUN,
    "agenda.previous": RUN,
    "agenda.extend": RUN,
    "hand.raise": SPEAK,
    "hand.lower": SPEAK,
    "hand.call_next": RUN,
    "chat.send": SPEAK,
    "gathering.end": RUN,
    "agenda.pause": RUN,
    "agenda.resume": RUN,
    "timer.tick": {Role.SYSTEM},
    "breakouts.propose": RUN,
    "breakouts.move": RUN,
    "breakouts.rename": RUN,
    "breakouts.open": RUN,
    "breakouts.choose": {Role.PARTICIPANT},
    "breakouts.broadcast": RUN,
    "breakouts.recall": RUN,
    **{t: RUN for t in PLANNING_COMMAND_TYPES},
    "question.ask": SPEAK,
    "question.upvote": SPEAK,
    "question.unvote": SPEAK,
    "question.pick": RUN | {Role.EXPERT},  # the expert: only while on stage
    "question.answered": RUN | {Role.EXPERT},
    "question.hide": RUN,
    "questions.settings": RUN,
    "question.bring_advance": RUN | {Role.SYSTEM},  # the server brings them at the opening
    "poll.launch": RUN,
    "poll.answer": SPEAK,
    "poll.close": RUN,
    "stage.spotlight": RUN,
    "stage.clear": RUN,
    "stage.take_off": RUN,
    "recording.consent": SPEAK,
    "recording.withdraw": SPEAK,
    "recording.start": RUN,
    "recording.stop": RUN,
    "notes.reopen": RUN,
    "notes.close": RUN,
}
# the socket events that are not commands share the table (server/sockets/gate.py)
EXPECTED_EVENT_RIGHTS: dict[str, set[Role]] = {
    **{t: ALL for t in ("note.subscribe", "note.unsubscribe", "note", "media.join",
                        "media.leave", "media.ice", "signal", "media.states",
                        "stage.publish", "stage.listen", "stage.answer", "stage.unpublish",
                        "stage.leave")},
    "reaction": SPEAK,
    "media.state": SPEAK,
    "media.mute": RUN,
}


def test_the_role_table_covers_every_command() -> None:
    assert set(RIGHTS) - set(EXPECTED_EVENT_RIGHTS) == ALL_COMMAND_TYPES == set(EXPECTED_RIGHTS)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", sorted(EXPECTED_EVENT_RIGHTS))
def test_each_socket_event_for_each_role(name: str, role: Role) -> None:
    assert may_send(role, name) is (role in EXPECTED_EVENT_RIGHTS[name])


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("type_", sorted(ALL_COMMAND_TYPES))
def test_each_command_for_each_role(type_: str, role: Role) -> None:
    assert may_send(role, type_) is (role in EXPECTED_RIGHTS[type_])


@pytest.mark.parametrize("role", list(Role))
def test_a_command_missing_from_the_table_is_refused(role: Role) -> None:
    assert may_send(role, "agenda.delete") is False


# --- opening and the agenda -----------------------------------------------------------


def test_opening_goes_live_and_remembers_when() -> None:
    state, events = run(lobby(), FRIDA, c.OpenRoom(), T0 + 5)
    assert events == [e.RoomOpened(at=T0 + 5)]
    assert state.phase is Phase.LIVE
    assert state.opened_at == T0 + 5
    assert state.current is None


def test_next_starts_the_first_item_with_the_server_clock() -> None:
    state, events = run(live(), FRIDA, c.NextItem(from_item=None), T0 + 60)
    assert events == [e.ItemStarted(index=0, item_id=11, started_at=T0 + 60,
                                    planned_seconds=600)]
    assert state.current == CurrentItem(index=0, started_at=T0 + 60, planned_seconds=600)
    assert state.current.deadline == T0 + 60 + 600
    assert state.current_slot() == AGENDA[0]


def test_next_walks_the_agenda_and_stops_at_the_last_item() -> None:
    state = live()
    for index, slot in enumerate(AGENDA):
        previous = state.current_slot()
        state, events = run(state, PER, c.NextItem(from_item=previous.id if previous else None),
                            T0 + index)
        assert [type(ev) for ev in events] == [e.ItemStarted]
        assert state.current is not None and state.current.index == index
        assert state.current_slot() == slot
    error = rejected(state, FRIDA, c.NextItem(from_item=AGENDA[-1].id))
    assert error.code == "rejected"
    assert "last" in error.reason


@pytest.mark.parametrize(
    ("current_index", "from_item"),
    [
        (None, 11),  # the sender thinks an item runs; none does
        (0, None),  # the sender has not seen the first item start
        (0, 12),  # the sender is ahead
        (1, 11),  # the sender is behind: someone else advanced already
        (1, 999),  # not an item of this agenda
    ],
)
def test_next_and_previous_from_a_stale_view_conflict(
    current_index: int | None, from_item: int | None
) -> None:
    state = live() if current_index is None else at_item(current_index)
    for command in (c.NextItem(from_item=from_item), c.PreviousItem(from_item=from_item)):
        error = rejected(state, FRIDA, command)
        assert error.code == "conflict"


def test_two_consoles_with_the_same_view_advance_once() -> None:
    state = at_item(0)
    first, _ = run(state, FRIDA, c.NextItem(from_item=11), T0 + 1)
    assert rejected(first, PER, c.NextItem(from_item=11), T0 + 1).code == "conflict"
    assert first.current is not None and first.current.index == 1


def test_previous_goes_back_and_restarts_the_clock() -> None:
    state = at_item(2, now=T0)
    state, events = run(state, FRIDA, c.PreviousItem(from_item=13), T0 + 100)
    assert events == [e.ItemStarted(index=1, item_id=12, started_at=T0 + 100,
                                    planned_seconds=1200)]
    assert state.current == CurrentItem(1, T0 + 100, 1200)


@pytest.mark.parametrize("state_at", [None, 0])
def test_previous_before_or_at_the_first_item_is_rejected(state_at: int | None) -> None:
    state = live() if state_at is None else at_item(state_at)
    slot = state.current_slot()
    error = rejected(state, FRIDA, c.PreviousItem(from_item=slot.id if slot else None))
    assert error.code == "rejected"
    assert "first" in error.reason


def test_extend_adds_up_and_moves_the_deadline() -> None:
    state = at_item(1, now=T0)
    state, events = run(state, FRIDA, c.ExtendItem(minutes=5), T0 + 10)
    assert events == [e.ItemExtended(index=1, extended_seconds=300)]
    state, events = run(state, FRIDA, c.ExtendItem(minutes=2), T0 + 20)
    assert events == [e.ItemExtended(index=1, extended_seconds=420)]
    assert state.current == CurrentItem(1, T0, 1200, 420)
    assert state.current.deadline == T0 + 1200 + 420


def test_the_next_item_starts_without_the_previous_extension() -> None:
    state, _ = run(at_item(0), FRIDA, c.ExtendItem(minutes=5))
    state, _ = run(state, FRIDA, c.NextItem(from_item=11), T0 + 900)
    assert state.current == CurrentItem(1, T0 + 900, 1200, 0)


@pytest.mark.parametrize("minutes", [1, MAX_EXTEND_MINUTES])
def test_extend_accepts_its_bounds(minutes: int) -> None:
    state, _ = run(at_item(0), FRIDA, c.ExtendItem(minutes=minutes))
    assert state.current is not None and state.current.extended_seconds == minutes * 60


@pytest.mark.parametrize("minutes", [0, -5, MAX_EXTEND_MINUTES + 1])
def test_extend_outside_its_bounds_is_rejected(minutes: int) -> None:
    state = at_item(0)
    assert rejected(state, FRIDA, c.ExtendItem(minutes=minutes)).code == "rejected"


def test_extend_with_no_item_running_is_rejected() -> None:
    assert rejected(live(), FRIDA, c.ExtendItem(minutes=5)).code == "rejected"


# --- joining --------------------------------------------------------------------------


def test_joining_records_attendance_once() -> None:
    state, events = run(lobby(), ALICE, c.JoinRoom())
    assert events == [e.AttendeeArrived(ALICE.person_id, ALICE.name, ALICE.municipality)]
    assert state.attendees == {ALICE.person_id}
    again, events = run(state, ALICE, c.JoinRoom())
    assert events == []
    assert again == state


# --- hands: the speaking queue --------------------------------------------------------


def _queue(state: GatheringState) -> list[int]:
    return [h.person_id for h in state.hands]


def test_hands_queue_in_the_order_they_were_raised() -> None:
    state = live()
    for actor in (BJORN, ALICE, EVA, PER):
        state, events = run(state, actor, c.RaiseHand())
        assert events == [e.HandRaised(actor.person_id, actor.name, actor.municipality)]
    assert _queue(state) == [4, 3, 5, 2]
    assert state.hands[0] == PersonRef(4, "Bjørn Brekke", "Brekke kommune")


def test_raising_twice_is_raising_once() -> None:
    state, _ = run(live(), ALICE, c.RaiseHand())
    state, _ = run(state, BJORN, c.RaiseHand())
    again, events = run(state, ALICE, c.RaiseHand())
    assert events == []
    assert again == state
    assert _queue(again) == [3, 4]


@pytest.mark.parametrize("person_id", [None, ALICE.person_id])
def test_lowering_ones_own_hand_keeps_the_others_in_order(person_id: int | None) -> None:
    state = live()
    for actor in (BJORN, ALICE, EVA):
        state, _ = run(state, actor, c.RaiseHand())
    state, events = run(state, ALICE, c.LowerHand(person_id=person_id))
    assert events == [e.HandLowered(person_id=ALICE.person_id)]
    assert _queue(state) == [4, 5]


def test_lowering_a_hand_that_is_not_up_changes_nothing() -> None:
    state, _ = run(live(), BJORN, c.RaiseHand())
    again, events = run(state, ALICE, c.LowerHand())
    assert events == []
    assert again == state


@pytest.mark.parametrize("runner", [FRIDA, PER])
def test_those_running_the_gathering_lower_anyones_hand(runner: Actor) -> None:
    state, _ = run(live(), ALICE, c.RaiseHand())
    state, _ = run(state, BJORN, c.RaiseHand())
    state, events = run(state, runner, c.LowerHand(person_id=ALICE.person_id))
    assert events == [e.HandLowered(person_id=ALICE.person_id)]
    assert _queue(state) == [4]


@pytest.mark.parametrize("actor", [BJORN, EVA])
def test_a_participant_may_not_lower_someone_elses_hand(actor: Actor) -> None:
    state, _ = run(live(), ALICE, c.RaiseHand())
    error = rejected(state, actor, c.LowerHand(person_id=ALICE.person_id))
    assert error.code == "forbidden"
    # ... not even one that is not up: the answer does not depend on the queue
    assert rejected(live(), actor, c.LowerHand(person_id=ALICE.person_id)).code == "forbidden"


def test_calling_next_gives_the_floor_to_the_first_in_the_queue() -> None:
    state = live()
    for actor in (BJORN, ALICE):
        state, _ = run(state, actor, c.RaiseHand())
    state, events = run(state, FRIDA, c.CallNextHand(), context=HERE)
    assert events == [e.SpeakerCalled(4, "Bjørn Brekke", "Brekke kommune")]
    assert state.speaker == PersonRef(4, "Bjørn Brekke", "Brekke kommune")
    assert _queue(state) == [3]
    state, _ = run(state, PER, c.CallNextHand(), context=HERE)
    assert state.speaker == PersonRef(3, "Alice Askvik", "Askvik kommune")
    assert _queue(state) == []
    error = rejected(state, FRIDA, c.CallNextHand(), context=HERE)
    assert error.code == "rejected"
    assert state.speaker is not None and state.speaker.person_id == 3  # unchanged


@pytest.mark.parametrize(("here", "called", "queue_after"), [
    ({3, 4, 5}, 4, [3, 5]),  # everyone is here: the first in the queue
    ({1, 3, 5}, 3, [4, 5]),  # Bjørn closed his tabs: Alice is called, he keeps his place
    ({1, 5}, 5, [4, 3]),  # only Eva of the queue is here
])
def test_calling_next_passes_over_those_who_are_not_here(
        here: set[int], called: int, queue_after: list[int]) -> None:
    state = live()
    for actor in (BJORN, ALICE, EVA):
        state, _ = run(state, actor, c.RaiseHand())
    state, events = run(state, FRIDA, c.CallNextHand(), context=Context(here=frozenset(here)))
    assert [(ev.type, getattr(ev, "person_id", None)) for ev in events] == [("hand.called", called)]
    assert state.speaker is not None and state.speaker.person_id == called
    assert _queue(state) == queue_after


def test_calling_next_when_nobody_in_the_queue_is_here_is_refused() -> None:
    state = live()
    for actor in (BJORN, ALICE):
        state, _ = run(state, actor, c.RaiseHand())
    error = rejected(state, FRIDA, c.CallNextHand(), context=Context(here=frozenset({1, 5})))
    assert error.code == "rejected"
    assert "nobody in the queue is here" in error.reason
    assert c.Need.HERE in COMMANDS["hand.call_next"].needs  # the server loads who is here


def test_the_speaker_may_raise_their_hand_again() -> None:
    state, _ = run(live(), ALICE, c.RaiseHand())
    state, _ = run(state, FRIDA, c.CallNextHand(), context=HERE)
    state, events = run(state, ALICE, c.RaiseHand())
    assert len(events) == 1
    assert _queue(state) == [3]


@pytest.mark.parametrize("move", [c.NextItem, c.PreviousItem])
def test_a_new_agenda_item_ends_the_floor_but_keeps_the_queue(
    move: type[c.NextItem] | type[c.PreviousItem],
) -> None:
    state = at_item(1)
    for actor in (ALICE, BJORN):
        state, _ = run(state, actor, c.RaiseHand())
    state, _ = run(state, FRIDA, c.CallNextHand(), context=HERE)
    assert state.speaker is not None
    slot = state.current_slot()
    assert slot is not None
    state, _ = run(state, FRIDA, move(from_item=slot.id))
    assert state.speaker is None
    assert _queue(state) == [4]


# --- chat -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "\n\t  "])
def test_an_empty_chat_message_is_rejected(text: str) -> None:
    assert rejected(live(), ALICE, c.SendChat(text=text)).code == "rejected"


def test_chat_is_trimmed_and_stamped_with_the_server_clock() -> None:
    state, events = run(live(), ALICE, c.SendChat(text="  Hei alle!  "), T0 + 42)
    assert events == [e.ChatPosted(3, "Alice Askvik", "Askvik kommune", "Hei alle!", T0 + 42)]
    (message,) = state.chat
    assert (message.text, message.at, message.author.person_id) == ("Hei alle!", T0 + 42, 3)
    assert message.seq == state.version


def test_the_chat_keeps_the_last_messages_only() -> None:
    state = live()
    extra = 5
    for n in range(CHAT_KEPT + extra):
        state, _ = run(state, ALICE if n % 2 else BJORN, c.SendChat(text=f"melding {n}"),
                       T0 + n)
    assert CHAT_KEPT == 200
    assert len(state.chat) == CHAT_KEPT
    assert [m.text for m in state.chat] == [f"melding {n}" for n in range(extra, CHAT_KEPT + extra)]
    assert state.version == 1 + CHAT_KEPT + extra


def test_chat_text_is_data_not_markup() -> None:
    hostile = "<img src=x onerror=alert(1)>"
    state, events = run(live(), ALICE, c.SendChat(text=hostile))
    assert state.chat[-1].text == hostile


# --- ending ---------------------------------------------------------------------------


def test_ending_clears_the_hands_and_the_speaker() -> None:
    state = at_item(1)
    for actor in (ALICE, BJORN, EVA):
        state, _ = run(state, actor, c.RaiseHand())
    state, _ = run(state, FRIDA, c.CallNextHand(), context=HERE)
    assert state.hands and state.speaker
    state, events = run(state, FRIDA, c.EndGathering(), T0 + 3600)
    assert events == [e.GatheringEnded(at=T0 + 3600)]
    assert state.phase is Phase.ENDED
    assert state.ended_at == T0 + 3600
    assert state.hands == ()
    assert state.speaker is None
    assert rejected(state, ALICE, c.RaiseHand()).code == "rejected"


def test_a_lobby_can_be_ended_without_opening() -> None:
    state, _ = run(lobby(), FRIDA, c.EndGathering(), T0)
    assert state.phase is Phase.ENDED
    assert state.opened_at is None


# --- versions and the fold ------------------------------------------------------------


def _script() -> list[tuple[Actor, c.Command]]:
    return [
        (ALICE, c.JoinRoom()),
        (FRIDA, c.JoinRoom()),
        (ALICE, c.SendChat(text="God morgen")),
        (FRIDA, c.OpenRoom()),
        (FRIDA, c.NextItem(from_item=None)),
        (ALICE, c.RaiseHand()),
        (ALICE, c.RaiseHand()),  # no event
        (BJORN, c.RaiseHand()),
        (EVA, c.RaiseHand()),
        (FRIDA, c.ExtendItem(minutes=3)),
        (FRIDA, c.CallNextHand()),
        (FRIDA, c.LowerHand(person_id=EVA.person_id)),
        (FRIDA, c.NextItem(from_item=11)),
        (PER, c.NextItem(from_item=12)),
        (PER, c.PreviousItem(from_item=13)),
        (BJORN, c.SendChat(text="Takk!")),
        (FRIDA, c.EndGathering()),
    ]


def test_every_event_advances_the_version_by_one() -> None:
    state = lobby()
    for step, (actor, command) in enumerate(_script()):
        before = state.version
        state, events = run(state, actor, command, T0 + step, HERE)
        assert state.version == before + len(events)
        assert len(events) == (0 if step == 6 else 1)  # step 6 repeats a raised hand
    assert state.version == len(_script()) - 1


def test_apply_advances_the_version_by_exactly_one_per_event() -> None:
    state = live()
    for ev in (e.HandRaised(3, "A", None), e.HandLowered(3), e.ChatPosted(3, "A", None, "x", T0)):
        after = apply(state, ev)
        assert after.version == state.version + 1
        state = after


def test_the_fold_of_the_stored_events_reproduces_the_state() -> None:
    """What the store does: keep each event as (type, JSON data), fold it back later."""
    state = lobby()
    log: list[tuple[str, str]] = []
    for step, (actor, command) in enumerate(_script()):
        state, events = run(state, actor, command, T0 + step, HERE)
        log.extend((ev.type, json.dumps(ev.data())) for ev in events)
    replayed = fold(lobby(), (e.event_from(t, json.loads(data)) for t, data in log))
    assert replayed == state
    assert replayed.phase is Phase.ENDED
    assert replayed.version == len(log)
    assert [m.text for m in replayed.chat] == ["God morgen", "Takk!"]
    assert replayed.attendees == {ALICE.person_id, FRIDA.person_id}


PLANNING_EVENT_SAMPLES = [
    p.ItemAdded(AgendaSlot(15, "Grupper", "breakout", 20,
                           breakout=BreakoutPlan(GroupingRule.BY_TAG, 3, "Oppgave", "Mal")), 2),
    p.ItemUpdated(AgendaSlot(12, "Innlegg", "expert_talk", 25, expert_id=5)),
    p.ItemMoved(12, 3), p.ItemRemoved(14),
    p.AgendaReplaced((AgendaSlot(15, "Velkommen", "welcome", 10),
                      AgendaSlot(16, "Grupper", "breakout", 30, breakout=BreakoutPlan())),
                     template="standard"),
    p.AgendaReplaced((AgendaSlot(17, "Velkommen", "welcome", 10),), from_gathering="g0"),
]


def test_every_event_type_round_trips_through_its_data() -> None:
    samples = [
        e.AttendeeArrived(3, "A", "K"), e.RoomOpened(T0), e.ItemStarted(0, 11, T0, 600),
        e.ItemExtended(0, 60), e.HandRaised(3, "A", None), e.HandLowered(3),
        e.SpeakerCalled(3, "A", None), e.ChatPosted(3, "A", None, "x", T0), e.GatheringEnded(T0),
        e.ItemPaused(0, T0), e.ItemResumed(0, T0 + 9, 9.0), e.ItemWarned(0, T0),
        b.BreakoutsProposed(1, 13, BreakoutPlan(GroupingRule.MIXED, 3, "Oppgave", "Mal"),
                            (Group("g1", "Oppstart 1", (ALICE.member, BJORN.member)),)),
        b.BreakoutsOpened(T0, T0 + 900), b.MemberMoved(BJORN.member, "g2"),
        b.GroupRenamed("g1", "Innkjøp"), b.BroadcastSent("Fem minutter igjen", T0, "Frida"),
        b.BreakoutsWarned(T0), b.BreakoutsRecalled(T0), b.BreakoutsRetimed(T0 + 60, None),
        notes.NotesReopened(T0), notes.NotesClosed(T0),
        *PLANNING_EVENT_SAMPLES, *QUESTION_EVENT_SAMPLES, *ADVANCE_EVENT_SAMPLES,
        *POLL_EVENT_SAMPLES,
        *STAGE_EVENT_SAMPLES, *RECORDING_EVENT_SAMPLES,
    ]
    assert {type(s) for s in samples} == set(e.EVENT_TYPES.values())
    for sample in samples:
        assert e.event_from(sample.type, json.loads(json.dumps(sample.data()))) == sample
