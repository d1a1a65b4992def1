"""The closed set of protocol error codes, and the one place exceptions become them."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from facilitation import Rejected
from rooms.live import Forbidden, GatheringNotFound

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


def error_answer(exc: BaseException) -> dict[str, Any]:
    """Map any exception raised while handling a command to the ack the client gets."""
    code: ErrorCode
    if isinstance(exc, ProtocolError):
        code, message = exc.code, exc.message
    elif isinstance(exc, ValidationError):
        code, message = _validation_code(exc), _validation_message(exc)
    elif isinstance(exc, Rejected):
        code, message = ErrorCode(exc.code), exc.reason
    elif isinstance(exc, Forbidden):
        code, message = ErrorCode.FORBIDDEN, str(exc)
    elif isinstance(exc, GatheringNotFound):
        code, message = ErrorCode.NOT_FOUND, "no such gathering"
    else:
        log.exception("command failed", exc_info=exc)
        code, message = ErrorCode.INTERNAL, "something went wrong on the server"
    return {"ok": False, "error": {"code": code.value, "message": message}}
