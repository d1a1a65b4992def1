"""The live state of one gathering, as immutable dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from facilitation.roles import Role

CHAT_KEPT = 200  # chat messages kept in the snapshot; older ones stay in the event log


class Phase(StrEnum):
    LOBBY = "lobby"
    LIVE = "live"
    ENDED = "ended"


@dataclass(frozen=True)
class Member:
    """A person as breakout grouping sees them: their municipality and project."""

    person_id: int
    name: str
    municipality: str | None = None
    stage: str | None = None  # project stage slug, e.g. oppstart
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Actor:
    """The person sending a command, with their role in the gathering's theme."""

    person_id: int
    name: str
    role: Role
    municipality: str | None = None
    stage: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def member(self) -> Member:
        return Member(self.person_id, self.name, self.municipality, self.stage, self.tags)


class GroupingRule(StrEnum):
    SAME_STAGE = "same_stage"
    MIXED = "mixed"  # mixed stages, at least one experienced municipality per group
    BY_TAG = "by_tag"
    RANDOM = "random"
    SELF_SELECT = "self_select"


@dataclass(frozen=True)
class BreakoutPlan:
    """A breakout agenda item's settings."""

    rule: GroupingRule = GroupingRule.SAME_STAGE
    group_size: int = 4
    task: str = ""
    note_template: str = ""
    spread_municipalities: bool = True

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> BreakoutPlan:
        """From an agenda item's stored settings; unknown keys are ignored."""
        known = {f.name for f in fields(cls)} & settings.keys()
        values = {k: settings[k] for k in known}
        if "rule" in values:
            values["rule"] = GroupingRule(values["rule"])
        return cls(**values)


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    members: tuple[Member, ...] = ()

    def has(self, person_id: int) -> bool:
        return any(m.person_id == person_id for m in self.members)


@dataclass(frozen=True)
class AdvanceGroups:
    """Groups proposed before the day from the sign-ups for one breakout item, by the plan
    they were made with (facilitation/signups.py adjusts them for who arrived)."""

    item_id: int
    plan: BreakoutPlan
    groups: tuple[Group, ...]


class BreakoutStatus(StrEnum):
    PROPOSED = "proposed"  # groups shown to the facilitator, not yet open
    OPEN = "open"
    RECALLED = "recalled"  # everyone is back in plenary; the groups' notes are harvested


@dataclass(frozen=True)
class Broadcast:
    text: str
    at: float
    name: str


@dataclass(frozen=True)
class Breakouts:
    """The current (or last) round of breakout groups in a gathering."""

    round: int
    item_id: int | None
    plan: BreakoutPlan
    groups: tuple[Group, ...]
    status: BreakoutStatus = BreakoutStatus.PROPOSED
    opened_at: float | None = None
    deadline: float | None = None
    paused_at: float | None = None  # the breakout item's timer is paused: so are the groups
    warned: bool = False
    broadcasts: tuple[Broadcast, ...] = ()

    def group(self, group_id: str) -> Group | None:
        return next((g for g in self.groups if g.id == group_id), None)

    def group_of(self, person_id: int) -> Group | None:
        return next((g for g in self.groups if g.has(person_id)), None)


@dataclass(frozen=True)
class AgendaSlot:
    id: int
    title: str
    kind: str
    planned_minutes: int
    expert_id: int | None = None
    breakout: BreakoutPlan | None = None
    checkin_poll: PollPlan | None = None  # a welcome item's check-in poll (settings.poll)
    # a plenary or breakout item lists the follow-ups due at this gathering
    # (settings.follow_ups; facilitation/follow_ups.py)
    follow_ups: bool = False


@dataclass(frozen=True)
class Context:
    """What a decision may need beyond the gathering's own state, gathered by the caller:
    the participants present now (those breakouts group), which municipalities met in
    breakout groups in earlier gatherings of the theme, and the project stages' names."""

    present: tuple[Member, ...] = ()
    # everyone present now, of any role: the floor goes only to someone who is here
    here: frozenset[int] = frozenset()
    met: frozenset[frozenset[str]] = frozenset()
    stage_names: tuple[tuple[str, str], ...] = ()  # (slug, display name), in stage order
    # agenda planning: who may be named as an item's expert (people of the theme), and the
    # agenda of the gathering `agenda.copy_from` names (None: no such gathering in the theme)
    theme_people: frozenset[int] = frozenset()
    source_agenda: tuple[AgendaSlot, ...] | None = None
    # the stage: the theme's people by name, whom an expert slot or the facilitator may
    # give the stage to (loaded for agenda moves and stage.spotlight)
    people: tuple[PersonRef, ...] = ()
    # breakouts: the groups proposed in advance from the sign-ups, per breakout item
    # (loaded with `present`; used when the item's groups are first proposed)
    advance: tuple[AdvanceGroups, ...] = ()
    # questions asked before the gathering, not yet in its live Q&A (question.bring_advance)
    advance_questions: tuple[AdvanceAsk, ...] = ()


