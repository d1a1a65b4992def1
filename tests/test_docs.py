"""What the server offers must be documented: docs/protocol.md and README.md."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from facilitation import polls
from facilitation.events import EVENT_TYPES
from server.settings import Settings
from server.sockets.errors import ErrorCode
from server.sockets.protocol import COMMANDS, EPHEMERAL_EVENTS

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "docs" / "protocol.md"
README = ROOT / "README.md"


def documented_names(markdown: str) -> set[str]:
    """Names in `backticks` on a heading line or a table row: where a reader looks them up."""
    names: set[str] = set()
    for line in markdown.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("#") or stripped.startswith("|"):
            names.update(re.findall(r"`([^`]+)`", stripped))
    return names


@pytest.fixture(scope="module")
def protocol_names() -> set[str]:
    return documented_names(PROTOCOL.read_text(encoding="utf-8"))


def test_the_finder_reads_headings_and_table_rows_only() -> None:
    text = "# `a`\n### The `b` command\n| `c` | x |\n  | `d` |\nprose with `e`\n"
    assert documented_names(text) == {"a", "b", "c", "d"}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_is_documented(command: str, protocol_names: set[str]) -> None:
    assert command in protocol_names, f"command {command} is missing from {PROTOCOL}"


@pytest.mark.parametrize("event", sorted(EVENT_TYPES))
def test_every_event_is_documented(event: str, protocol_names: set[str]) -> None:
    assert event in protocol_names, f"event {event} is missing from {PROTOCOL}"


@pytest.mark.parametrize("event", sorted(EPHEMERAL_EVENTS))
def test_every_presence_event_is_documented(event: str, protocol_names: set[str]) -> None:
    assert event in protocol_names, f"presence event {event} is missing from {PROTOCOL}"


@pytest.mark.parametrize("code", sorted(c.value for c in ErrorCode))
def test_every_error_code_is_documented(code: str, protocol_names: set[str]) -> None:
    assert code in protocol_names, f"error code {code} is missing from {PROTOCOL}"


def test_each_command_has_its_own_section() -> None:
    headings = {m for m in re.findall(r"^#+ `([^`]+)`\s*$", PROTOCOL.read_text("utf-8"), re.M)}
    assert set(COMMANDS) <= headings, set(COMMANDS) - headings


def test_every_setting_is_in_the_readme() -> None:
    assert README.exists(), "README.md is missing"
    readme = README.read_text(encoding="utf-8")
    missing = [f.metadata["env"] for f in fields(Settings)
               if not re.search(rf"\b{re.escape(f.metadata['env'])}\b", readme)]
    assert not missing, f"settings not documented in README.md: {missing}"


def command_sections() -> dict[str, str]:
    """Each command's section of docs/protocol.md: from its heading to the next heading."""
    text = PROTOCOL.read_text("utf-8")
    heads = list(re.finditer(r"^#+ `([^`]+)`\s*$", text, re.M))
    sections = {}
    for head in heads:
        rest = text[head.end():]
        following = re.search(r"^#", rest, re.M)
        sections[head.group(1)] = rest[:following.start()] if following else rest
    return sections


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_payload_field_is_in_its_commands_section(command: str) -> None:
    section = command_sections()[command]
    missing = [f for f in COMMANDS[command].schema.model_fields if f"`{f}`" not in section]
    assert not missing, f"{command}: payload fields missing from its section: {missing}"


def test_the_check_in_poll_of_an_agenda_item_is_documented_with_its_bounds() -> None:
    text = PROTOCOL.read_text("utf-8")
    fields = text[text.index("An item's fields:"):text.index("#### `agenda.add_item`")]
    fields = " ".join(fields.split())
    assert "`checkin_poll` only on `welcome` items" in fields
    for bound in (f"1–{polls.MAX_QUESTION_CHARS} chars", f"up to {polls.MAX_OPTIONS} strings",
                  f"1–{polls.MAX_OPTION_CHARS} chars",
                  f"{polls.MIN_OPTIONS} to {polls.MAX_OPTIONS} distinct options"):
        assert bound in fields, bound
    for command in ("agenda.add_item", "agenda.update_item"):
        assert "`checkin_poll`" in command_sections()[command]
