"""Signed links to a person's mail choice: whoever holds the link may stop or resume that
person's non-essential mail, and nothing else. The token is the person's id and an HMAC
under SECRET_KEY, so it needs no table and works from any worker."""

from __future__ import annotations

import base64
import hashlib
import hmac

from server.settings import Settings

TOKEN_PATTERN = r"[0-9]{1,18}-[A-Za-z0-9_-]{32}"


def _signature(settings: Settings, person_id: int) -> str:
    digest = hmac.new(settings.secret_key.encode(), f"mail-choice:{person_id}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def unsubscribe_token(settings: Settings, person_id: int) -> str:
    return f"{person_id}-{_signature(settings, person_id)}"


def unsubscribe_url(settings: Settings, person_id: int) -> str:
    return str(settings.base_url / "mail" / "unsubscribe" / unsubscribe_token(settings, person_id))


def person_of_token(settings: Settings, token: str) -> int | None:
    """The person a token speaks for, or None when it was not signed by this server."""
    person, _, signature = token.partition("-")
    if not person.isdigit() or len(person) > 18:
        return None
    expected = _signature(settings, int(person))
    return int(person) if hmac.compare_digest(expected, signature) else None
