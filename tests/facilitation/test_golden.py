"""The golden gathering (tests/facilitation/golden.py) is up to date and complete.

static/test/golden/gathering.json is what the browser's fold is checked against
(static/test/golden.test.js). It must be exactly what the server's rules produce now, and
it must hold every event type, so that a new event cannot reach browsers unchecked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from facilitation.events import EVENT_TYPES
from tests.facilitation.golden import GOLDEN_PATH, REGENERATE, VIEWER, golden, render


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return golden()


def _events(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [row["event"] for step in data["steps"] for row in step["events"]]


def test_the_committed_file_is_what_the_rules_produce_now() -> None:
    expected = render()
    committed = GOLDEN_PATH.read_text(encoding="utf-8") if GOLDEN_PATH.exists() else ""
    if committed != expected:
        lines = zip(committed.splitlines(), expected.splitlines(), strict=False)
        first = next((n for n, (a, b) in enumerate(lines, 1) if a != b),
                     min(len(committed.splitlines()), len(expected.splitlines())) + 1)
        pytest.fail(f"{GOLDEN_PATH.name} is not what tests/facilitation/golden.py writes now "
                    f"(first difference at line {first}). Regenerate it with `{REGENERATE}`, "
                    "review the diff, and run `cd static && node --test test/`.")


def test_the_file_is_the_same_every_time() -> None:
    assert render() == render()


def test_every_event_type_occurs(generated: dict[str, Any]) -> None:
    seen = {event["type"] for event in _events(generated)}
    missing = sorted(set(EVENT_TYPES) - seen)
    assert not missing, (f"the golden gathering never causes {missing}: script commands that "
                         f"do in tests/facilitation/golden.py, then `{REGENERATE}`")
    assert generated["event_types"] == sorted(EVENT_TYPES)


def test_the_events_are_the_log_in_order_without_private_fields(
        generated: dict[str, Any]) -> None:
    events = _events(generated)
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    for event in events:
        private = EVENT_TYPES[event["type"]].private
        assert not private & event["data"].keys(), f"{event['type']} sends {private}"
    last = {}
    for step in generated["steps"]:
        for row in step["events"]:
            last.update(row["view"])
            assert row["view"]["version"] == row["event"]["version"]
    assert last["phase"] == "ended" and last["notes_reopened"] is False


def test_the_viewer_does_what_only_their_own_acks_tell_their_page(
        generated: dict[str, Any]) -> None:
    """The wire never says who voted, who answered a poll what, or who asked anonymously:
    the page learns those from its own commands' acks. The script must exercise each."""
    own = [step["command"] for step in generated["steps"] if step["by"] == VIEWER.person_id]
    types = {command["type"] for command in own}
    assert {"question.upvote", "question.unvote", "poll.answer"} <= types
    assert any(c["type"] == "question.ask" and c["anonymous"] for c in own)
    assert any(c["type"] == "poll.answer" and c["word"] for c in own)
    assert generated["initial"]["you"]["person_id"] == VIEWER.person_id
    # and what the file says the viewer sees, the file says through the viewer's own view
    views = [row["view"] for step in generated["steps"] for row in step["events"]]
    assert any(q.get("mine") and q["author"] is None
               for v in views for q in v.get("questions", []))
    assert any(p.get("mine") for v in views for p in v.get("polls", []))
    assert json.loads(render()) == generated
