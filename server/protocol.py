"""The socket protocol's commands: each schema next to how it becomes a command.

One list, COMMANDS, registers them all; docs/protocol.md must describe each."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from facilitation import breakouts as b
from facilitation import commands as c
from facilitation import notes, planning, recording, stage
from facilitation import polls as p
from facilitation import questions as q
from facilitation.state import GroupingRule, PollKind, PollPlan

CommandId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
GatheringId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
CHAT_MAX_CHARS = 2000


class Envelope(BaseModel):
    """What every command carries besides its own fields."""

    model_config = ConfigDict(extra="allow", strict=True)
    id: CommandId
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    gathering: GatheringId


class Payload(BaseModel):
    """A command's own fields. Unknown fields are an error, not silently dropped."""

    # strict: JSON has real numbers and booleans; "5" or true is not a number of minutes
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    command: ClassVar[type[c.Command]]

    def to_command(self) -> c.Command:
        return self.command(**self.model_dump())


class JoinRoom(Payload):
    command = c.JoinRoom


class SyncRoom(Payload):
    """Ask for what happened after `since` (a snapshot if that is too far back)."""

    command = c.JoinRoom
    since: int = Field(ge=0)


class OpenRoom(Payload):
    command = c.OpenRoom


class NextItem(Payload):
    command = c.NextItem
    from_item: int | None


class PreviousItem(Payload):
    command = c.PreviousItem
    from_item: int | None


class ExtendItem(Payload):
    command = c.ExtendItem
    minutes: int = Field(ge=1, le=60)


class PauseItem(Payload):
    command = c.PauseItem


class ResumeItem(Payload):
    command = c.ResumeItem


class RaiseHand(Payload):
    command = c.RaiseHand


class LowerHand(Payload):
    command = c.LowerHand
    person_id: int | None = None


class CallNextHand(Payload):
    command = c.CallNextHand


class SendChat(Payload):
    command = c.SendChat
    text: Annotated[str, StringConstraints(min_length=1, max_length=CHAT_MAX_CHARS)]


class EndGathering(Payload):
    command = c.EndGathering


GroupName = Annotated[str, StringConstraints(min_length=1, max_length=80)]
GroupId = Annotated[str, StringConstraints(pattern=r"^g[1-9][0-9]{0,3}$")]
Rule = Literal["same_stage", "mixed", "by_tag", "random", "self_select"]


class ProposeBreakouts(Payload):
    command = b.ProposeBreakouts
    rule: Rule | None = None
    group_size: int | None = Field(default=None, ge=2, le=b.MAX_GROUP_SIZE)
    spread_municipalities: bool | None = None

    def to_command(self) -> c.Command:
        rule = None if self.rule is None else GroupingRule(self.rule)
        return b.ProposeBreakouts(rule, self.group_size, self.spread_municipalities)


class MoveMember(Payload):
    command = b.MoveMember
    person_id: int
    to_group: GroupId


class RenameGroup(Payload):
    command = b.RenameGroup
    group: GroupId
    name: GroupName


class OpenBreakouts(Payload):
    command = b.OpenBreakouts
    minutes: int | None = Field(default=None, ge=1, le=b.MAX_MINUTES)


class ChooseGroup(Payload):
    command = b.ChooseGroup
    group: GroupId


class BroadcastToGroups(Payload):
    command = b.BroadcastToGroups
    text: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class RecallBreakouts(Payload):
    command = b.RecallBreakouts


# A poll's fields, for `poll.launch` and a welcome item's check-in poll alike. The rules
# beyond the schema (2-8 distinct options for choice polls, none for word) are polls.py's.
PollQuestion = Annotated[str, StringConstraints(min_length=1, max_length=p.MAX_QUESTION_CHARS)]
PollKindName = Literal["single", "multiple", "word"]
PollOptions = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=p.MAX_OPTION_CHARS)]],
    Field(max_length=p.MAX_OPTIONS),
]


