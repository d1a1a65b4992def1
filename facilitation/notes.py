"""Which shared notes a gathering has, and who may write in which.

Notes are Yjs documents kept by `rooms/notes.py`; their ids are part of the protocol:
`plenary` for the gathering's plenary notes, `r<round>-<group id>` for a breakout group's
notes in a round of breakouts (for example `r1-g2`), and `facilitators` for the private
notes of those who run the gathering (nobody else reads them)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import ClassVar

from facilitation.commands import ENDED, Command
from facilitation.core import Decision, Rejected, applies, decides
from facilitation.events import Event
from facilitation.roles import RUNNERS, SPEAKERS, runs_gathering
from facilitation.state import Actor, Breakouts, BreakoutStatus, GatheringState, Phase

PLENARY = "plenary"
FACILITATORS = "facilitators"
GROUP_NOTE = re.compile(r"^r(?P<round>[1-9][0-9]{0,3})-(?P<group>g[1-9][0-9]{0,3})$")


def group_note_id(round_: int, group_id: str) -> str:
    return f"r{round_}-{group_id}"


def is_note_id(note_id: str) -> bool:
    return note_id in (PLENARY, FACILITATORS) or GROUP_NOTE.match(note_id) is not None


def note_exists(state: GatheringState, note_id: str) -> bool:
    if note_id in (PLENARY, FACILITATORS):
        return True
    match = GROUP_NOTE.match(note_id)
    breakouts = state.breakouts
    if match is None or breakouts is None:
        return False
    # earlier rounds' notes stay readable: any round up to the current one
    return int(match["round"]) <= breakouts.round


def may_read_note(state: GatheringState, actor: Actor, note_id: str) -> bool:
    """Everyone in the gathering reads every note but the facilitators' own."""
    if note_id == FACILITATORS:
        return runs_gathering(actor.role)
    return note_exists(state, note_id)


def is_shared(note_id: str) -> bool:
    """Notes that belong in the harvest and the summary (not the facilitators' private one)."""
    return note_id != FACILITATORS


def may_write_note(state: GatheringState, actor: Actor, note_id: str) -> bool:
    if not note_exists(state, note_id) or actor.role not in SPEAKERS:
        return False
    if state.phase is Phase.ENDED and not state.notes_reopened:
        return False
    if runs_gathering(actor.role):
        return True
    if note_id == PLENARY:
        return True
    return _member_of_open_group(state.breakouts, actor.person_id, note_id)


def _member_of_open_group(breakouts: Breakouts | None, person_id: int, note_id: str) -> bool:
    if breakouts is None or breakouts.status is not BreakoutStatus.OPEN:
        return False
    group = breakouts.group_of(person_id)
    return group is not None and group_note_id(breakouts.round, group.id) == note_id


def note_template(state: GatheringState, note_id: str) -> str:
    """The text a new note starts with: the breakout item's note template for groups."""
    breakouts = state.breakouts
    if not GROUP_NOTE.match(note_id) or breakouts is None:
        return ""
    return breakouts.plan.note_template


# --- reopening the notes after the gathering -----------------------------------------------


@dataclass(frozen=True)
class ReopenNotes(Command, type="notes.reopen", rights=RUNNERS, phases=ENDED,
                  summary="After the end: let people write again."):
    """After the end, let people write in the notes again (for follow-up)."""


@dataclass(frozen=True)
class CloseNotes(Command, type="notes.close", rights=RUNNERS, phases=ENDED,
                 summary="Make the notes read-only again."):
    pass


@dataclass(frozen=True)
class NotesReopened(Event):
    type: ClassVar[str] = "notes.reopened"
    at: float


@dataclass(frozen=True)
class NotesClosed(Event):
    type: ClassVar[str] = "notes.closed"
    at: float


@decides
def decide_reopen_notes(command: ReopenNotes, d: Decision) -> list[Event]:
    if d.state.notes_reopened:
        raise Rejected("the notes are open already")
    return [NotesReopened(at=d.now)]


@decides
def decide_close_notes(command: CloseNotes, d: Decision) -> list[Event]:
    if not d.state.notes_reopened:
        raise Rejected("the notes are closed already")
    return [NotesClosed(at=d.now)]


@applies(NotesReopened)
def _apply_reopened(s: GatheringState, ev: NotesReopened) -> GatheringState:
    return replace(s, notes_reopened=True)


@applies(NotesClosed)
def _apply_closed(s: GatheringState, ev: NotesClosed) -> GatheringState:
    return replace(s, notes_reopened=False)
