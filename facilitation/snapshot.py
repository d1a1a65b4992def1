"""The state as the protocol shows it: plain JSON-ready dicts."""

from __future__ import annotations

from typing import Any

from facilitation.state import ChatMessage, GatheringState, PersonRef


def person(ref: PersonRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {"person_id": ref.person_id, "name": ref.name, "municipality": ref.municipality}


def chat_message(m: ChatMessage) -> dict[str, Any]:
    return {**(person(m.author) or {}), "text": m.text, "at": m.at}


def live_view(state: GatheringState) -> dict[str, Any]:
    current = state.current
    return {
        "version": state.version,
        "phase": state.phase.value,
        "agenda": [
            {"id": s.id, "title": s.title, "kind": s.kind, "planned_minutes": s.planned_minutes}
            for s in state.agenda
        ],
        "current": None
        if current is None
        else {
            "index": current.index,
            "item_id": state.agenda[current.index].id,
            "started_at": current.started_at,
            "planned_seconds": current.planned_seconds,
            "extended_seconds": current.extended_seconds,
            "deadline": current.deadline,
        },
        "hands": [person(h) for h in state.hands],
        "speaker": person(state.speaker),
        "chat": [chat_message(m) for m in state.chat],
        "opened_at": state.opened_at,
        "ended_at": state.ended_at,
    }
