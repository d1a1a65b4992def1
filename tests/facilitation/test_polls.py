"""Polls, pure and table-driven: launching, one answer per person (changeable until the
poll closes), aggregated results, what the events let out, and the check-in item."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from facilitation import Actor, AgendaSlot, GatheringState, Phase, Role
from facilitation import commands as c
from facilitation import polls as p
from facilitation.events import Event, event_from, public_data
from facilitation.snapshot import live_view
from facilitation.state import PollKind, PollPlan, WordCount
from tests.facilitation.deciding import ALICE, BJORN, CARL, EVA, FRIDA, T0, rejected, run

CHECKIN = PollPlan("Hvordan går det?", PollKind.SINGLE, ("Bra", "Sånn passe", "Dårlig"))

AGENDA = (
    AgendaSlot(11, "Velkommen", "welcome", 10, checkin_poll=CHECKIN),
    AgendaSlot(12, "Innlegg", "expert_talk", 20),
    AgendaSlot(13, "Velkommen tilbake", "welcome", 5),  # no check-in poll
)


def live() -> GatheringState:
    return run(GatheringState(gathering_id="g1", agenda=AGENDA), FRIDA, c.OpenRoom())[0]


COLOURS = ("Rød", "Grønn", "Blå")


def with_poll(kind: PollKind = PollKind.SINGLE,
              options: tuple[str, ...] = COLOURS) -> GatheringState:
    if kind is PollKind.WORD:
        options = ()
    return run(live(), FRIDA, p.LaunchPoll("Hvilken farge?", kind, options))[0]


def answer(state: GatheringState, actor: Actor, choices: tuple[int, ...] | None = None,
           word: str | None = None, poll_id: int = 1) -> tuple[GatheringState, list[Event]]:
    return run(state, actor, p.AnswerPoll(poll_id, choices, word))


# --- launching -----------------------------------------------------------------------------


def test_launching_a_poll() -> None:
    state, events = run(live(), FRIDA,
                        p.LaunchPoll("  Hvilken farge? ", PollKind.MULTIPLE, (" Rød", "Blå ")),
                        T0 + 5)
    assert events == [p.PollLaunched(1, "Hvilken farge?", PollKind.MULTIPLE, ("Rød", "Blå"),
                                     at=T0 + 5)]
    (view,) = live_view(state, ALICE.person_id)["polls"]
    assert view == {"poll_id": 1, "question": "Hvilken farge?", "kind": "multiple",
                    "options": ["Rød", "Blå"], "launched_at": T0 + 5, "closed_at": None,
                    "item_id": None, "respondents": 0, "counts": [0, 0], "words": [],
                    "mine": None}


@pytest.mark.parametrize(
    ("kind", "options", "reason"),
    [
        (PollKind.SINGLE, (), "2 to 8 options"),
        (PollKind.SINGLE, ("Ja",), "2 to 8 options"),
        (PollKind.MULTIPLE, tuple(f"v{n}" for n in range(9)), "2 to 8 options"),
        (PollKind.SINGLE, ("Ja", "  "), "1 to 100 characters"),
        (PollKind.SINGLE, ("Ja", "x" * 101), "1 to 100 characters"),
        (PollKind.SINGLE, ("Ja", " Ja"), "the same"),
        (PollKind.WORD, ("Ja", "Nei"), "no options"),
    ],
)
def test_a_poll_that_cannot_be_launched(kind: PollKind, options: tuple[str, ...],
                                        reason: str) -> None:
    assert reason in rejected(live(), FRIDA, p.LaunchPoll("Spørsmål?", kind, options)).reason


@pytest.mark.parametrize("question", ["", "   ", "x" * 301])
def test_a_poll_question_has_1_to_300_characters(question: str) -> None:
    command = p.LaunchPoll(question, PollKind.WORD)
    assert "1 to 300" in rejected(live(), FRIDA, command).reason


def test_launching_a_second_poll_closes_the_open_one() -> None:
    state, events = run(with_poll(), FRIDA, p.LaunchPoll("Ett ord?", PollKind.WORD), T0 + 9)
    assert events == [p.PollClosed(1, at=T0 + 9),
                      p.PollLaunched(2, "Ett ord?", PollKind.WORD, (), at=T0 + 9)]
    assert [poll.is_open for poll in state.polls] == [False, True]
    assert p.open_poll(state) == state.polls[1]


@pytest.mark.parametrize("phase", [Phase.LOBBY, Phase.ENDED])
def test_polls_run_while_live(phase: Phase) -> None:
    state = replace(with_poll(), phase=phase)
    for command in (p.LaunchPoll("Hei?", PollKind.WORD), p.AnswerPoll(1, (0,)), p.ClosePoll(1)):
        assert str(phase) in rejected(state, FRIDA, command).reason


# --- answers and results -------------------------------------------------------------------


def test_one_answer_per_person_counted_in_the_results() -> None:
    state, events = answer(with_poll(), ALICE, (0,))
    assert events == [p.PollResults(1, respondents=1, counts=(1, 0, 0), words=(),
                                    person_id=ALICE.person_id, choices=(0,))]
    state = answer(state, BJORN, (2,))[0]
    state, events = answer(state, ALICE, (2,))  # Alice changes her mind
    assert events == [p.PollResults(1, respondents=2, counts=(0, 0, 2), words=(),
                                    person_id=ALICE.person_id, choices=(2,))]
    assert answer(state, ALICE, (2,))[1] == []  # the same answer again changes nothing
    assert p.counts(state.polls[0]) == (0, 0, 2)
    assert len(state.polls[0].answers) == 2


def test_the_results_event_sends_totals_not_who_answered_what() -> None:
    state, (event,) = answer(with_poll(PollKind.MULTIPLE), ALICE, (0, 2))
    stored = json.loads(json.dumps(event.data()))
    assert (stored["person_id"], stored["choices"]) == (ALICE.person_id, [0, 2])  # the log
    assert public_data(event.type, stored) == {"poll_id": 1, "respondents": 1,
                                               "counts": [1, 0, 1], "words": []}


def test_a_snapshot_shows_totals_and_only_the_viewers_own_answer() -> None:
    state = answer(answer(with_poll(), ALICE, (0,))[0], BJORN, (1,))[0]
    views = {viewer: live_view(state, viewer)["polls"][0]
             for viewer in (ALICE.person_id, BJORN.person_id, CARL.person_id)}
    assert views[ALICE.person_id]["mine"] == {"choices": [0], "word": None}
    assert views[BJORN.person_id]["mine"] == {"choices": [1], "word": None}
    assert views[CARL.person_id]["mine"] is None
    for view in views.values():
        assert view["counts"] == [1, 1, 0] and view["respondents"] == 2
        assert "answers" not in view
    assert "mine" not in live_view(state)["polls"][0]  # no viewer: nobody's answer
    assert "person_id" not in json.dumps(live_view(state)["polls"])


@pytest.mark.parametrize(
    ("kind", "choices", "word", "reason"),
    [
        (PollKind.SINGLE, (0, 1), None, "choose one option"),
        (PollKind.SINGLE, (), None, "no such option"),
        (PollKind.SINGLE, (3,), None, "no such option"),
        (PollKind.SINGLE, None, "rød", "with choices"),
        (PollKind.SINGLE, (0,), "rød", "with choices"),
        (PollKind.MULTIPLE, (1, 1), None, "at most once"),
        (PollKind.MULTIPLE, (0, 5), None, "no such option"),
        (PollKind.WORD, (0,), None, "with a word"),
        (PollKind.WORD, None, None, "with a word"),
        (PollKind.WORD, None, "   ", "1 to 40"),
        (PollKind.WORD, None, "x" * 41, "1 to 40"),
    ],
)
def test_an_answer_that_does_not_fit_the_poll(kind: PollKind, choices: tuple[int, ...] | None,
                                              word: str | None, reason: str) -> None:
    command = p.AnswerPoll(1, choices, word)
    assert reason in rejected(with_poll(kind), ALICE, command).reason


def test_multiple_choice_counts_each_chosen_option() -> None:
    state = answer(with_poll(PollKind.MULTIPLE), ALICE, (2, 0))[0]
    state = answer(state, BJORN, (0,))[0]
    assert p.counts(state.polls[0]) == (2, 0, 1)
    assert state.polls[0].answer_of(ALICE.person_id).choices == (0, 2)


def test_word_answers_are_counted_by_their_normalised_spelling() -> None:
    state = with_poll(PollKind.WORD)
    for actor, word in ((ALICE, " Energi "), (BJORN, "energi"), (CARL, "Mat  svinn"),
                        (EVA, "Samarbeid")):
        state = answer(state, actor, word=word)[0]
    assert p.words(state.polls[0]) == (WordCount("energi", 2), WordCount("mat svinn", 1),
                                       WordCount("samarbeid", 1))
    state, (event,) = answer(state, CARL, word="ENERGI")  # Carl changes his word
    assert public_data(event.type, json.loads(json.dumps(event.data())))["words"] == [
        {"word": "energi", "count": 3}, {"word": "samarbeid", "count": 1}]
    assert p.words(state.polls[0]) == (WordCount("energi", 3), WordCount("samarbeid", 1))


def test_a_word_poll_shows_its_most_frequent_words_only() -> None:
    state = with_poll(PollKind.WORD)
    for n in range(p.WORDS_SHOWN + 5):
        state = answer(state, Actor(100 + n, f"P{n}", Role.PARTICIPANT), word=f"ord{n:03}")[0]
    assert len(p.words(state.polls[0])) == p.WORDS_SHOWN
    assert live_view(state)["polls"][0]["respondents"] == p.WORDS_SHOWN + 5


def test_a_closed_poll_takes_no_answers_and_keeps_its_results() -> None:
    state = answer(with_poll(), ALICE, (1,))[0]
    state, events = run(state, FRIDA, p.ClosePoll(1), T0 + 30)
    assert events == [p.PollClosed(1, at=T0 + 30)]
    assert rejected(state, BJORN, p.AnswerPoll(1, (0,))).reason == "the poll is closed"
    assert run(state, FRIDA, p.ClosePoll(1))[1] == []
    assert live_view(state)["polls"][0]["counts"] == [0, 1, 0]
    assert live_view(state)["polls"][0]["closed_at"] == T0 + 30


@pytest.mark.parametrize("command", [p.AnswerPoll(2, (0,)), p.ClosePoll(2)])
def test_a_poll_that_does_not_exist(command: c.Command) -> None:
    assert rejected(with_poll(), FRIDA, command).reason == "no such poll"


# --- the check-in item ---------------------------------------------------------------------


def next_item(state: GatheringState, now: float = T0) -> tuple[GatheringState, list[Event]]:
    slot = state.current_slot()
    return run(state, FRIDA, c.NextItem(from_item=slot.id if slot else None), now)


def test_a_welcome_item_with_a_poll_launches_its_check_in_once() -> None:
    state, events = next_item(live(), T0 + 1)
    launched = p.PollLaunched(1, CHECKIN.question, PollKind.SINGLE, CHECKIN.options,
                              at=T0 + 1, item_id=11)
    assert launched in events
    state = next_item(state)[0]
    state, events = run(state, FRIDA, c.PreviousItem(from_item=12))
    assert not [e for e in events if isinstance(e, p.PollLaunched)]  # not a second time
    state = next_item(next_item(state)[0])[0]  # the welcome item without a poll
    assert len(state.polls) == 1


def test_a_check_in_closes_a_poll_left_open() -> None:
    state = run(live(), FRIDA, p.LaunchPoll("Før start?", PollKind.WORD))[0]
    state, events = next_item(state, T0 + 2)
    assert p.PollClosed(1, at=T0 + 2) in events
    assert p.open_poll(state) is not None and p.open_poll(state).item_id == 11


@pytest.mark.parametrize("move", [c.NextItem(from_item=11), c.EndGathering()],
                         ids=["another item starts", "the gathering ends"])
def test_the_check_in_closes_when_its_item_ends(move: c.Command) -> None:
    state = answer(next_item(live(), T0 + 1)[0], ALICE, (0,))[0]
    assert p.open_poll(state) is not None
    state, events = run(state, FRIDA, move, T0 + 600)
    assert p.PollClosed(1, at=T0 + 600) in events
    assert p.open_poll(state) is None and state.polls[0].closed_at == T0 + 600
    assert live_view(state)["polls"][0]["counts"] == [1, 0, 0]  # its results stay


def test_the_check_in_closes_once_even_when_the_next_item_checks_in_too() -> None:
    agenda = (AGENDA[0], replace(AGENDA[2], checkin_poll=PollPlan("Ett ord?", PollKind.WORD)))
    state = run(GatheringState(gathering_id="g1", agenda=agenda), FRIDA, c.OpenRoom())[0]
    state, events = next_item(next_item(state, T0 + 1)[0], T0 + 600)
    polls = [e for e in events if e.type.startswith("poll.")]
    assert polls == [p.PollClosed(1, at=T0 + 600),
                     p.PollLaunched(2, "Ett ord?", PollKind.WORD, (), T0 + 600, item_id=13)]


@pytest.mark.parametrize("move", [c.NextItem(from_item=11), c.EndGathering()],
                         ids=["another item starts", "the gathering ends"])
def test_a_poll_launched_by_hand_stays_open(move: c.Command) -> None:
    state = next_item(live(), T0 + 1)[0]
    state = run(state, FRIDA, p.LaunchPoll("Hvilken farge?", PollKind.SINGLE, COLOURS))[0]
    state, events = run(state, FRIDA, move, T0 + 600)
    assert not [e for e in events if isinstance(e, p.PollClosed)]
    assert p.open_poll(state) is not None and p.open_poll(state).id == 2


@pytest.mark.parametrize(
    ("settings", "plan"),
    [
        ({"question": "Ett ord?", "kind": "word"}, PollPlan("Ett ord?", PollKind.WORD)),
        ({"question": " Hvordan? ", "kind": "single", "options": ["Bra", "Dårlig"]},
         PollPlan("Hvordan?", PollKind.SINGLE, ("Bra", "Dårlig"))),
        (None, None),
        ({}, None),
        ({"question": "", "kind": "word"}, None),
        ({"question": "Hei?", "kind": "essay"}, None),
        ({"question": "Hei?", "kind": "single", "options": "Bra"}, None),
        ({"question": "Hei?", "kind": "single", "options": [1, 2]}, None),
    ],
)
def test_a_check_in_plan_from_stored_settings(settings: object, plan: PollPlan | None) -> None:
    assert PollPlan.from_settings(settings) == plan


def test_an_unusable_stored_check_in_never_stops_the_agenda() -> None:
    broken = PollPlan("Hvordan?", PollKind.SINGLE, ("Bare ett",))
    agenda = (replace(AGENDA[0], checkin_poll=broken), *AGENDA[1:])
    state = run(GatheringState(gathering_id="g1", agenda=agenda), FRIDA, c.OpenRoom())[0]
    state, events = next_item(state)
    assert state.current is not None and state.polls == ()


# --- round trips ---------------------------------------------------------------------------


POLL_EVENT_SAMPLES: list[Event] = [
    p.PollLaunched(1, "Farge?", PollKind.SINGLE, ("Rød", "Blå"), T0, 11),
    p.PollLaunched(2, "Ord?", PollKind.WORD, (), T0),
    p.PollResults(1, 2, (1, 1), (), 3, (0,)),
    p.PollResults(2, 1, (), (WordCount("energi", 1),), 3, (), "energi"),
    p.PollClosed(1, T0),
]


@pytest.mark.parametrize("sample", POLL_EVENT_SAMPLES, ids=lambda s: s.type)
def test_every_poll_event_round_trips_through_its_json_data(sample: Event) -> None:
    assert event_from(sample.type, json.loads(json.dumps(sample.data()))) == sample
