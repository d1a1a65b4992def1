"""A tab closed while the server is still handling its `note.subscribe` or `room.join`:
the handler ends quietly (no ERROR, no traceback), the closed connection is in no room,
and presence does not count it. The test holds the handler at one of its awaits, closes
the connection there, and lets it go on: real server, real python-socketio client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer

from server.keys import SOCKETS
from server.sockets.layer import SocketLayer
from tests.conftest import WAIT, Connect
from tests.factories import World
from tests.server.live_helpers import eventually, loud

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


def hold(owner: object, name: str, monkeypatch: pytest.MonkeyPatch) -> Hold:
    """Puts a `Hold` in place of `owner.name`."""
    held = Hold(getattr(owner, name))
    monkeypatch.setattr(owner, name, held)
    return held


@pytest.fixture
def sockets(server: TestServer) -> SocketLayer:
    layer: SocketLayer = server.app[SOCKETS]
    return layer


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


async def close_tab(sockets: SocketLayer, client: socketio.AsyncClient, sid: str) -> None:
    await client.disconnect()
    await eventually(lambda: sid not in sockets.connections, within=WAIT,
                     what="the server saw the tab close")


@dataclass
class ClosedTab:
    sid: str
    answer: Message  # what the server answered, after the tab was gone


async def close_the_tab_at(held: Hold, sockets: SocketLayer, client: socketio.AsyncClient,
                           event: str, data: Message, monkeypatch: pytest.MonkeyPatch
                           ) -> ClosedTab:
    """The tab sends `event` and closes while the server's handler is held at `held`; the
    handler then goes on, and answers."""
    answers = answers_to(sockets, event, monkeypatch)
    sid = client.get_sid()
    await client.emit(event, data)
    await held.wait()
    await close_tab(sockets, client, sid)
    held.release()
    await eventually(lambda: bool(answers), within=WAIT, what=f"the {event} handled")
    return ClosedTab(sid, answers[0])


def left_counted(sockets: SocketLayer, monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Set once presence has counted a leaving (whatever it decided)."""
    left = asyncio.Event()
    leave = sockets.presence.leave

    async def leave_and_tell(gathering_id: str, person_id: int) -> Any:
        try:
            return await leave(gathering_id, person_id)
        finally:
            left.set()

    monkeypatch.setattr(sockets.presence, "leave", leave_and_tell)
    return left


def room_join(gathering_id: str) -> Message:
    return {"id": "j1", "type": "room.join", "gathering": gathering_id}


def rejected(answer: Message) -> bool:
    return answer["ok"] is False and answer["error"]["code"] == "rejected"


async def test_a_tab_closed_during_its_note_subscribe_leaves_no_error_and_no_room(
        sockets: SocketLayer, world: World, connect: Connect,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    state = hold(sockets.live, "state", monkeypatch)  # the subscribe reads the state first
    tab = await close_the_tab_at(state, sockets, await connect(world.alice), "note.subscribe",
                                 {"gathering": world.gathering.id, "note": "plenary"},
                                 monkeypatch)
    assert rejected(tab.answer), tab.answer
    assert sockets.sio.manager.get_rooms(tab.sid, "/") == []
    assert loud(caplog) == []


async def test_a_tab_closed_before_its_room_join_enters_is_not_counted_present(
        sockets: SocketLayer, world: World, connect: Connect,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    gid = world.gathering.id
    looking_up_the_sender = hold(sockets.gate, "actor_of", monkeypatch)  # before the join
    tab = await close_the_tab_at(looking_up_the_sender, sockets, await connect(world.alice),
                                 "command", room_join(gid), monkeypatch)
    assert rejected(tab.answer), tab.answer
    assert await sockets.presence.people(gid) == []
    assert sockets.sio.manager.get_rooms(tab.sid, "/") == []
    assert loud(caplog) == []


async def test_a_tab_closed_while_its_arrival_is_counted_is_taken_out_again(
        sockets: SocketLayer, world: World, connect: Connect,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The join is held just before presence counts Alice's arrival and her tab closes
    there: the arrival, counted after the tab was gone, must not stand."""
    gid = world.gathering.id
    left = left_counted(sockets, monkeypatch)
    arrive = hold(sockets.presence, "arrive", monkeypatch)
    await close_the_tab_at(arrive, sockets, await connect(world.alice), "command",
                           room_join(gid), monkeypatch)
    await eventually(left.is_set, within=WAIT, what="the tab's leaving counted")
    assert await sockets.presence.people(gid) == [], "the closed tab is still counted present"
    assert loud(caplog) == []
