"""The closed set of protocol error codes, and the one place exceptions become them."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from facilitation import Rejected
from rooms.faults import Faults
from rooms.live import Forbidden, GatheringNotFound
from rooms.notes import NoteRefused
from signaling.relay import SignalRefused
from signaling.stage import StageError

log = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    INVALID_FORMAT = "invalid_format"
    UNKNOWN_COMMAND = "unknown_command"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    REJECTED = "rejected"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class ProtocolError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _validation_message(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "payload"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


# pydantic error types that mean "a value is over its size limit"
TOO_LONG = frozenset({"string_too_long", "too_long", "bytes_too_long"})


def _validation_code(error: ValidationError) -> ErrorCode:
    over_limit = all(item["type"] in TOO_LONG for item in error.errors())
    return ErrorCode.TOO_LARGE if over_limit else ErrorCode.INVALID_FORMAT


# The plenary stage's refusals (signaling/stage.py, stage_host.py, stage_router.py)
STAGE_CODES = {
    "bad-sdp": (ErrorCode.INVALID_FORMAT, "the session description is not usable"),
    "bad-id": (ErrorCode.INVALID_FORMAT, "bad peer id"),
    "bad-op": (ErrorCode.INVALID_FORMAT, "unknown stage operation"),
    "codec-unsupported": (ErrorCode.INVALID_FORMAT, "offer VP8 video and Opus audio"),
    "too-many-tracks": (ErrorCode.INVALID_FORMAT,
                        "publish at most one audio and two video tracks"),
    "forbidden": (ErrorCode.FORBIDDEN, "only the facilitator, the expert in the spotlight and "
                  "whoever has the floor may publish to the stage"),
    "stage-full": (ErrorCode.REJECTED, "the stage is full: someone must leave it first"),
    "stage-closed": (ErrorCode.REJECTED, "the stage is closing; try again"),
    "already-publishing": (ErrorCode.CONFLICT, "already publishing"),
    "already-listening": (ErrorCode.CONFLICT, "already listening"),
    "no-offer": (ErrorCode.REJECTED, "no stage offer is waiting for this answer: listen again"),
    "engine-gone": (ErrorCode.INTERNAL, "the media server of this stage does not answer; "
                    "try again"),
    "owner-gone": (ErrorCode.INTERNAL, "the stage's worker is gone; try again"),
    "owner-silent": (ErrorCode.INTERNAL, "the worker that runs this gathering's stage did "
                     "not answer in time; try again"),
}


def error_answer(exc: BaseException, faults: Faults | None = None) -> dict[str, Any]:
    """Map any exception raised while handling a socket message to the ack the client gets.
    An outage of the database or Redis is counted in `faults` (one log line when it starts,
    not a traceback per refusal)."""
    code: ErrorCode
    fault = None if faults is None else faults.of(exc)
    if isinstance(exc, ProtocolError):
        code, message = exc.code, exc.message
    elif isinstance(exc, StageError):
        code, message = STAGE_CODES.get(exc.code, (ErrorCode.REJECTED, exc.code))
    elif isinstance(exc, SignalRefused):
        code, message = ErrorCode(exc.code), exc.message
    elif isinstance(exc, NoteRefused):
        code, message = ErrorCode(exc.code), str(exc)
    elif isinstance(exc, ValidationError):
        code, message = _validation_code(exc), _validation_message(exc)
    elif isinstance(exc, Rejected):
        code, message = ErrorCode(exc.code), exc.reason
    elif isinstance(exc, Forbidden):
        code, message = ErrorCode.FORBIDDEN, str(exc)
    elif isinstance(exc, GatheringNotFound):
        code, message = ErrorCode.NOT_FOUND, "no such gathering"
    elif fault is not None:
        fault.failed(exc)
        code, message = ErrorCode.UNAVAILABLE, f"{fault.what} is unavailable; try again"
    else:
        log.exception("a socket message failed", exc_info=exc)
        code, message = ErrorCode.INTERNAL, "something went wrong on the server"
    return {"ok": False, "error": {"code": code.value, "message": message}}
