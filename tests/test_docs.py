"""What the server offers must be documented: docs/protocol.md and README.md."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from facilitation import polls
from facilitation.events import EVENT_TYPES
from server.settings import Settings
from server.sockets.errors import ErrorCode
from server.sockets.protocol import COMMANDS, EPHEMERAL_EVENTS, Envelope

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
    """The schema's bounds are checked below with every other limit; the rule's are here."""
    text = PROTOCOL.read_text("utf-8")
    fields = text[text.index("An item's fields"):text.index("#### `agenda.add_item`")]
    fields = " ".join(fields.split())
    assert "| `checkin_poll` | object or `null` | only on `welcome` items" in fields
    assert f"{polls.MIN_OPTIONS} to {polls.MAX_OPTIONS} distinct options" in fields
    for command in ("agenda.add_item", "agenda.update_item"):
        assert "`checkin_poll`" in command_sections()[command]


# --- the documented limits are the schemas' --------------------------------------------------
#
# A payload field is documented as "`name`: type, limits" in its command's "- Payload:" line,
# or as a table row "| `name` | type, limits |" (the envelope; an agenda item's fields, where
# a nested field is `breakout.group_size`). Limits are written one way: strings in chars
# ("1–200 chars", "at most 1000 chars"), integers as ranges ("integer, 1–60", "integer ≥ 0"),
# lists by their length ("list of up to 8 strings of 1–100 chars"). Both directions are
# checked: a limit in the schema that the document does not state fails as well.

Limits = dict[str, dict[str, int]]  # field (dotted when nested) -> bound -> value

# the commands whose fields the table of an agenda item's fields describes as well
ITEM_FIELDS = ("An item's fields", "#### `agenda.add_item`")
ITEM_COMMANDS = frozenset({"agenda.add_item", "agenda.update_item"})
JSON_SCHEMA_BOUNDS = {"minLength": "min_length", "maxLength": "max_length", "minimum": "ge",
                      "maximum": "le", "minItems": "min_items", "maxItems": "max_items"}


def limits_in(spec: str) -> dict[str, int]:
    """The limits one field's description states."""
    listed = re.match(r"list of up to (\d+) (.*)", spec)
    if listed:
        items = limits_in(listed.group(2))
        return {"max_items": int(listed.group(1)), **{f"items.{k}": v for k, v in items.items()}}
    patterns = [(r"(\d+)–(\d+) (?:chars|characters)\b", ("min_length", "max_length")),
                (r"at most (\d+) (?:chars|characters)\b", ("max_length",)),
                (r"\bintegers?,? (\d+)–(\d+)", ("ge", "le")),
                (r"\bintegers?,? ≥ (\d+)", ("ge",))]
    for pattern, names in patterns:
        found = re.search(pattern, spec)
        if found:
            return dict(zip(names, map(int, found.groups()), strict=True))
    return {}


def documented_limits(text: str) -> Limits:
    """Each field's limits in prose ("`name`: spec", up to the next field, ";" or the end of
    the sentence) and in table rows ("| `name` | spec |")."""
    specs = [(m.group(1), m.group(2)) for m in re.finditer(r"^\| `([\w.]+)` \| ([^|]*)\|",
                                                           text, re.M)]
    prose = re.sub(r"^\|.*$", "", text, flags=re.M)
    starts = list(re.finditer(r"`([\w.]+)`: ", prose))
    for n, field in enumerate(starts):
        end = starts[n + 1].start() if n + 1 < len(starts) else len(prose)
        specs.append((field.group(1), re.split(r";|\.(?:\s|$)", prose[field.end():end])[0]))
    limits: Limits = {}
    for name, spec in specs:
        found = limits_in(" ".join(spec.split()))
        if found:
            assert limits.get(name, found) == found, f"`{name}` is documented twice, unlike"
            limits[name] = found
    return limits


def schema_limits(schema: dict[str, Any]) -> Limits:
    """The limits of a pydantic model's fields, read from the JSON schema pydantic derives
    from their metadata (annotated_types bounds, StringConstraints, Field)."""
    definitions = schema.get("$defs", {})
    limits: Limits = {}

    def bounds(node: dict[str, Any]) -> dict[str, int]:
        found = {JSON_SCHEMA_BOUNDS[k]: v for k, v in node.items() if k in JSON_SCHEMA_BOUNDS}
        if "exclusiveMaximum" in node:  # integers only: < 8 is ≤ 7
            found["le"] = node["exclusiveMaximum"] - 1
        if "exclusiveMinimum" in node:
            found["ge"] = node["exclusiveMinimum"] + 1
        return found

    def visit(properties: dict[str, Any], prefix: str) -> None:
        for name, field in properties.items():
            for option in field.get("anyOf", [field]):  # `X | None`
                if "$ref" in option:
                    nested = definitions[option["$ref"].rsplit("/", 1)[1]]
                    visit(nested["properties"], f"{prefix}{name}.")
                    continue
                found = bounds(option)
                found |= {f"items.{k}": v for k, v in bounds(option.get("items", {})).items()}
                if found:
                    limits[prefix + name] = found

    visit(schema.get("properties", {}), "")
    return limits


def payload_text(section: str) -> str:
    """A command section's "- Payload:" item, continuation lines included."""
    found = re.search(r"^- Payload:(.*?)(?=^- |^\s*$|\Z)", section, re.M | re.S)
    return found.group(1) if found else ""


def test_the_limit_reader_reads_each_way_of_writing_a_limit() -> None:
    text = ("- Payload: `a`: string, 1–20 chars; `b`: integer ≥ 1, `c`: integer, 2–12. `d`: "
            "list of up to 8 strings of 1–100 chars — 2 to 8 of them; `e`: string, at most\n"
            "  5 chars, `f`: list of up to 3 integers, 0–7 (indexes; 9–99 chars is prose)\n"
            "| `g.h` | string, at most 40 characters | 1–3 chars in a note |\n")
    assert documented_limits(payload_text(text) + text.splitlines()[-1]) == {
        "a": {"min_length": 1, "max_length": 20}, "b": {"ge": 1}, "c": {"ge": 2, "le": 12},
        "d": {"max_items": 8, "items.min_length": 1, "items.max_length": 100},
        "e": {"max_length": 5}, "f": {"max_items": 3, "items.ge": 0, "items.le": 7},
        "g.h": {"max_length": 40}}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_documented_limit_is_the_schemas(command: str) -> None:
    text = payload_text(command_sections()[command])
    if command in ITEM_COMMANDS:
        protocol = PROTOCOL.read_text("utf-8")
        start, end = (protocol.index(marker) for marker in ITEM_FIELDS)
        text += "\n" + protocol[start:end]
    documented = documented_limits(text)
    schema = schema_limits(COMMANDS[command].schema.model_json_schema())
    if command == "agenda.update_item":  # the item's table names `position` too (add_item's)
        documented.pop("position", None)
    assert documented == schema, f"{command}: docs/protocol.md says {documented}, the schema "\
        f"has {schema}"


def test_the_envelopes_documented_limits_are_its_schemas() -> None:
    protocol = PROTOCOL.read_text("utf-8")
    table = protocol[protocol.index("## The envelope"):protocol.index("## Answers")]
    assert documented_limits(table) == schema_limits(Envelope.model_json_schema())
