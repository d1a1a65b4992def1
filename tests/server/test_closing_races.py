"""A tab closed while the server is still handling its `note.subscribe` or `room.join`:
the handler ends quietly (no ERROR, no traceback), the closed connection is in no room,
and presence does not count it. The test holds the handler at one of its awaits, closes
the connection there, and lets it go on: real server, real python-socketio client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer

from server.keys import SOCKETS
from server.sockets.layer import SocketLayer
from tests.conftest import Connect
from tests.factories import World
from tests.server.live_helpers import eventually

WAIT = 30.0  # seconds: a bound for a loaded machine, never a duration we expect
Message = dict[str, Any]


class Hold:
    """Stands in for an async function and holds its first caller until `release()`."""

    def __init__(self, real: Callable[..., Awaitable[Any]]) -> None:
        self.real = real
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.reached.set()
        await self.go.wait()
        return await self.real(*args, **kwargs)

    async def wait(self) -> None:
        await asyncio.wait_for(self.reached.wait(), WAIT)

    def release(self) -> None:
        self.go.set()


def answers_to(sockets: SocketLayer, event: str, monkeypatch: pytest.MonkeyPatch
               ) -> list[Message]:
    """Keeps what the server answers to `event`, delivered or not (the sender may be gone)."""
    answers: list[Message] = []
    real = sockets.sio.handlers["/"][event]

    async def handler(*args: Any) -> Message:
        answer: Message = await real(*args)
        answers.append(answer)
        return answer

    monkeypatch.setitem(sockets.sio.handlers["/"], event, handler)
    return answers


def loud(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records
            if r.levelno >= logging.ERROR or r.exc_info]


async def close_tab(sockets: SocketLayer, client: socketio.AsyncClient, sid: str) -> None:
    await client.disconnect()
    await eventually(lambda: sid not in sockets.connections, within=WAIT,
                     what="the server saw the tab close")


async def test_a_tab_closed_during_its_note_subscribe_leaves_no_error_and_no_room(
        server: TestServer, world: World, connect: Connect, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    sockets: SocketLayer = server.app[SOCKETS]
    answers = answers_to(sockets, "note.subscribe", monkeypatch)
    state = Hold(sockets.live.state)  # the subscribe reads the gathering's state first
    monkeypatch.setattr(sockets.live, "state", state)
    alice = await connect(world.alice)
    sid = alice.get_sid()
    await alice.emit("note.subscribe", {"gathering": world.gathering.id, "note": "plenary"})
    await state.wait()
    await close_tab(sockets, alice, sid)
    state.release()
    await eventually(lambda: bool(answers), within=WAIT, what="the subscribe handled")
    assert answers[0]["ok"] is False and answers[0]["error"]["code"] == "rejected"
    assert sockets.sio.manager.get_rooms(sid, "/") == []
    assert loud(caplog) == []


async def test_a_tab_closed_before_its_room_join_enters_is_not_counted_present(
        server: TestServer, world: World, connect: Connect, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    sockets: SocketLayer = server.app[SOCKETS]
    gid = world.gathering.id
    answers = answers_to(sockets, "command", monkeypatch)
    actor = Hold(sockets.gate.actor_of)  # the gate looks the sender up before the join
    monkeypatch.setattr(sockets.gate, "actor_of", actor)
    alice = await connect(world.alice)
    sid = alice.get_sid()
    await alice.emit("command", {"id": "j1", "type": "room.join", "gathering": gid})
    await actor.wait()
    await close_tab(sockets, alice, sid)
    actor.release()
    await eventually(lambda: bool(answers), within=WAIT, what="the join handled")
    assert answers[0]["ok"] is False and answers[0]["error"]["code"] == "rejected"
    assert await sockets.presence.people(gid) == []
    assert sockets.sio.manager.get_rooms(sid, "/") == []
    assert loud(caplog) == []


async def test_a_tab_closed_while_its_arrival_is_counted_is_taken_out_again(
        server: TestServer, world: World, connect: Connect, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    sockets: SocketLayer = server.app[SOCKETS]
    gid = world.gathering.id
    answers = answers_to(sockets, "command", monkeypatch)
    arrive = Hold(sockets.presence.arrive)
    monkeypatch.setattr(sockets.presence, "arrive", arrive)
    left = asyncio.Event()
    leave = sockets.presence.leave

    async def leave_and_tell(gathering_id: str, person_id: int) -> Any:
        try:
            return await leave(gathering_id, person_id)
        finally:
            left.set()

    monkeypatch.setattr(sockets.presence, "leave", leave_and_tell)
    alice = await connect(world.alice)
    sid = alice.get_sid()
    await alice.emit("command", {"id": "j1", "type": "room.join", "gathering": gid})
    await arrive.wait()
    await close_tab(sockets, alice, sid)
    arrive.release()
    await eventually(lambda: bool(answers) and left.is_set(), within=WAIT,
                     what="the join handled and the tab's leaving counted")
    assert await sockets.presence.people(gid) == [], "the closed tab is still counted present"
    assert loud(caplog) == []
