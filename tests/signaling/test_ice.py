"""ICE servers and TURN credentials: the settings, coturn's use-auth-secret scheme, and
`media.ice` over the real server."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from server.app import create_app
from server.settings import Settings
from signaling.ice import IceConfig, credentials_valid, turn_credentials
from tests.conftest import WAIT
from tests.signaling.conftest import Group

TURN = ("turn:turn.example.org:3478?transport=udp,turn:turn.example.org:443?transport=tcp,"
        "turns:turn.example.org:443?transport=tcp")
NOW = 1_800_000_000


def test_nothing_configured_means_host_candidates_only() -> None:
    assert IceConfig.parse("", "", "", 3600).servers(7, NOW) == []


def test_stun_and_turn_servers() -> None:
    config = IceConfig.parse("stun:turn.example.org:3478", TURN, "s3cret", 600)
    stun, turn = config.servers(7, NOW)
    assert stun == {"urls": ["stun:turn.example.org:3478"]}
    assert turn["urls"] == TURN.split(",")
    assert turn["username"] == f"{NOW + 600}:7"
    expected = base64.b64encode(hmac.new(b"s3cret", f"{NOW + 600}:7".encode(),
                                         hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected


def test_credentials_verify_with_the_secret_and_expire() -> None:
    username, credential = turn_credentials("s3cret", 42, expires=NOW + 3600)
    assert username == f"{NOW + 3600}:42"
    assert credentials_valid("s3cret", username, credential, now=NOW)
    assert credentials_valid("s3cret", username, credential, now=NOW + 3599)
    assert not credentials_valid("s3cret", username, credential, now=NOW + 3600)  # expired
    assert not credentials_valid("other", username, credential, now=NOW)
    assert not credentials_valid("s3cret", f"{NOW + 7200}:42", credential, now=NOW)
    assert not credentials_valid("s3cret", "42", credential, now=NOW)


@pytest.mark.parametrize(("stun", "turn", "secret", "ttl"), [
    ("", TURN, "", 3600),  # TURN without its secret
    ("http://stun.example.org", "", "", 3600),
    ("", "stun:turn.example.org", "s", 3600),
    ("", TURN, "s", 10),
])
def test_bad_settings_fail_at_start(stun: str, turn: str, secret: str, ttl: int,
                                    sqlite_url: str) -> None:
    with pytest.raises(ValueError):
        IceConfig.parse(stun, turn, secret, ttl)
    settings = Settings(database_url=sqlite_url, stun_urls=stun, turn_urls=turn,
                        turn_secret=secret, turn_ttl=ttl)
    with pytest.raises(ValueError):
        create_app(settings)


def test_settings_come_from_the_environment() -> None:
    settings = Settings.from_env({"TURN_URLS": TURN, "TURN_SECRET": "x", "TURN_TTL": "900",
                                  "STUN_URLS": "stun:a:3478, stun:b:3478"})
    config = IceConfig.parse(settings.stun_urls, settings.turn_urls, settings.turn_secret,
                             settings.turn_ttl)
    assert config.stun_urls == ("stun:a:3478", "stun:b:3478")
    assert len(config.turn_urls) == 3 and config.turn_ttl == 900


async def test_media_ice_gives_no_servers_by_default(open_group: Group) -> None:
    answer = await open_group.clients["alice"].call("media.ice", {"gathering": open_group.gid},
                                                    timeout=WAIT)
    assert answer == {"ok": True, "ice_servers": [], "ice_ttl": 3600}
