"""Quick polls and check-ins: single or multiple choice, or a short word answer.

The facilitator launches a poll (or a welcome item with `settings.poll` launches its check-in
when it starts, and the check-in closes when another item starts or the gathering ends); one
poll is open at a time, launching another closes the open one. Each person has one answer
and may change it until the poll closes.

Privacy: `poll.results` is the event of an answer. What is sent is the poll's new totals
(counts per option, word counts, respondents); who answered what (`person_id`, `choices`,
`word`) stays in the log, private, so the fold can count and a person can change their
answer. Views show the totals and only the viewer's own answer."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Annotated, Any, ClassVar

from annotated_types import Ge, Lt, MaxLen, MinLen

from facilitation.commands import LIVE, Command
from facilitation.core import Decision, Rejected, applies, decides, hook
from facilitation.events import Event
from facilitation.roles import RUNNERS, SPEAKERS
from facilitation.state import (
    GatheringState,
    Poll,
    PollAnswer,
    PollKind,
    PollPlan,
    WordCount,
)

MAX_QUESTION_CHARS = 300
MAX_OPTIONS = 8
MIN_OPTIONS = 2
MAX_OPTION_CHARS = 100
MAX_WORD_CHARS = 40
MAX_POLLS = 100  # per gathering
WORDS_SHOWN = 50  # the most frequent words in a word poll's results
CHECKIN_KIND = "welcome"

# --- commands ----------------------------------------------------------------------------

PollId = Annotated[int, Ge(1)]
Option = Annotated[str, MinLen(1), MaxLen(MAX_OPTION_CHARS)]


@dataclass(frozen=True)
class LaunchPoll(Command, type="poll.launch", rights=RUNNERS, phases=LIVE,
                 summary="Launch a poll (closes the open one)."):
    question: Annotated[str, MinLen(1), MaxLen(MAX_QUESTION_CHARS)]
    kind: PollKind
    options: Annotated[tuple[Option, ...], MaxLen(MAX_OPTIONS)] = ()


@dataclass(frozen=True)
class AnswerPoll(Command, type="poll.answer", rights=SPEAKERS, phases=LIVE,
                 summary="Answer a poll, or change one's answer."):
    """`choices` (option indexes) for choice polls, `word` for word polls."""

    poll_id: PollId
    choices: Annotated[tuple[Annotated[int, Ge(0), Lt(MAX_OPTIONS)], ...],
                       MaxLen(MAX_OPTIONS)] | None = None
    word: Annotated[str, MinLen(1), MaxLen(MAX_WORD_CHARS)] | None = None


@dataclass(frozen=True)
class ClosePoll(Command, type="poll.close", rights=RUNNERS, phases=LIVE,
                summary="Close a poll."):
    poll_id: PollId


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollLaunched(Event):
    type: ClassVar[str] = "poll.launched"
    poll_id: int
    question: str
    kind: PollKind
    options: tuple[str, ...]
    at: float
    item_id: int | None = None  # the check-in item that launched it

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Event:
        return cls(data["poll_id"], data["question"], PollKind(data["kind"]),
                   tuple(data["options"]), data["at"], data.get("item_id"))


@dataclass(frozen=True)
class PollResults(Event):
    """Someone answered (or changed their answer): the poll's totals now."""

    type: ClassVar[str] = "poll.results"
    private: ClassVar[frozenset[str]] = frozenset({"person_id", "choices", "word"})
    poll_id: int
    respondents: int
    counts: tuple[int, ...]  # per option, in option order (empty for word polls)
    words: tuple[WordCount, ...]  # word polls: the most frequent words, most first
    person_id: int
    choices: tuple[int, ...] = ()
    word: str | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Event:
        return cls(data["poll_id"], data["respondents"], tuple(data["counts"]),
                   tuple(WordCount(**w) for w in data["words"]), data["person_id"],
                   tuple(data.get("choices") or ()), data.get("word"))


@dataclass(frozen=True)
class PollClosed(Event):
    type: ClassVar[str] = "poll.closed"
    poll_id: int
    at: float


# --- results -----------------------------------------------------------------------------