class CheckinPoll(BaseModel):
    """A welcome item's check-in poll, launched when the item first starts."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    question: PollQuestion
    kind: PollKindName
    options: PollOptions = []

    def plan(self) -> PollPlan:
        return PollPlan(self.question, PollKind(self.kind), tuple(self.options))


AgendaKind = Literal["welcome", "expert_talk", "qa", "breakout", "plenary", "break", "wrap_up"]
ItemTitle = Annotated[str, StringConstraints(min_length=1, max_length=planning.MAX_TITLE_CHARS)]
ItemMinutes = Annotated[int, Field(ge=planning.MIN_MINUTES, le=planning.MAX_MINUTES)]
Position = Annotated[int, Field(ge=0, le=planning.MAX_ITEMS)]


class BreakoutSettings(BaseModel):
    """A breakout item's settings; a field left out keeps its current (or default) value."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    rule: Rule | None = None
    group_size: int | None = Field(default=None, ge=2, le=b.MAX_GROUP_SIZE)
    task: Annotated[str, StringConstraints(max_length=planning.MAX_TASK_CHARS)] | None = None
    note_template: Annotated[
        str, StringConstraints(max_length=planning.MAX_NOTE_TEMPLATE_CHARS)] | None = None
    spread_municipalities: bool | None = None

    def changes(self) -> planning.BreakoutChanges:
        rule = None if self.rule is None else GroupingRule(self.rule)
        return planning.BreakoutChanges(rule, self.group_size, self.task, self.note_template,
                                        self.spread_municipalities)


class AddAgendaItem(Payload):
    command = planning.AddItem
    kind: AgendaKind
    title: ItemTitle
    planned_minutes: ItemMinutes
    position: Position | None = None
    expert_id: int | None = None
    breakout: BreakoutSettings | None = None
    checkin_poll: CheckinPoll | None = None

    def to_command(self) -> c.Command:
        return planning.AddItem(self.kind, self.title, self.planned_minutes, self.position,
                                self.expert_id,
                                None if self.breakout is None else self.breakout.changes(),
                                None if self.checkin_poll is None else self.checkin_poll.plan())


class UpdateAgendaItem(Payload):
    """Only the fields given change; `expert_id: null` removes the expert,
    `checkin_poll: null` the check-in poll."""

    command = planning.UpdateItem
    item_id: int
    kind: AgendaKind | None = None
    title: ItemTitle | None = None
    planned_minutes: ItemMinutes | None = None
    expert_id: int | None = None
    breakout: BreakoutSettings | None = None
    checkin_poll: CheckinPoll | None = None

    def to_command(self) -> c.Command:
        given = self.model_fields_set
        keep = planning.UNCHANGED
        checkin = None if self.checkin_poll is None else self.checkin_poll.plan()
        return planning.UpdateItem(
            self.item_id,
            kind=keep if self.kind is None else self.kind,
            title=keep if self.title is None else self.title,
            planned_minutes=keep if self.planned_minutes is None else self.planned_minutes,
            expert_id=self.expert_id if "expert_id" in given else keep,
            breakout=keep if self.breakout is None else self.breakout.changes(),
            checkin_poll=checkin if "checkin_poll" in given else keep)


class MoveAgendaItem(Payload):
    command = planning.MoveItem
    item_id: int
    position: Position


class RemoveAgendaItem(Payload):
    command = planning.RemoveItem
    item_id: int


class CopyAgenda(Payload):
    command = planning.CopyFrom
    from_gathering: GatheringId  # the gathering whose agenda to copy


class UseAgendaTemplate(Payload):
    command = planning.UseTemplate
    template: Annotated[str, StringConstraints(min_length=1, max_length=40)]


QuestionId = Annotated[int, Field(ge=1)]
PollId = Annotated[int, Field(ge=1)]


class AskQuestion(Payload):
    command = q.AskQuestion
    text: Annotated[str, StringConstraints(min_length=1, max_length=q.MAX_QUESTION_CHARS)]
    anonymous: bool = False


