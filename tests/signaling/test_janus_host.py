"""The real Janus the stage's tests run against (tests/janus_host.py): it answers the forum's
API secret only, runs the repository's configuration, and leaves nothing behind."""

from __future__ import annotations

import ipaddress
import os
import subprocess
from pathlib import Path

import pytest

import tests.janus_host
from tests.conftest import missing
from tests.janus_host import (
    NETNS_PREFIX,
    JanusHost,
    JanusStartError,
    janus_api,
    janus_missing_reason,
    pause,
    resume,
    running_janus,
)


@pytest.fixture
def janus_can_run() -> None:
    reason = janus_missing_reason()
    if reason is not None:
        missing(reason)


def host_addresses() -> str:
    return subprocess.run(["ip", "-br", "addr"], capture_output=True, text=True,
                          check=True).stdout


def namespaces() -> list[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                             check=True).stdout
    return [line.split()[0] for line in listing.splitlines() if line.strip()]


def ours(names: list[str]) -> list[str]:
    """The namespaces of this test process (other xdist workers start their own)."""
    return [name for name in names if name.startswith(f"{NETNS_PREFIX}{os.getpid()}-")]


def opens_a_session(host: JanusHost) -> bool:
    return janus_api(host, {"janus": "create"}).get("janus") == "success"


def test_janus_opens_a_session_for_the_api_secret(janus_host: JanusHost) -> None:
    answer = janus_api(janus_host, {"janus": "create"})

    assert answer["janus"] == "success", answer
    assert isinstance(answer["data"], dict) and answer["data"]["id"]


def test_janus_refuses_a_session_without_the_secret_or_with_another(
        janus_host: JanusHost) -> None:
    for secret in ("", "not-the-secret"):
        answer = janus_api(janus_host, {"janus": "create"}, secret=secret)

        assert answer["janus"] == "error", answer
        assert isinstance(answer["error"], dict) and answer["error"]["code"] == 403


def test_janus_runs_the_videoroom_alone_on_one_event_loop_per_core(
        janus_host: JanusHost) -> None:
    info = janus_api(janus_host, {"janus": "info"})

    assert list(info["plugins"]) == ["janus.plugin.videoroom"]  # type: ignore[call-overload]
    assert list(info["transports"]) == ["janus.transport.http"]  # type: ignore[call-overload]
    assert info["static-event-loops"] == (os.cpu_count() or 2)
    assert info["local-ip"] == janus_host.janus_address
    assert janus_host.janus_address in janus_host.url
    assert ipaddress.ip_address(janus_host.host_address) in ipaddress.ip_network(
        "198.18.0.0/15")


def test_a_second_janus_at_once_gets_its_own_subnet_and_both_answer(
        janus_host: JanusHost, tmp_path: Path) -> None:
    with running_janus(tmp_path) as second:
        first_net = ipaddress.ip_interface(f"{janus_host.host_address}/30").network
        second_net = ipaddress.ip_interface(f"{second.host_address}/30").network

        assert not first_net.overlaps(second_net)
        assert second.netns != janus_host.netns
        assert opens_a_session(janus_host)
        assert opens_a_session(second)


def test_nothing_is_left_after_janus_stops(janus_can_run: None, tmp_path: Path) -> None:
    with running_janus(tmp_path) as host:
        assert host.netns in namespaces()
        assert f"{host.host_address}/30" in host_addresses()

    assert host.netns not in namespaces()
    assert f"{host.host_address}/30" not in host_addresses()
    assert host.process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(host.process.pid, 0)


def test_a_paused_janus_stops_answering_until_resumed(janus_can_run: None,
                                                      tmp_path: Path) -> None:
    with running_janus(tmp_path) as host:
        pause(host)
        with pytest.raises(OSError):
            janus_api(host, {"janus": "info"}, timeout=1.0)

        resume(host)
        assert janus_api(host, {"janus": "info"})["janus"] == "server_info"


def test_a_janus_that_cannot_start_says_why_and_leaves_nothing_behind(
        janus_can_run: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken-config"
    broken.mkdir()
    for source in tests.janus_host.CONFIG_DIR.glob("*.jcfg"):
        (broken / source.name).write_text(source.read_text())
    with (broken / "janus.jcfg").open("a") as config:
        config.write("media: { this is not a setting\n")
    monkeypatch.setattr(tests.janus_host, "CONFIG_DIR", broken)
    before = ours(namespaces())

    with pytest.raises(JanusStartError, match="could not read its configuration"), \
            running_janus(tmp_path / "janus"):
        pass

    assert ours(namespaces()) == before
