"""The state as the protocol shows it: plain JSON-ready dicts."""

from __future__ import annotations

import dataclasses
from typing import Any

from facilitation.polls import polls_view
from facilitation.questions import questions_view
from facilitation.state import Breakouts, ChatMessage, CurrentItem, GatheringState, PersonRef


def person(ref: PersonRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {"person_id": ref.person_id, "name": ref.name, "municipality": ref.municipality}


def chat_message(m: ChatMessage) -> dict[str, Any]:
    return {**(person(m.author) or {}), "text": m.text, "at": m.at}


def current_item(state: GatheringState, current: CurrentItem | None) -> dict[str, Any] | None:
    if current is None:
        return None
    return {
        "index": current.index,
        "item_id": state.agenda[current.index].id,
        "started_at": current.started_at,
        "planned_seconds": current.planned_seconds,
        "extended_seconds": current.extended_seconds,
        "paused_at": current.paused_at,
        "paused_seconds": current.paused_seconds,
        "warned": current.warned,
        "deadline": current.deadline,
    }


def breakouts_view(b: Breakouts | None) -> dict[str, Any] | None:
    # the same shapes as the breakouts.* events' data, so a client folds both alike
    return None if b is None else dataclasses.asdict(b)


def live_view(state: GatheringState, viewer: int | None = None) -> dict[str, Any]:
    """`viewer`: the person it is for, who alone sees which questions are theirs, which they
    voted for, and their own poll answers. Nobody sees anyone else's."""
    return {
        "version": state.version,
        "phase": state.phase.value,
        "agenda": [dataclasses.asdict(slot) for slot in state.agenda],
        "current": current_item(state, state.current),
        "hands": [person(h) for h in state.hands],
        "speaker": person(state.speaker),
        "chat": [chat_message(m) for m in state.chat],
        "breakouts": breakouts_view(state.breakouts),
        "notes_reopened": state.notes_reopened,
        "questions": questions_view(state, viewer),
        "anonymous_questions": state.anonymous_questions,
        "qa_item": state.qa_item,
        "polls": polls_view(state, viewer),
        "spotlight": person(state.spotlight),
        "consent": None if state.consent is None else dataclasses.asdict(state.consent),
        "recording": None if state.recording is None else dataclasses.asdict(state.recording),
        "opened_at": state.opened_at,
        "ended_at": state.ended_at,
    }


# Beyond this many people present, a participant's snapshot names only some of them
# (`presence_part`): a thousand joins would otherwise carry half a million entries.
PRESENCE_NAMED = 200
# the roles a large room's participants still see by name: whoever runs or speaks
_COUNTED_ROLES = frozenset({"participant", "observer"})


def named_to(entry: dict[str, Any], municipality: str | None) -> bool:
    """Whether a presence entry is shown by name to a participant of `municipality` in a
    large room (static/src/reducer.js `namedToMe` is the same rule)."""
    return entry.get("role") not in _COUNTED_ROLES or entry.get("municipality") == municipality


def presence_part(people: list[dict[str, Any]], municipality: str | None
                  ) -> tuple[list[dict[str, Any]], dict[str, list[int]]]:
    """A large room's presence for a participant: the entries of their own municipality's
    people and of those who run or speak, and everyone else as person ids by municipality
    ("" for none), enough to count them and to tell who is here."""
    named: list[dict[str, Any]] = []
    others: dict[str, list[int]] = {}
    for entry in people:
        if named_to(entry, municipality):
            named.append(entry)
        else:
            others.setdefault(entry.get("municipality") or "", []).append(entry["person_id"])
    return named, others