@dataclass(frozen=True)
class CurrentItem:
    index: int
    started_at: float
    planned_seconds: int
    extended_seconds: int = 0
    paused_at: float | None = None  # while paused, the deadline moves with the clock
    paused_seconds: float = 0.0  # time spent paused before now
    warned: bool = False  # the one-minute warning has been given

    @property
    def deadline(self) -> float:
        """The deadline if the timer runs from now on (while paused: as of the pause)."""
        return self.started_at + self.planned_seconds + self.extended_seconds + self.paused_seconds


@dataclass(frozen=True)
class PersonRef:
    person_id: int
    name: str
    municipality: str | None


@dataclass(frozen=True)
class RecordingConsent:
    """The person on stage agreed to be recorded during one agenda item (and, if they said
    so, the Q&A item right after it)."""

    person_id: int
    name: str
    item_id: int | None
    at: float
    qa_item_id: int | None = None


@dataclass(frozen=True)
class RecordingRun:
    """A recording running now: only `person_id`'s own stage stream is recorded."""

    person_id: int
    name: str
    item_id: int | None
    started_at: float
    by_person_id: int  # the runner who started it
    consent_at: float  # when the person agreed


@dataclass(frozen=True)
class ChatMessage:
    seq: int
    author: PersonRef
    text: str
    at: float


class QuestionStatus(StrEnum):
    OPEN = "open"
    ANSWERING = "answering"  # picked: being answered now
    ANSWERED = "answered"
    HIDDEN = "hidden"  # taken away by a moderator: shown to nobody


@dataclass(frozen=True)
class Question:
    id: int
    text: str
    asked_at: float
    author: PersonRef | None  # None when asked anonymously
    # who asked, also when anonymously: for the rules (no vote for one's own question)
    # and moderation only. Never sent: the event's field is private, views leave it out.
    asker_id: int
    voters: frozenset[int] = frozenset()
    status: QuestionStatus = QuestionStatus.OPEN
    answered_at: float | None = None
    advance_id: int | None = None  # asked before the gathering (advance_questions.id)

    @property
    def votes(self) -> int:
        return len(self.voters)


@dataclass(frozen=True)
class AdvanceAsk:
    """A question asked on the forum before the gathering, with who voted for it there
    (rooms/experts.py): `question.bring_advance` makes it a live question."""

    advance_id: int
    text: str
    asked_at: float
    author: PersonRef
    voters: frozenset[int] = frozenset()


class PollKind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    WORD = "word"  # a short free word answer (a word cloud)


@dataclass(frozen=True)
class PollPlan:
    """A poll to launch: the question, its kind, and the options (none for `word`)."""

    question: str
    kind: PollKind
    options: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Any) -> PollPlan | None:
        """From an agenda item's stored `settings.poll`; None when it is missing or unusable
        (stored data never stops a gathering from loading)."""
        if not isinstance(settings, dict):
            return None
        question, kind, options = (settings.get("question"), settings.get("kind"),
                                   settings.get("options", []))
        if (not isinstance(question, str) or not question.strip()
                or kind not in {k.value for k in PollKind} or not isinstance(options, list)
                or not all(isinstance(o, str) for o in options)):
            return None
        return cls(question.strip(), PollKind(kind), tuple(o.strip() for o in options))


@dataclass(frozen=True)
class PollAnswer:
    """One person's answer to a poll. Private: views show only the counts."""

    person_id: int
    choices: tuple[int, ...] = ()
    word: str | None = None


@dataclass(frozen=True)
class WordCount:
    word: str
    count: int


@dataclass(frozen=True)
class Poll:
    id: int
    question: str
    kind: PollKind
    options: tuple[str, ...]
    launched_at: float
    item_id: int | None = None  # the check-in item that launched it, if one did
    answers: tuple[PollAnswer, ...] = ()  # one per person, latest answer
    closed_at: float | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def answer_of(self, person_id: int) -> PollAnswer | None:
        return next((a for a in self.answers if a.person_id == person_id), None)


@dataclass(frozen=True)
class GatheringState:
    gathering_id: str
    agenda: tuple[AgendaSlot, ...]
    version: int = 0
    phase: Phase = Phase.LOBBY
    current: CurrentItem | None = None
    hands: tuple[PersonRef, ...] = ()
    speaker: PersonRef | None = None
    chat: tuple[ChatMessage, ...] = ()
    attendees: frozenset[int] = field(default_factory=frozenset)
    opened_at: float | None = None
    ended_at: float | None = None
    breakouts: Breakouts | None = None
    questions: tuple[Question, ...] = ()  # in the order asked; hidden ones too
    anonymous_questions: bool = False  # the facilitator allows anonymous questions
    qa_item: int | None = None  # the Q&A agenda item running now (questions.opened)
    polls: tuple[Poll, ...] = ()  # in the order launched
    spotlight: PersonRef | None = None  # who has the stage (the expert in their slot)
    consent: RecordingConsent | None = None  # the latest consent to be recorded, if any
    recording: RecordingRun | None = None  # a recording running now
    notes_reopened: bool = False  # the facilitator reopened the notes after the end
    started_items: frozenset[int] = frozenset()  # ids of the agenda items ever started
    highest_item_id: int = 0  # the highest item id the agenda ever had (removed ones too)

    def has_hand_up(self, person_id: int) -> bool:
        return any(h.person_id == person_id for h in self.hands)

    def current_slot(self) -> AgendaSlot | None:
        return None if self.current is None else self.agenda[self.current.index]
