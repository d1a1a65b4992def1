"""ICE servers for the browsers' peer connections, from settings; never a public default.

None configured: an empty list, so peers use host candidates only. TURN credentials follow
the REST API scheme coturn implements as `use-auth-secret`: the user name is
`<expiry unix time>:<person id>` and the password is base64(HMAC-SHA1(secret, user name)),
so the TURN server checks them with the shared secret alone and they expire by themselves."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

STUN_SCHEMES = ("stun:", "stuns:")
TURN_SCHEMES = ("turn:", "turns:")


def _urls(raw: str) -> tuple[str, ...]:
    return tuple(url.strip() for url in raw.split(",") if url.strip())


@dataclass(frozen=True)
class IceConfig:
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = ""
    turn_ttl: int = 3600

    @classmethod
    def parse(cls, stun_urls: str, turn_urls: str, turn_secret: str,
              turn_ttl: int) -> IceConfig:
        """From the settings' strings; a mistake fails at start, not in a meeting."""
        config = cls(_urls(stun_urls), _urls(turn_urls), turn_secret, turn_ttl)
        for url in config.stun_urls:
            if not url.startswith(STUN_SCHEMES):
                raise ValueError(f"STUN_URLS: {url!r} is not a stun: or stuns: URL")
        for url in config.turn_urls:
            if not url.startswith(TURN_SCHEMES):
                raise ValueError(f"TURN_URLS: {url!r} is not a turn: or turns: URL")
        if config.turn_urls and not config.turn_secret:
            raise ValueError("TURN_URLS is set but TURN_SECRET is empty")
        if config.turn_ttl < 60:
            raise ValueError("TURN_TTL is at least 60 seconds")
        return config

    def servers(self, person_id: int, now: float) -> list[dict[str, Any]]:
        """The RTCIceServer list for one person, as the browser's RTCConfiguration wants it."""
        servers: list[dict[str, Any]] = []
        if self.stun_urls:
            servers.append({"urls": list(self.stun_urls)})
        if self.turn_urls:
            username, credential = turn_credentials(self.turn_secret, person_id,
                                                    expires=int(now) + self.turn_ttl)
            servers.append({"urls": list(self.turn_urls), "username": username,
                            "credential": credential})
        return servers


def turn_credentials(secret: str, person_id: int, expires: int) -> tuple[str, str]:
    """coturn's use-auth-secret credentials: valid until `expires` (unix time)."""
    username = f"{expires}:{person_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def credentials_valid(secret: str, username: str, credential: str, now: float) -> bool:
    """What the TURN server checks (for tests and diagnostics): the HMAC, then the expiry."""
    expires, _, _ = username.partition(":")
    if not expires.isdigit():
        return False
    expected = base64.b64encode(
        hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode("ascii")
    return hmac.compare_digest(expected, credential) and int(expires) > now
