"""The JSON module socket.io encodes and decodes every frame with
(`socketio.AsyncServer(json=...)`): decoding is the library's own, with nesting bounded
before decoding; encoding is orjson's.

python-socketio decodes a text frame before any handler runs. A message nested about 1,000
levels deep (2 KB) makes `json.loads` raise RecursionError inside the library: no ack is
sent and every such frame writes tracebacks. Here a frame nested deeper than
`MAX_NESTING` is not decoded: it becomes `[event name, TOO_DEEP]`, so socket.io still routes
it to its event and sends the ack, and the gate answers the marker `invalid_format`.

Encoding with orjson is several times faster than the standard library for the large acks
of a join storm (a thousand snapshots in a few seconds), and copies in a part encoded once
before (`orjson.Fragment`: the presence list every joiner at one presence revision gets)."""

from __future__ import annotations

import logging
import re
from itertools import accumulate
from typing import Any

import orjson
from engineio import json as library_json

log = logging.getLogger(__name__)

MAX_NESTING = 32  # arrays and objects inside each other, the frame's own array included


class _TooDeep:
    """Stands in for a message that was nested too deeply to be decoded."""

    def __repr__(self) -> str:
        return "<nested too deeply>"


TOO_DEEP = _TooDeep()

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# `["name",` at the frame's start: the event a too-deep frame is answered through
_EVENT_NAME = re.compile(r'\[\s*"([A-Za-z0-9_.:-]{1,64})"\s*,')
_RESERVED = frozenset({"connect", "disconnect", "connect_error"})



def dumps(value: Any, *args: Any, **kwargs: Any) -> str:
    """Compact JSON, as socket.io asks for with its `separators`."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def nested_deeper_than(text: str, limit: int) -> bool:
    """Whether `text`'s arrays and objects nest more than `limit` deep (brackets inside
    strings do not count). Free for ordinary frames: they have fewer brackets than that."""
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


def loads(text: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(text, str) and nested_deeper_than(text, MAX_NESTING):
        return _too_deep(text)
    return library_json.loads(text, *args, **kwargs)


def _too_deep(text: str) -> list[Any]:
    log.warning("refused a socket message nested deeper than %d levels (%d characters)",
                MAX_NESTING, len(text))
    named = _EVENT_NAME.match(text)
    name = named.group(1) if named and named.group(1) not in _RESERVED else TOO_DEEP
    return [name, TOO_DEEP]


def too_deep(value: Any) -> bool:
    """Whether a decoded message (a handler's data, or a connect's auth) was refused as
    nested too deeply."""
    return value is TOO_DEEP or (isinstance(value, list) and TOO_DEEP in value[:2])
