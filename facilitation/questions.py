"""Questions for the expert and the plenary: ask (named, or anonymously when the facilitator
allows it), upvote, pick the next, mark answered, hide. Questions may be asked whenever the
gathering is open (before it starts too); a Q&A agenda item starting puts them in focus
(`questions.opened`) and leaving it ends that (`questions.closed`).

Privacy: an anonymous question's event carries no name and no person; who asked is kept in
the private `asker_id` (in the log, never sent) only so that nobody votes for their own
question. Voters are private too: events carry the new vote count, not who voted."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any, ClassVar

from annotated_types import Ge, MaxLen, MinLen

from facilitation.commands import LIVE, OPEN_PHASES, Command, Need
from facilitation.core import Decision, Rejected, applies, decides, hook
from facilitation.events import Event
from facilitation.roles import RUNNERS, SPEAKERS, Role, runs_gathering
from facilitation.state import AdvanceAsk, GatheringState, PersonRef, Question, QuestionStatus

MAX_QUESTION_CHARS = 500
MAX_QUESTIONS = 500  # per gathering; enough for any real session, bounds the state
QA_KIND = "qa"

# --- commands ----------------------------------------------------------------------------

QuestionId = Annotated[int, Ge(1)]
MODERATORS = RUNNERS | {Role.EXPERT}  # an expert picks and answers only while on stage


@dataclass(frozen=True)
class AskQuestion(Command, type="question.ask", rights=SPEAKERS, phases=OPEN_PHASES,
                  summary="Ask a question (anonymously, if allowed)."):
    text: Annotated[str, MinLen(1), MaxLen(MAX_QUESTION_CHARS)]
    anonymous: bool = False


@dataclass(frozen=True)
class UpvoteQuestion(Command, type="question.upvote", rights=SPEAKERS, phases=OPEN_PHASES,
                     summary="Vote for a question (once)."):
    question_id: QuestionId


@dataclass(frozen=True)
class UnvoteQuestion(Command, type="question.unvote", rights=SPEAKERS, phases=OPEN_PHASES,
                     summary="Take one's vote back."):
    question_id: QuestionId


@dataclass(frozen=True)
class PickQuestion(Command, type="question.pick", rights=MODERATORS, phases=LIVE,
                   summary="Answer this question now, or the top-voted open one."):
    """Pick the question to answer now: this one, or the top-voted open one."""

    question_id: QuestionId | None = None


@dataclass(frozen=True)
class MarkAnswered(Command, type="question.answered", rights=MODERATORS, phases=LIVE,
                   summary="Mark a question answered."):
    question_id: QuestionId


@dataclass(frozen=True)
class HideQuestion(Command, type="question.hide", rights=RUNNERS, phases=OPEN_PHASES,
                   summary="Hide a question from everyone."):
    question_id: QuestionId


@dataclass(frozen=True)
class BringAdvance(Command, type="question.bring_advance", rights=RUNNERS | {Role.SYSTEM},
                   phases=OPEN_PHASES, needs=frozenset({Need.ADVANCE_QUESTIONS}),
                   summary="Bring the questions asked before the gathering into its Q&A."):
    """The questions asked on the forum before the day (rooms/experts.py) become live
    questions with their votes. Each comes once: one already brought is left out, so the
    facilitator's button and the server's own bring at the room's opening (SYSTEM) may
    both happen."""


@dataclass(frozen=True)
class QuestionSettings(Command, type="questions.settings", rights=RUNNERS,
                       phases=OPEN_PHASES, summary="Allow anonymous questions or not."):
    anonymous_allowed: bool


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionAsked(Event):
    type: ClassVar[str] = "question.asked"
    private: ClassVar[frozenset[str]] = frozenset({"asker_id"})
    question_id: int
    text: str
    at: float
    author: PersonRef | None  # None: anonymous
    asker_id: int

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Event:
        author = None if data["author"] is None else PersonRef(**data["author"])
        return cls(data["question_id"], data["text"], data["at"], author, data["asker_id"])


@dataclass(frozen=True)
class QuestionBrought(Event):
    """A question asked before the gathering, now a live question with its votes. Who
    voted stays private, as for votes in the room."""

    type: ClassVar[str] = "question.brought"
    private: ClassVar[frozenset[str]] = frozenset({"asker_id", "voter_ids"})
    question_id: int
    advance_id: int
    text: str
    at: float  # when it was asked, on the forum
    author: PersonRef
    votes: int
    asker_id: int
    voter_ids: tuple[int, ...]

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Event:
        return cls(data["question_id"], data["advance_id"], data["text"], data["at"],
                   PersonRef(**data["author"]), data["votes"], data["asker_id"],
                   tuple(data["voter_ids"]))


@dataclass(frozen=True)
class QuestionUpvoted(Event):
    type: ClassVar[str] = "question.upvoted"
    private: ClassVar[frozenset[str]] = frozenset({"voter_id"})
    question_id: int
    votes: int  # the question's votes after this one
    voter_id: int


@dataclass(frozen=True)
class QuestionUnvoted(Event):
    type: ClassVar[str] = "question.unvoted"
    private: ClassVar[frozenset[str]] = frozenset({"voter_id"})
    question_id: int
    votes: int
    voter_id: int


@dataclass(frozen=True)
class QuestionPicked(Event):
    type: ClassVar[str] = "question.picked"
    question_id: int
    at: float


@dataclass(frozen=True)
class QuestionAnswered(Event):
    type: ClassVar[str] = "question.answered"
    question_id: int
    at: float


@dataclass(frozen=True)
class QuestionHidden(Event):
    type: ClassVar[str] = "question.hidden"
    question_id: int


@dataclass(frozen=True)
class QuestionSettingsChanged(Event):
    type: ClassVar[str] = "questions.settings_changed"
    anonymous_allowed: bool


@dataclass(frozen=True)
class QuestionsOpened(Event):
    """A Q&A agenda item started: questions are in focus."""

    type: ClassVar[str] = "questions.opened"
    item_id: int
    at: float


@dataclass(frozen=True)
class QuestionsClosed(Event):
    """The Q&A item is over. Asking and voting go on; the focus ends."""

    type: ClassVar[str] = "questions.closed"
    at: float


# --- ordering ----------------------------------------------------------------------------


def ordered(questions: tuple[Question, ...]) -> list[Question]:
    """The visible questions, most votes first, then in the order asked."""
    visible = [q for q in questions if q.status is not QuestionStatus.HIDDEN]
    return sorted(visible, key=lambda q: (-q.votes, q.asked_at, q.id))


def find(state: GatheringState, question_id: int) -> Question | None:
    return next((q for q in state.questions if q.id == question_id), None)


def answering(state: GatheringState) -> Question | None:
    return next((q for q in state.questions if q.status is QuestionStatus.ANSWERING), None)


# --- decisions ---------------------------------------------------------------------------


def _visible(d: Decision, question_id: int) -> Question:
    question = find(d.state, question_id)
    if question is None or question.status is QuestionStatus.HIDDEN:
        raise Rejected("no such question")
    return question


def _check_moderator(d: Decision) -> None:
    """Runners moderate; an expert may pick and answer while they have the stage."""
    if runs_gathering(d.actor.role):
        return
    spotlight = d.state.spotlight
    if d.actor.role is Role.EXPERT and spotlight and spotlight.person_id == d.actor.person_id:
        return
    raise Rejected("only the facilitator, or the expert on stage, picks questions",
                   code="forbidden")


@decides
def decide_ask_question(command: AskQuestion, d: Decision) -> list[Event]:
    text = command.text.strip()
    if not text:
        raise Rejected("an empty question cannot be asked")
    if len(text) > MAX_QUESTION_CHARS:
        raise Rejected(f"a question has at most {MAX_QUESTION_CHARS} characters")
    if command.anonymous and not d.state.anonymous_questions:
        raise Rejected("anonymous questions are not allowed in this gathering")
    if len(d.state.questions) >= MAX_QUESTIONS:
        raise Rejected("this gathering has as many questions as it can take")
    a = d.actor
    author = None if command.anonymous else PersonRef(a.person_id, a.name, a.municipality)
    return [QuestionAsked(question_id=len(d.state.questions) + 1, text=text, at=d.now,
                          author=author, asker_id=a.person_id)]


def _votable(d: Decision, question_id: int) -> Question:
    question = _visible(d, question_id)
    if question.status is QuestionStatus.ANSWERED:
        raise Rejected("that question has been answered")
    return question


@decides
def decide_upvote_question(command: UpvoteQuestion, d: Decision) -> list[Event]:
    question = _votable(d, command.question_id)
    me = d.actor.person_id
    if question.asker_id == me:
        raise Rejected("you cannot vote for your own question")
    if me in question.voters:
        return []  # one vote per person: voting twice is voting once
    return [QuestionUpvoted(question.id, votes=question.votes + 1, voter_id=me)]


@decides
def decide_unvote_question(command: UnvoteQuestion, d: Decision) -> list[Event]:
    question = _votable(d, command.question_id)
    me = d.actor.person_id
    if me not in question.voters:
        return []
    return [QuestionUnvoted(question.id, votes=question.votes - 1, voter_id=me)]


@decides
def decide_pick_question(command: PickQuestion, d: Decision) -> list[Event]:
    _check_moderator(d)
    now_answering = answering(d.state)
    if command.question_id is None:
        candidates = [q for q in ordered(d.state.questions) if q.status is QuestionStatus.OPEN]
        if not candidates:
            raise Rejected("there are no open questions")
        question = candidates[0]
    else:
        question = _visible(d, command.question_id)
        if question.status is QuestionStatus.ANSWERING:
            return []
        if question.status is QuestionStatus.ANSWERED:
            raise Rejected("that question has been answered")
    events: list[Event] = []
    if now_answering is not None:  # moving on: the question being answered is done
        events.append(QuestionAnswered(now_answering.id, at=d.now))
    return [*events, QuestionPicked(question.id, at=d.now)]


@decides
def decide_mark_answered(command: MarkAnswered, d: Decision) -> list[Event]:
    _check_moderator(d)
    question = _visible(d, command.question_id)
    if question.status is QuestionStatus.ANSWERED:
        return []
    return [QuestionAnswered(question.id, at=d.now)]


@decides
def decide_hide_question(command: HideQuestion, d: Decision) -> list[Event]:
    question = find(d.state, command.question_id)
    if question is None:
        raise Rejected("no such question")
    if question.status is QuestionStatus.HIDDEN:
        return []
    return [QuestionHidden(question.id)]


def advance_to_bring(state: GatheringState,
                     asked: tuple[AdvanceAsk, ...]) -> list[AdvanceAsk]:
    """The questions asked before the gathering that are not live questions yet, in the
    order asked, as many as the gathering still has room for."""
    brought = {q.advance_id for q in state.questions if q.advance_id is not None}
    waiting = sorted((a for a in asked if a.advance_id not in brought),
                     key=lambda a: (a.asked_at, a.advance_id))
    return waiting[:max(0, MAX_QUESTIONS - len(state.questions))]


@decides
def decide_bring_advance(command: BringAdvance, d: Decision) -> list[Event]:
    events: list[Event] = []
    for n, asked in enumerate(advance_to_bring(d.state, d.context.advance_questions), 1):
        voters = tuple(sorted(asked.voters - {asked.author.person_id}))
        events.append(QuestionBrought(
            question_id=len(d.state.questions) + n, advance_id=asked.advance_id,
            text=asked.text, at=asked.asked_at, author=asked.author, votes=len(voters),
            asker_id=asked.author.person_id, voter_ids=voters))
    return events  # none: all are live already (bringing twice brings once)


@decides
def decide_question_settings(command: QuestionSettings, d: Decision) -> list[Event]:
    if command.anonymous_allowed == d.state.anonymous_questions:
        return []
    return [QuestionSettingsChanged(anonymous_allowed=command.anonymous_allowed)]


@hook("item_started")
def focus_on_qa_item(state: GatheringState, d: Decision) -> list[Event]:
    """A Q&A item puts the questions in focus; leaving it ends the focus."""
    slot = state.current_slot()
    if slot is not None and slot.kind == QA_KIND:
        return [] if state.qa_item == slot.id else [QuestionsOpened(slot.id, at=d.now)]
    return [] if state.qa_item is None else [QuestionsClosed(at=d.now)]


# --- apply -------------------------------------------------------------------------------


def _with_question(s: GatheringState, question_id: int, **changes: Any) -> GatheringState:
    questions = tuple(replace(q, **changes) if q.id == question_id else q for q in s.questions)
    return replace(s, questions=questions)


@applies(QuestionAsked)
def _apply_asked(s: GatheringState, ev: QuestionAsked) -> GatheringState:
    question = Question(ev.question_id, ev.text, ev.at, ev.author, ev.asker_id)
    return replace(s, questions=(*s.questions, question))


@applies(QuestionBrought)
def _apply_brought(s: GatheringState, ev: QuestionBrought) -> GatheringState:
    question = Question(ev.question_id, ev.text, ev.at, ev.author, ev.asker_id,
                        voters=frozenset(ev.voter_ids), advance_id=ev.advance_id)
    return replace(s, questions=(*s.questions, question))


@applies(QuestionUpvoted)
def _apply_upvoted(s: GatheringState, ev: QuestionUpvoted) -> GatheringState:
    question = find(s, ev.question_id)
    assert question is not None
    return _with_question(s, ev.question_id, voters=question.voters | {ev.voter_id})


@applies(QuestionUnvoted)
def _apply_unvoted(s: GatheringState, ev: QuestionUnvoted) -> GatheringState:
    question = find(s, ev.question_id)
    assert question is not None
    return _with_question(s, ev.question_id, voters=question.voters - {ev.voter_id})


@applies(QuestionPicked)
def _apply_picked(s: GatheringState, ev: QuestionPicked) -> GatheringState:
    return _with_question(s, ev.question_id, status=QuestionStatus.ANSWERING)


@applies(QuestionAnswered)
def _apply_answered(s: GatheringState, ev: QuestionAnswered) -> GatheringState:
    return _with_question(s, ev.question_id, status=QuestionStatus.ANSWERED, answered_at=ev.at)


@applies(QuestionHidden)
def _apply_hidden(s: GatheringState, ev: QuestionHidden) -> GatheringState:
    return _with_question(s, ev.question_id, status=QuestionStatus.HIDDEN)


@applies(QuestionSettingsChanged)
def _apply_settings(s: GatheringState, ev: QuestionSettingsChanged) -> GatheringState:
    return replace(s, anonymous_questions=ev.anonymous_allowed)


@applies(QuestionsOpened)
def _apply_opened(s: GatheringState, ev: QuestionsOpened) -> GatheringState:
    return replace(s, qa_item=ev.item_id)


@applies(QuestionsClosed)
def _apply_closed(s: GatheringState, ev: QuestionsClosed) -> GatheringState:
    return replace(s, qa_item=None)


# --- the view ----------------------------------------------------------------------------


def question_view(q: Question, viewer: int | None = None) -> dict[str, Any]:
    """A question as the protocol shows it. Never `asker_id` or the voters: a viewer learns
    only whether the question is their own (`mine`) and whether they voted (`voted`)."""
    author = q.author
    view: dict[str, Any] = {
        "question_id": q.id, "text": q.text, "asked_at": q.asked_at,
        "author": None if author is None else {"person_id": author.person_id,
                                               "name": author.name,
                                               "municipality": author.municipality},
        "votes": q.votes, "status": q.status.value, "answered_at": q.answered_at,
        "advance": q.advance_id is not None,  # asked before the gathering, on the forum
    }
    if viewer is not None:
        view["mine"] = q.asker_id == viewer
        view["voted"] = viewer in q.voters
    return view


def questions_view(state: GatheringState, viewer: int | None = None) -> list[dict[str, Any]]:
    return [question_view(q, viewer) for q in ordered(state.questions)]
