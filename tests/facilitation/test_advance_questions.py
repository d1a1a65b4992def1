"""Questions asked before the gathering (on the forum) come into the live Q&A once, with
their votes, by `question.bring_advance` (the facilitator, or the server at the opening)."""

from __future__ import annotations

import pytest

from facilitation import Actor, AgendaSlot, GatheringState, Role
from facilitation import commands as c
from facilitation import questions as q
from facilitation.roles import may_send
from facilitation.state import AdvanceAsk, Context, PersonRef, QuestionStatus
from tests.facilitation.deciding import ALICE, BJORN, CARL, EVA, FRIDA, PER, T0, rejected, run

AGENDA = (AgendaSlot(11, "Innlegg", "expert_talk", 20, expert_id=5),
          AgendaSlot(12, "Spørsmål", "qa", 15))
ALICE_REF = PersonRef(ALICE.person_id, ALICE.name, ALICE.municipality)
BJORN_REF = PersonRef(BJORN.person_id, BJORN.name, BJORN.municipality)
DAY_BEFORE = T0 - 86_400
ASKED = (
    AdvanceAsk(7, "Hvordan måler dere matsvinn?", DAY_BEFORE, ALICE_REF,
               frozenset({BJORN.person_id, CARL.person_id})),
    AdvanceAsk(8, "Hva kostet vekta?", DAY_BEFORE + 60, BJORN_REF, frozenset()),
)
CONTEXT = Context(advance_questions=ASKED)
CLOCK = Actor(0, "Klimasats-forum", Role.SYSTEM)
ADVANCE_EVENT_SAMPLES = [q.QuestionBrought(3, 7, "Hvordan måler dere?", DAY_BEFORE, ALICE_REF,
                                           2, ALICE.person_id, (4, 7))]


def lobby() -> GatheringState:
    return GatheringState("g1", AGENDA)


def test_each_question_comes_with_its_author_and_votes_in_the_order_asked() -> None:
    state, events = run(lobby(), FRIDA, q.BringAdvance(), T0, CONTEXT)
    assert [e.type for e in events] == ["question.brought", "question.brought"]
    first, second = state.questions
    assert (first.id, first.advance_id, first.author, first.votes) == (1, 7, ALICE_REF, 2)
    assert (second.id, second.advance_id, second.votes) == (2, 8, 0)
    view = q.questions_view(state, viewer=ALICE.person_id)
    assert [v["question_id"] for v in view] == [1, 2]  # the most votes first
    assert view[0]["advance"] is True and view[0]["mine"] is True


@pytest.mark.parametrize(("when", "asked", "count"), [
    ("bringing again brings nothing", ASKED, 0),
    ("a question asked since comes alone", (*ASKED, AdvanceAsk(
        9, "Og i barnehagene?", DAY_BEFORE + 120, ALICE_REF)), 1),
])
def test_a_question_comes_once(when: str, asked: tuple[AdvanceAsk, ...], count: int) -> None:
    state, _ = run(lobby(), FRIDA, q.BringAdvance(), T0, CONTEXT)
    again, events = run(state, FRIDA, q.BringAdvance(), T0 + 5, Context(advance_questions=asked))
    assert len(events) == count, when
    assert len({x.advance_id for x in again.questions}) == len(again.questions)


def test_the_votes_go_on_live_one_per_person() -> None:
    state, _ = run(lobby(), FRIDA, q.BringAdvance(), T0, CONTEXT)
    # Bjørn voted before the day: voting again changes nothing; Eva's vote is new
    assert run(state, BJORN, q.UpvoteQuestion(1), T0 + 1)[1] == []
    state, events = run(state, EVA, q.UpvoteQuestion(1), T0 + 2)
    assert events[0].data()["votes"] == 3
    assert "your own" in rejected(state, ALICE, q.UpvoteQuestion(1), T0 + 3).reason
    assert state.questions[0].status is QuestionStatus.OPEN


def test_nobody_sees_who_voted() -> None:
    _, events = run(lobby(), FRIDA, q.BringAdvance(), T0, CONTEXT)
    assert q.QuestionBrought.private == {"asker_id", "voter_ids"}
    assert events[0].data()["voter_ids"] == (BJORN.person_id, CARL.person_id)


@pytest.mark.parametrize(("actor", "allowed"), [
    (FRIDA, True), (PER, True), (CLOCK, True), (ALICE, False), (EVA, False)])
def test_who_brings_them(actor: Actor, allowed: bool) -> None:
    assert may_send(actor.role, "question.bring_advance") is allowed


def test_the_room_takes_only_as_many_as_it_has_room_for() -> None:
    full = GatheringState("g1", AGENDA)
    for n in range(q.MAX_QUESTIONS - 1):
        full = run(full, ALICE, q.AskQuestion(f"Spørsmål {n}"), T0)[0]
    state, events = run(full, FRIDA, q.BringAdvance(), T0, CONTEXT)
    assert len(events) == 1 and state.questions[-1].advance_id == 7


def test_not_after_the_end() -> None:
    ended = run(lobby(), FRIDA, c.EndGathering(), T0)[0]
    assert "ended" in rejected(ended, FRIDA, q.BringAdvance(), T0, CONTEXT).reason
