"""Fixtures of the signaling tests: coturn, a breakout group that is open (aiortc on
loopback: `loopback_ice` in tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import pytest
import socketio

from tests.conftest import Connect, missing, send
from tests.factories import World

TURN_SECRET = "turn-test-secret"


def turnserver_path() -> str:
    """coturn's `turnserver`; installed when missing (Debian). Skipped only outside CI."""
    path = shutil.which("turnserver")
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "coturn"], check=False,
                       capture_output=True, env={**os.environ,
                                                 "DEBIAN_FRONTEND": "noninteractive"},
                       timeout=300)
        path = shutil.which("turnserver")
    if path is None:
        missing("coturn (turnserver)")
    return path


@dataclass
class Group:
    """A gathering with its breakout groups open: Alice and Bjørn in the one group, the
    facilitator (a runner, visiting) and the observer (in no group) in the room too."""

    gid: str
    clients: dict[str, socketio.AsyncClient]


async def open_the_groups(frida: socketio.AsyncClient, gid: str) -> None:
    """The facilitator opens the room, then breakout groups of two, drawn at random."""
    assert (await send(frida, gid, "room.open"))["ok"]
    answer = await send(frida, gid, "breakouts.propose", rule="random", group_size=2)
    assert answer["ok"], answer
    assert (await send(frida, gid, "breakouts.open", minutes=5))["ok"]


@pytest.fixture
async def open_group(world: World, connect: Connect) -> Group:
    gid = world.gathering.id
    people = {"frida": world.facilitator, "alice": world.alice, "bjorn": world.bjorn,
              "ola": world.observer, "eva": world.expert}
    clients = {}
    for name, person in people.items():
        clients[name] = await connect(person)
        assert (await send(clients[name], gid, "room.join"))["ok"]
    await open_the_groups(clients["frida"], gid)
    return Group(gid, clients)


def collect(client: socketio.AsyncClient, event: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    client.on(event, seen.append)
    return seen



ENGINES = ["aiortc", "janus"]
#: a stage test that runs on both engines, so the engines cannot drift apart
on_both_engines = pytest.mark.parametrize("engine", ENGINES, indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The stage's media engine, as Settings fields: aiortc unless the test is
    `on_both_engines`. aiortc gathers on loopback; with Janus, the test's peers gather on the
    address that reaches Janus's network namespace (tests/janus_host.py)."""
    if getattr(request, "param", "aiortc") == "janus":
        host = request.getfixturevalue("janus_ice")
        return {"media_engine": "janus", "janus_urls": host.url,
                "janus_api_secret": host.secret}
    request.getfixturevalue("loopback_ice")
    return {"media_engine": "aiortc"}
