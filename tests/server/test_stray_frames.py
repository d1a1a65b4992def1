"""Shared-notes frames that reach the server after a connection's session ended (a worker
stops and ends every session while the browsers are still typing) are dropped quietly:
no ERROR, no traceback, one INFO line per connection. Frames of live sessions, and binary
acks, pass as before. A raw engine.io/socket.io client writes the frames one by one, so
the test decides what arrives when (server/sockets/server.py leans on python-socketio's
internals; these tests pin them)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pycrdt import write_var_uint
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import start_session
from server.keys import SOCKETS
from server.settings import SESSION_COOKIE
from tests.conftest import WAIT
from tests.factories import World
from tests.server.live_helpers import eventually, loud

PLACEHOLDER = {"_placeholder": True, "num": 0}  # where socket.io puts the first attachment


def cursor(name: str, clock: int) -> bytes:
    """A y-protocols awareness message, as a browser sends when its cursor moves."""
    state = json.dumps({"user": {"name": name}}).encode()
    body = b"".join([write_var_uint(1), write_var_uint(77), write_var_uint(clock),
                     write_var_uint(len(state)), state])
    return b"\x01" + write_var_uint(len(body)) + body


class RawClient:
    """engine.io 4 and socket.io 5 written by hand over one websocket. It reads only when
    asked, so a server's DISCONNECT or close stays unread while the test goes on sending,
    as a busy browser would."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, gathering: str) -> None:
        self.ws = ws
        self.gathering = gathering
        self.eio_sid = ""
        self.sid = ""

    async def text(self) -> str:
        while True:
            message = await self.ws.receive(timeout=WAIT)
            assert message.type is aiohttp.WSMsgType.TEXT, message
            if message.data == "2":  # engine.io ping
                await self.ws.send_str("3")
                continue
            return str(message.data)

    async def until(self, prefix: str) -> str:
        """The next text packet that starts with `prefix` (others are skipped)."""
        while not (packet := await self.text()).startswith(prefix):
            pass
        return packet

    async def connect(self) -> None:
        """socket.io CONNECT to the default namespace, on this engine.io connection."""
        await self.ws.send_str("40")
        self.sid = json.loads((await self.until("40"))[2:])["sid"]

    async def subscribe(self) -> None:
        note = {"gathering": self.gathering, "note": "plenary"}
        await self.ws.send_str("420" + json.dumps(["note.subscribe", note]))
        assert json.loads((await self.until("430"))[3:]) == [{"ok": True, "may_write": True}]

    async def send_header(self, ack: int | None = None) -> None:
        body = {"gathering": self.gathering, "note": "plenary", "message": PLACEHOLDER}
        await self.ws.send_str("451-" + ("" if ack is None else str(ack)) +
                               json.dumps(["note", body]))

    async def note(self, message: bytes, ack: int | None = None) -> None:
        """A binary `note` event: its header, then its attachment."""
        await self.send_header(ack)
        await self.ws.send_bytes(message)

    async def answer(self, ack: int) -> Any:
        return json.loads((await self.until(f"43{ack}["))[2 + len(str(ack)):])


Open = Callable[[], Awaitable[RawClient]]


@pytest.fixture
async def open_raw(server: TestServer, sessions: async_sessionmaker,
                   world: World) -> AsyncIterator[Open]:
    """Alice's raw connections, signed in and connected to the default namespace."""
    token = await start_session(sessions, world.alice.id, days=1)
    url = server.make_url("/socket.io/").with_query(EIO="4", transport="websocket")
    async with aiohttp.ClientSession(headers={"Cookie": f"{SESSION_COOKIE}={token}"}) as http:
        opened: list[aiohttp.ClientWebSocketResponse] = []

        async def open_one() -> RawClient:
            ws = await http.ws_connect(url)
            opened.append(ws)
            raw = RawClient(ws, world.gathering.id)
            raw.eio_sid = json.loads((await raw.text())[1:])["sid"]
            await raw.connect()
            return raw

        yield open_one
        for ws in opened:
            await ws.close()