class UpvoteQuestion(Payload):
    command = q.UpvoteQuestion
    question_id: QuestionId


class UnvoteQuestion(Payload):
    command = q.UnvoteQuestion
    question_id: QuestionId


class PickQuestion(Payload):
    command = q.PickQuestion
    question_id: QuestionId | None = None


class MarkAnswered(Payload):
    command = q.MarkAnswered
    question_id: QuestionId


class HideQuestion(Payload):
    command = q.HideQuestion
    question_id: QuestionId


class QuestionSettings(Payload):
    command = q.QuestionSettings
    anonymous_allowed: bool


class LaunchPoll(Payload):
    command = p.LaunchPoll
    question: PollQuestion
    kind: PollKindName
    options: PollOptions = []

    def to_command(self) -> c.Command:
        return p.LaunchPoll(self.question, PollKind(self.kind), tuple(self.options))


class AnswerPoll(Payload):
    command = p.AnswerPoll
    poll_id: PollId
    choices: Annotated[
        list[Annotated[int, Field(ge=0, lt=p.MAX_OPTIONS)]], Field(max_length=p.MAX_OPTIONS)
    ] | None = None
    word: Annotated[str, StringConstraints(min_length=1, max_length=p.MAX_WORD_CHARS)] | None = None

    def to_command(self) -> c.Command:
        choices = None if self.choices is None else tuple(self.choices)
        return p.AnswerPoll(self.poll_id, choices, self.word)


class ClosePoll(Payload):
    command = p.ClosePoll
    poll_id: PollId


class Spotlight(Payload):
    command = stage.Spotlight
    person_id: int


class ClearStage(Payload):
    command = stage.ClearStage


class TakeOffStage(Payload):
    command = stage.TakeOffStage
    person_id: int


class GiveConsent(Payload):
    command = recording.GiveConsent


class WithdrawConsent(Payload):
    command = recording.WithdrawConsent


class StartRecording(Payload):
    command = recording.StartRecording


class StopRecording(Payload):
    command = recording.StopRecording


class ReopenNotes(Payload):
    command = notes.ReopenNotes


class CloseNotes(Payload):
    command = notes.CloseNotes


@dataclass(frozen=True)
class CommandSpec:
    type: str
    schema: builtins.type[Payload]  # `type` alone would be the field above
    summary: str
    # False for commands that only read: they are answered afresh, never from a receipt
    changes_state: bool = True