def normalise_word(word: str) -> str:
    """One spelling per word: trimmed, inner white space collapsed, lower case."""
    return re.sub(r"\s+", " ", word).strip().casefold()


def counts(poll: Poll) -> tuple[int, ...]:
    tally = [0] * len(poll.options)
    for answer in poll.answers:
        for choice in answer.choices:
            tally[choice] += 1
    return tuple(tally)


def words(poll: Poll) -> tuple[WordCount, ...]:
    tally = Counter(a.word for a in poll.answers if a.word)
    top = sorted(tally.items(), key=lambda item: (-item[1], item[0]))[:WORDS_SHOWN]
    return tuple(WordCount(word, n) for word, n in top)


def open_poll(state: GatheringState) -> Poll | None:
    return next((p for p in state.polls if p.is_open), None)


def find(state: GatheringState, poll_id: int) -> Poll | None:
    return next((p for p in state.polls if p.id == poll_id), None)


# --- decisions ---------------------------------------------------------------------------


def check_plan(plan: PollPlan) -> PollPlan:
    """A plan with its texts trimmed, or Rejected."""
    question = plan.question.strip()
    options = tuple(o.strip() for o in plan.options)
    if not question or len(question) > MAX_QUESTION_CHARS:
        raise Rejected(f"a poll's question has 1 to {MAX_QUESTION_CHARS} characters")
    if plan.kind is PollKind.WORD:
        if options:
            raise Rejected("a word poll has no options")
    else:
        if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise Rejected(f"a choice poll has {MIN_OPTIONS} to {MAX_OPTIONS} options")
        if any(not o or len(o) > MAX_OPTION_CHARS for o in options):
            raise Rejected(f"an option has 1 to {MAX_OPTION_CHARS} characters")
        if len(set(options)) != len(options):
            raise Rejected("two options are the same")
    return replace(plan, question=question, options=options)


def _launch(state: GatheringState, plan: PollPlan, now: float,
            item_id: int | None = None) -> list[Event]:
    plan = check_plan(plan)
    if len(state.polls) >= MAX_POLLS:
        raise Rejected("this gathering has as many polls as it can take")
    events: list[Event] = []
    running = open_poll(state)
    if running is not None:  # one poll at a time: a new one closes the open one
        events.append(PollClosed(running.id, at=now))
    launched = PollLaunched(poll_id=len(state.polls) + 1, question=plan.question,
                            kind=plan.kind, options=plan.options, at=now, item_id=item_id)
    return [*events, launched]


@decides
def decide_launch_poll(command: LaunchPoll, d: Decision) -> list[Event]:
    return _launch(d.state, PollPlan(command.question, command.kind, command.options), d.now)


def _answer(poll: Poll, command: AnswerPoll) -> PollAnswer:
    if poll.kind is PollKind.WORD:
        if command.choices is not None or command.word is None:
            raise Rejected("answer a word poll with a word")
        word = normalise_word(command.word)
        if not word or len(word) > MAX_WORD_CHARS:
            raise Rejected(f"a word answer has 1 to {MAX_WORD_CHARS} characters")
        return PollAnswer(0, word=word)
    if command.word is not None or command.choices is None:
        raise Rejected("answer a choice poll with choices")
    choices = tuple(sorted(set(command.choices)))
    if len(choices) != len(command.choices):
        raise Rejected("an option is chosen at most once")
    if not choices or any(not 0 <= c < len(poll.options) for c in choices):
        raise Rejected("no such option")
    if poll.kind is PollKind.SINGLE and len(choices) != 1:
        raise Rejected("choose one option")
    return PollAnswer(0, choices=choices)


@decides
def decide_answer_poll(command: AnswerPoll, d: Decision) -> list[Event]:
    poll = find(d.state, command.poll_id)
    if poll is None:
        raise Rejected("no such poll")
    if not poll.is_open:
        raise Rejected("the poll is closed")
    answer = replace(_answer(poll, command), person_id=d.actor.person_id)
    if poll.answer_of(answer.person_id) == answer:
        return []  # the same answer again changes nothing
    after = _with_answer(poll, answer)
    return [PollResults(poll.id, respondents=len(after.answers), counts=counts(after),
                        words=words(after), person_id=answer.person_id,
                        choices=answer.choices, word=answer.word)]