def handled(caplog: pytest.LogCaptureFixture) -> int:
    """Stray frames the server has read: each leaves one record, dropped or failed."""
    return sum(1 for r in caplog.records if r.name == "server.sockets.server"
               or r.name == "engineio.server" and r.levelno >= logging.ERROR)


@pytest.fixture
async def subscribed(open_raw: Open, caplog: pytest.LogCaptureFixture) -> RawClient:
    """Alice's raw connection, subscribed to the plenary note; every log record is kept."""
    caplog.set_level(logging.DEBUG)
    raw = await open_raw()
    await raw.subscribe()
    return raw


async def server_ends_session(server: TestServer, raw: RawClient) -> None:
    """As a stopping worker does for everyone (server/app.py, disconnect_everyone)."""
    await server.app[SOCKETS].sio.disconnect(raw.sid)


async def pings_missed(server: TestServer, raw: RawClient) -> None:
    """As engine.io does when a connection missed its pings: it ends the whole connection."""
    await server.app[SOCKETS].sio.eio.disconnect(raw.eio_sid)


async def browser_leaves(server: TestServer, raw: RawClient) -> None:
    await raw.ws.send_str("41")


@pytest.mark.parametrize("end", [server_ends_session, pings_missed, browser_leaves])
async def test_note_frames_after_the_session_ended_are_dropped_quietly(
        server: TestServer, open_raw: Open, subscribed: RawClient,
        caplog: pytest.LogCaptureFixture,
        end: Callable[[TestServer, RawClient], Awaitable[None]]) -> None:
    raw = subscribed
    await end(server, raw)
    # the browser has not read the DISCONNECT: its cursor moves twice more
    await raw.note(cursor("Alice", 5))
    await raw.note(cursor("Alice", 6))
    await eventually(lambda: handled(caplog) == 4, within=WAIT, what="four stray frames read")
    assert loud(caplog) == []
    told = [r for r in caplog.records
            if r.name == "server.sockets.server" and r.levelno == logging.INFO]
    assert len(told) == 1, told
    # the browser connects again, and its notes are taken as before
    again = await open_raw()
    await again.subscribe()
    await again.note(cursor("Alice", 7), ack=1)
    assert await again.answer(1) == [{"ok": True}]
    assert loud(caplog) == []


async def test_an_attachment_whose_header_came_before_the_end_is_dropped_quietly(
        server: TestServer, subscribed: RawClient, caplog: pytest.LogCaptureFixture) -> None:
    raw = subscribed
    await raw.send_header()
    sio = server.app[SOCKETS].sio
    await eventually(lambda: raw.eio_sid in sio._binary_packet, within=WAIT,
                     what="the header waiting for its attachment")
    await server_ends_session(server, raw)  # the server drops the half-received packet
    await raw.ws.send_bytes(cursor("Alice", 5))
    await eventually(lambda: handled(caplog) == 1, within=WAIT, what="the attachment read")
    assert loud(caplog) == []


async def test_a_live_sessions_binary_messages_and_acks_pass_as_before(
        server: TestServer, subscribed: RawClient, caplog: pytest.LogCaptureFixture) -> None:
    raw = subscribed
    await raw.note(cursor("Alice", 5), ack=1)
    assert await raw.answer(1) == [{"ok": True}]
    # a binary ack: the server asks, the client answers with bytes
    asked = asyncio.create_task(server.app[SOCKETS].sio.call("probe", {"n": 1}, to=raw.sid,
                                                             timeout=WAIT))
    question = await raw.until("42")
    number = question[2:question.index("[")]
    assert json.loads(question[2 + len(number):]) == ["probe", {"n": 1}]
    await raw.ws.send_str(f"461-{number}" + json.dumps([PLACEHOLDER]))
    await raw.ws.send_bytes(b"\x00\x01\x02")
    assert await asked == b"\x00\x01\x02"
    assert handled(caplog) == 0
    assert loud(caplog) == []