COMMANDS: dict[str, CommandSpec] = {
    spec.type: spec
    for spec in (
        CommandSpec("room.join", JoinRoom, "Enter the gathering's room; ack has the snapshot.",
                    changes_state=False),
        CommandSpec("room.sync", SyncRoom, "Catch up: events since a version, or a snapshot.",
                    changes_state=False),
        CommandSpec("room.open", OpenRoom, "Open the room: lobby -> live."),
        CommandSpec("agenda.next", NextItem, "Start the next agenda item."),
        CommandSpec("agenda.previous", PreviousItem, "Go back to the previous agenda item."),
        CommandSpec("agenda.extend", ExtendItem, "Give the current item more minutes."),
        CommandSpec("agenda.pause", PauseItem, "Pause the current item's timer."),
        CommandSpec("agenda.resume", ResumeItem, "Resume a paused timer."),
        CommandSpec("hand.raise", RaiseHand, "Join the speaking queue."),
        CommandSpec("hand.lower", LowerHand, "Leave the queue (or, facilitator: remove one)."),
        CommandSpec("hand.call_next", CallNextHand, "Give the floor to the first in the queue."),
        CommandSpec("chat.send", SendChat, "Post a chat message to the gathering."),
        CommandSpec("gathering.end", EndGathering, "End the gathering."),
        CommandSpec("breakouts.propose", ProposeBreakouts,
                    "Propose groups from who is present, by a grouping rule."),
        CommandSpec("breakouts.move", MoveMember, "Move a person to another group."),
        CommandSpec("breakouts.rename", RenameGroup, "Rename a group."),
        CommandSpec("breakouts.open", OpenBreakouts, "Open the proposed groups."),
        CommandSpec("breakouts.choose", ChooseGroup, "Pick one's own group (self-select)."),
        CommandSpec("breakouts.broadcast", BroadcastToGroups, "A message to every group."),
        CommandSpec("breakouts.recall", RecallBreakouts, "Call everyone back to plenary."),
        CommandSpec("notes.reopen", ReopenNotes, "After the end: let people write again."),
        CommandSpec("notes.close", CloseNotes, "Make the notes read-only again."),
        CommandSpec("agenda.add_item", AddAgendaItem, "Add an agenda item."),
        CommandSpec("agenda.update_item", UpdateAgendaItem, "Change an item that has not started."),
        CommandSpec("agenda.move_item", MoveAgendaItem, "Move an item that has not started."),
        CommandSpec("agenda.remove_item", RemoveAgendaItem, "Remove an item that has not started."),
        CommandSpec("agenda.copy_from", CopyAgenda,
                    "Replace the agenda with another gathering's (same theme)."),
        CommandSpec("agenda.use_template", UseAgendaTemplate,
                    "Replace the agenda with a template's."),
        CommandSpec("question.ask", AskQuestion, "Ask a question (anonymously, if allowed)."),
        CommandSpec("question.upvote", UpvoteQuestion, "Vote for a question (once)."),
        CommandSpec("question.unvote", UnvoteQuestion, "Take one's vote back."),
        CommandSpec("question.pick", PickQuestion,
                    "Answer this question now, or the top-voted open one."),
        CommandSpec("question.answered", MarkAnswered, "Mark a question answered."),
        CommandSpec("question.hide", HideQuestion, "Hide a question from everyone."),
        CommandSpec("questions.settings", QuestionSettings, "Allow anonymous questions or not."),
        CommandSpec("poll.launch", LaunchPoll, "Launch a poll (closes the open one)."),
        CommandSpec("poll.answer", AnswerPoll, "Answer a poll, or change one's answer."),
        CommandSpec("poll.close", ClosePoll, "Close a poll."),
        CommandSpec("stage.spotlight", Spotlight, "Give someone the stage."),
        CommandSpec("stage.clear", ClearStage, "Take the stage back."),
        CommandSpec("stage.take_off", TakeOffStage,
                    "Take the expert or whoever has the floor off the stage."),
        CommandSpec("recording.consent", GiveConsent,
                    "The person in the spotlight agrees to be recorded in this item."),
        CommandSpec("recording.withdraw", WithdrawConsent,
                    "Withdraw one's consent; a recording of oneself stops."),
        CommandSpec("recording.start", StartRecording,
                    "Record the consenting person in the spotlight."),
        CommandSpec("recording.stop", StopRecording, "Stop the recording."),
    )
}

# Events the server sends that are not in the gathering's versioned log.
EPHEMERAL_EVENTS: dict[str, str] = {
    "presence.changed": "Who came and went in the last short window, as a list of "
                        "`presence.joined` and `presence.left` entries (rooms/presence.py).",
    "presence.joined": "An entry of `presence.changed`: a person's first connection entered "
                       "the room.",
    "presence.left": "An entry of `presence.changed`: a person's last connection left the room.",
    "reaction.sent": "Someone sent an emoji reaction (server/reactions.py).",
    "peer_joined": "A media peer one may connect to joined the mesh (server/media.py).",
    "peer_left": "A media peer left the gathering's mesh (server/media.py).",
    "publishers": "Someone went on or off the plenary stage (`stage` push, "
                  "server/stage_sockets.py).",
    "media.state": "Someone's microphone or camera went on or off (server/media_state.py).",
    "media.muted": "A runner muted this person's microphone (server/media_state.py).",
}


def payload_of(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in Envelope.model_fields}
