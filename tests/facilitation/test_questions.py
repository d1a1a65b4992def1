"""Questions, pure and table-driven: asking (named and anonymous), votes, ordering, picking,
answering, hiding, the Q&A item's focus, and what the events let out."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from facilitation import Actor, AgendaSlot, GatheringState, Phase
from facilitation import commands as c
from facilitation import questions as q
from facilitation.events import Event, event_from, public_data
from facilitation.snapshot import live_view
from facilitation.state import PersonRef, QuestionStatus
from tests.facilitation.deciding import (
    ALICE,
    BJORN,
    CARL,
    EVA,
    FRIDA,
    PER,
    T0,
    rejected,
    run,
)

AGENDA = (
    AgendaSlot(11, "Velkommen", "welcome", 10),
    AgendaSlot(12, "Innlegg", "expert_talk", 20, expert_id=5),
    AgendaSlot(13, "Spørsmål og svar", "qa", 15),
    AgendaSlot(14, "Oppsummering", "wrap_up", 5),
)


def lobby() -> GatheringState:
    return GatheringState(gathering_id="g1", agenda=AGENDA)


def live() -> GatheringState:
    return run(lobby(), FRIDA, c.OpenRoom())[0]


def ask(state: GatheringState, actor: Actor, text: str, now: float = T0,
        anonymous: bool = False) -> GatheringState:
    return run(state, actor, q.AskQuestion(text, anonymous), now)[0]


def vote(state: GatheringState, question_id: int, *voters: Actor) -> GatheringState:
    for voter in voters:
        state = run(state, voter, q.UpvoteQuestion(question_id))[0]
    return state


def ids(state: GatheringState) -> list[int]:
    return [question.id for question in q.ordered(state.questions)]


# --- asking -------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", [Phase.LOBBY, Phase.LIVE])
def test_a_question_may_be_asked_before_and_during_the_gathering(phase: Phase) -> None:
    state = replace(lobby(), phase=phase)
    state, events = run(state, ALICE, q.AskQuestion("  Hva koster det?  "), T0 + 3)
    assert events == [q.QuestionAsked(1, "Hva koster det?", T0 + 3,
                                      PersonRef(3, "Alice Askvik", "Askvik kommune"), 3)]
    (question,) = state.questions
    assert (question.id, question.text, question.votes, question.status) == (
        1, "Hva koster det?", 0, QuestionStatus.OPEN)


def test_no_questions_after_the_end() -> None:
    ended = replace(lobby(), phase=Phase.ENDED)
    assert rejected(ended, ALICE, q.AskQuestion("Hei?")).code == "rejected"


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_question_is_rejected(text: str) -> None:
    assert "empty" in rejected(live(), ALICE, q.AskQuestion(text)).reason


def test_a_question_has_a_length_limit() -> None:
    ask(live(), ALICE, "x" * q.MAX_QUESTION_CHARS)
    assert rejected(live(), ALICE, q.AskQuestion("x" * (q.MAX_QUESTION_CHARS + 1))).code == (
        "rejected")


def test_question_ids_count_up_and_stay_after_hiding() -> None:
    state = ask(ask(live(), ALICE, "En"), BJORN, "To")
    state = run(state, FRIDA, q.HideQuestion(1))[0]
    state = ask(state, ALICE, "Tre")
    assert [x.id for x in state.questions] == [1, 2, 3]


# --- anonymous questions -------------------------------------------------------------------


def test_anonymous_questions_need_the_facilitators_permission() -> None:
    state = live()
    assert "anonymous" in rejected(state, ALICE, q.AskQuestion("Hemmelig?", True)).reason
    state, events = run(state, FRIDA, q.QuestionSettings(anonymous_allowed=True))
    assert events == [q.QuestionSettingsChanged(anonymous_allowed=True)]
    state = ask(state, ALICE, "Hemmelig?", anonymous=True)
    state = run(state, FRIDA, q.QuestionSettings(anonymous_allowed=False))[0]
    assert rejected(state, ALICE, q.AskQuestion("Igjen?", True)).code == "rejected"
    assert state.questions[0].author is None  # an earlier anonymous question stays so


def test_setting_the_same_permission_again_changes_nothing() -> None:
    assert run(live(), FRIDA, q.QuestionSettings(anonymous_allowed=False))[1] == []


def test_an_anonymous_question_sends_nobody_its_author() -> None:
    """The event keeps the asker only in a private field: what is sent, and what any
    snapshot shows, has no name and no person id; the log still knows (moderation)."""
    state = run(live(), FRIDA, q.QuestionSettings(anonymous_allowed=True))[0]
    state, (event,) = run(state, ALICE, q.AskQuestion("Hvem betaler?", anonymous=True))
    assert isinstance(event, q.QuestionAsked)
    stored = json.loads(json.dumps(event.data()))
    assert stored["asker_id"] == ALICE.person_id  # in the log
    sent = public_data(event.type, stored)
    assert sent == {"question_id": 1, "text": "Hvem betaler?", "at": T0, "author": None}
    for viewer in (None, FRIDA.person_id, BJORN.person_id, ALICE.person_id):
        view = json.dumps(live_view(state, viewer))
        assert "Alice" not in view and "Askvik" not in view
        (shown,) = live_view(state, viewer)["questions"]
        assert "asker_id" not in shown and shown["author"] is None
        assert shown.get("mine", False) is (viewer == ALICE.person_id)


def test_a_named_question_shows_its_author_and_never_the_voters() -> None:
    state = vote(ask(live(), ALICE, "Hva nå?"), 1, BJORN, FRIDA)
    (shown,) = live_view(state, BJORN.person_id)["questions"]
    assert shown["author"] == {"person_id": 3, "name": "Alice Askvik",
                               "municipality": "Askvik kommune"}
    assert shown["votes"] == 2 and shown["voted"] is True and shown["mine"] is False
    assert "voters" not in shown and "asker_id" not in shown
    assert live_view(state, CARL.person_id)["questions"][0]["voted"] is False


# --- votes and ordering --------------------------------------------------------------------


def test_one_vote_per_person_and_the_event_names_no_voter() -> None:
    state = ask(live(), ALICE, "Hva nå?")
    state, events = run(state, BJORN, q.UpvoteQuestion(1))
    assert events == [q.QuestionUpvoted(1, votes=1, voter_id=BJORN.person_id)]
    assert public_data(events[0].type, events[0].data()) == {"question_id": 1, "votes": 1}
    state, again = run(state, BJORN, q.UpvoteQuestion(1))
    assert again == []
    assert state.questions[0].votes == 1


def test_unvote_toggles_a_vote_back() -> None:
    state = vote(ask(live(), ALICE, "Hva nå?"), 1, BJORN, CARL)
    state, events = run(state, BJORN, q.UnvoteQuestion(1))
    assert events == [q.QuestionUnvoted(1, votes=1, voter_id=BJORN.person_id)]
    assert run(state, BJORN, q.UnvoteQuestion(1))[1] == []  # not voting: nothing to take back
    state = vote(state, 1, BJORN)
    assert state.questions[0].voters == {BJORN.person_id, CARL.person_id}


@pytest.mark.parametrize("anonymous", [False, True])
def test_nobody_votes_for_their_own_question(anonymous: bool) -> None:
    state = run(live(), FRIDA, q.QuestionSettings(anonymous_allowed=True))[0]
    state = ask(state, ALICE, "Min egen?", anonymous=anonymous)
    assert "own" in rejected(state, ALICE, q.UpvoteQuestion(1)).reason


@pytest.mark.parametrize("command", [q.UpvoteQuestion(9), q.UnvoteQuestion(9),
                                     q.MarkAnswered(9), q.PickQuestion(9), q.HideQuestion(9)])
def test_a_question_that_does_not_exist(command: c.Command) -> None:
    assert rejected(ask(live(), ALICE, "En"), FRIDA, command).reason == "no such question"


@pytest.mark.parametrize(
    ("votes", "order"),
    [
        # (voters per question 1, 2, 3 — asked in that order) -> the order shown
        ((0, 0, 0), [1, 2, 3]),  # no votes: in the order asked
        ((0, 2, 1), [2, 3, 1]),  # most votes first
        ((1, 1, 0), [1, 2, 3]),  # a tie: the earlier question first
        ((1, 2, 2), [2, 3, 1]),
        ((3, 0, 3), [1, 3, 2]),
    ],
)
def test_ordering_is_by_votes_then_by_time_asked(votes: tuple[int, int, int],
                                                 order: list[int]) -> None:
    state = live()
    for n, asker in enumerate((ALICE, BJORN, CARL)):
        state = ask(state, asker, f"Spørsmål {n + 1}", now=T0 + n)
    voters = (FRIDA, PER, EVA)
    for question_id, n in enumerate(votes, 1):
        state = vote(state, question_id, *voters[:n])
    assert ids(state) == order
    assert [x["question_id"] for x in live_view(state)["questions"]] == order


def test_votes_for_an_answered_question_are_refused() -> None:
    state = vote(ask(live(), ALICE, "En"), 1, BJORN)
    state = run(state, FRIDA, q.MarkAnswered(1))[0]
    assert "answered" in rejected(state, CARL, q.UpvoteQuestion(1)).reason
    assert "answered" in rejected(state, BJORN, q.UnvoteQuestion(1)).reason


# --- picking and answering ----------------------------------------------------------------


def three_questions() -> GatheringState:
    """Question 2 has the most votes, then 3, then 1."""
    state = live()
    for n, asker in enumerate((ALICE, BJORN, CARL)):
        state = ask(state, asker, f"Spørsmål {n + 1}", now=T0 + n)
    return vote(vote(state, 2, ALICE, CARL), 3, ALICE)


def test_pick_without_an_id_takes_the_top_voted_open_question() -> None:
    state, events = run(three_questions(), FRIDA, q.PickQuestion(), T0 + 60)
    assert events == [q.QuestionPicked(2, at=T0 + 60)]
    assert q.answering(state) is not None and q.answering(state).id == 2
    # the next pick marks the one being answered as answered, then takes the next open one
    state, events = run(state, FRIDA, q.PickQuestion(), T0 + 120)
    assert events == [q.QuestionAnswered(2, at=T0 + 120), q.QuestionPicked(3, at=T0 + 120)]
    state, events = run(state, FRIDA, q.PickQuestion(), T0 + 180)
    assert events == [q.QuestionAnswered(3, at=T0 + 180), q.QuestionPicked(1, at=T0 + 180)]
    state = run(state, FRIDA, q.MarkAnswered(1), T0 + 200)[0]
    assert {x.id: x.status for x in state.questions} == {
        1: QuestionStatus.ANSWERED, 2: QuestionStatus.ANSWERED, 3: QuestionStatus.ANSWERED}
    assert state.questions[0].answered_at == T0 + 200
    assert rejected(state, FRIDA, q.PickQuestion()).reason == "there are no open questions"


def test_pick_a_given_question_out_of_order() -> None:
    state, events = run(three_questions(), PER, q.PickQuestion(1))
    assert events == [q.QuestionPicked(1, at=T0)]
    assert run(state, PER, q.PickQuestion(1))[1] == []  # already being answered
    state = run(state, PER, q.MarkAnswered(1))[0]
    assert "answered" in rejected(state, PER, q.PickQuestion(1)).reason
    assert run(state, PER, q.MarkAnswered(1))[1] == []  # answered once is enough


def test_a_question_may_be_marked_answered_without_being_picked() -> None:
    state, events = run(three_questions(), FRIDA, q.MarkAnswered(3), T0 + 9)
    assert events == [q.QuestionAnswered(3, at=T0 + 9)]
    assert ids(state) == [2, 3, 1]  # answered questions stay in the list, marked


@pytest.mark.parametrize("command", [q.PickQuestion(), q.MarkAnswered(1)])
def test_the_expert_moderates_only_while_on_stage(command: c.Command) -> None:
    state = three_questions()
    assert rejected(state, EVA, command).code == "forbidden"
    on_stage = replace(state, spotlight=PersonRef(EVA.person_id, EVA.name, None))
    assert run(on_stage, EVA, command)[1]
    someone_else = replace(state, spotlight=PersonRef(BJORN.person_id, BJORN.name, None))
    assert rejected(someone_else, EVA, command).code == "forbidden"
    # a participant on stage is still no moderator
    assert rejected(someone_else, BJORN, command).code == "forbidden"


@pytest.mark.parametrize("phase", [Phase.LOBBY, Phase.ENDED])
@pytest.mark.parametrize("command", [q.PickQuestion(), q.MarkAnswered(1)])
def test_picking_and_answering_happen_live(command: c.Command, phase: Phase) -> None:
    state = replace(three_questions(), phase=phase)
    assert str(phase) in rejected(state, FRIDA, command).reason


# --- hiding --------------------------------------------------------------------------------


def test_a_hidden_question_is_gone_for_everyone() -> None:
    state, events = run(three_questions(), FRIDA, q.HideQuestion(2))
    assert events == [q.QuestionHidden(2)]
    assert ids(state) == [3, 1]
    for viewer in (None, BJORN.person_id):
        assert "Spørsmål 2" not in json.dumps(live_view(state, viewer))
    assert run(state, FRIDA, q.HideQuestion(2))[1] == []
    assert rejected(state, ALICE, q.UpvoteQuestion(2)).reason == "no such question"
    assert rejected(state, FRIDA, q.PickQuestion(2)).reason == "no such question"
    # the top-voted pick skips it
    assert run(state, FRIDA, q.PickQuestion())[1] == [q.QuestionPicked(3, at=T0)]


def test_hiding_the_question_being_answered() -> None:
    state = run(three_questions(), FRIDA, q.PickQuestion())[0]
    state = run(state, FRIDA, q.HideQuestion(2))[0]
    assert q.answering(state) is None
    assert run(state, FRIDA, q.PickQuestion())[1] == [q.QuestionPicked(3, at=T0)]


# --- the Q&A agenda item -------------------------------------------------------------------


def next_item(state: GatheringState, now: float = T0) -> tuple[GatheringState, list[Event]]:
    slot = state.current_slot()
    return run(state, FRIDA, c.NextItem(from_item=slot.id if slot else None), now)


def test_a_qa_item_puts_questions_in_focus_and_leaving_it_ends_that() -> None:
    state = live()
    for _ in range(2):  # welcome, expert talk: no focus
        state, events = next_item(state)
        assert not [e for e in events if e.type.startswith("questions.")]
    state, events = next_item(state, T0 + 60)
    assert q.QuestionsOpened(13, at=T0 + 60) in events
    assert state.qa_item == 13 and live_view(state)["qa_item"] == 13
    state, events = next_item(state, T0 + 120)
    assert q.QuestionsClosed(at=T0 + 120) in events
    assert state.qa_item is None
    state, events = run(state, FRIDA, c.PreviousItem(from_item=14), T0 + 130)
    assert q.QuestionsOpened(13, at=T0 + 130) in events


def test_questions_outside_the_qa_item_still_work() -> None:
    state = next_item(live())[0]  # the welcome item
    state = vote(ask(state, ALICE, "Før Q&A?"), 1, BJORN)
    assert state.qa_item is None and ids(state) == [1]


# --- round trips ---------------------------------------------------------------------------


# every question event, once (tests/facilitation/test_rules.py checks all are covered)
QUESTION_EVENT_SAMPLES: list[Event] = [
    q.QuestionAsked(1, "Hei?", T0, PersonRef(3, "Alice", "Askvik kommune"), 3),
    q.QuestionAsked(2, "Anonymt?", T0, None, 4),
    q.QuestionUpvoted(1, 2, 4), q.QuestionUnvoted(1, 1, 4), q.QuestionPicked(1, T0),
    q.QuestionAnswered(1, T0), q.QuestionHidden(1), q.QuestionSettingsChanged(True),
    q.QuestionsOpened(13, T0), q.QuestionsClosed(T0),
]


@pytest.mark.parametrize("sample", QUESTION_EVENT_SAMPLES, ids=lambda s: s.type)
def test_every_question_event_round_trips_through_its_json_data(sample: Event) -> None:
    assert event_from(sample.type, json.loads(json.dumps(sample.data()))) == sample