@decides
def decide_close_poll(command: ClosePoll, d: Decision) -> list[Event]:
    poll = find(d.state, command.poll_id)
    if poll is None:
        raise Rejected("no such poll")
    if not poll.is_open:
        return []
    return [PollClosed(poll.id, at=d.now)]


def _checkin_closed(state: GatheringState, now: float,
                    running_item: int | None = None) -> list[Event]:
    """Close the open poll if a welcome item launched it and that item is not running."""
    poll = open_poll(state)
    if poll is None or poll.item_id is None or poll.item_id == running_item:
        return []
    return [PollClosed(poll.id, at=now)]


@hook("item_started")
def close_checkin_at_item_end(state: GatheringState, d: Decision) -> list[Event]:
    """A check-in poll belongs to its welcome item: another item starting closes it. A poll
    launched by hand stays open until closed by hand (or replaced)."""
    slot = state.current_slot()
    return _checkin_closed(state, d.now, None if slot is None else slot.id)


@hook("ending")
def close_checkin_at_gathering_end(state: GatheringState, d: Decision) -> list[Event]:
    """The gathering ends: a check-in poll still open closes with it."""
    return _checkin_closed(state, d.now)


@hook("item_started")
def launch_checkin_poll(state: GatheringState, d: Decision) -> list[Event]:
    """A welcome item with a check-in poll launches it the first time it starts."""
    slot = state.current_slot()
    if slot is None or slot.kind != CHECKIN_KIND or slot.checkin_poll is None:
        return []
    if any(p.item_id == slot.id for p in state.polls):
        return []  # back to the same item: its check-in ran (and closed when it ended)
    try:
        return _launch(state, slot.checkin_poll, d.now, item_id=slot.id)
    except Rejected:
        return []  # a plan that cannot run never stops the agenda


# --- apply -------------------------------------------------------------------------------


def _with_answer(poll: Poll, answer: PollAnswer) -> Poll:
    others = tuple(a for a in poll.answers if a.person_id != answer.person_id)
    return replace(poll, answers=(*others, answer))


def _with_poll(s: GatheringState, poll_id: int, change: Any) -> GatheringState:
    return replace(s, polls=tuple(change(p) if p.id == poll_id else p for p in s.polls))


@applies(PollLaunched)
def _apply_launched(s: GatheringState, ev: PollLaunched) -> GatheringState:
    poll = Poll(ev.poll_id, ev.question, ev.kind, ev.options, ev.at, ev.item_id)
    return replace(s, polls=(*s.polls, poll))


@applies(PollResults)
def _apply_results(s: GatheringState, ev: PollResults) -> GatheringState:
    answer = PollAnswer(ev.person_id, ev.choices, ev.word)
    return _with_poll(s, ev.poll_id, lambda p: _with_answer(p, answer))


@applies(PollClosed)
def _apply_closed(s: GatheringState, ev: PollClosed) -> GatheringState:
    return _with_poll(s, ev.poll_id, lambda p: replace(p, closed_at=ev.at))


# --- the view ----------------------------------------------------------------------------


def poll_view(poll: Poll, viewer: int | None = None) -> dict[str, Any]:
    """A poll as the protocol shows it: totals only, plus the viewer's own answer."""
    view: dict[str, Any] = {
        "poll_id": poll.id, "question": poll.question, "kind": poll.kind.value,
        "options": list(poll.options), "launched_at": poll.launched_at,
        "closed_at": poll.closed_at, "item_id": poll.item_id,
        "respondents": len(poll.answers), "counts": list(counts(poll)),
        "words": [{"word": w.word, "count": w.count} for w in words(poll)],
    }
    if viewer is not None:
        mine = poll.answer_of(viewer)
        view["mine"] = None if mine is None else {"choices": list(mine.choices),
                                                  "word": mine.word}
    return view


def polls_view(state: GatheringState, viewer: int | None = None) -> list[dict[str, Any]]:
    return [poll_view(p, viewer) for p in state.polls]
