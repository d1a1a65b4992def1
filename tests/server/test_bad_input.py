"""Bad input and limits: each gets a clear error code and changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation.commands import CHAT_MAX_CHARS
from rooms.accounts import start_session
from rooms.models import Person
from server.settings import SESSION_COOKIE, Settings
from tests.conftest import WAIT, Connect, send
from tests.factories import World, add_participant
from tests.server.live_helpers import (
    connected_sids,
    event_log,
    events_after,
    eventually,
    presence_entries,
    received,
    tracebacks,
    version,
    watch_presence,
)

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
async def room(world: World, connect: Connect) -> AsyncIterator[tuple[str, Any, Any]]:
    """A live gathering, its first item running; yields its id, Alice's and Frida's client."""
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    alice = await connect(world.alice)
    await send(frida, gid, "room.join")
    await send(alice, gid, "room.join")
    assert (await send(frida, gid, "room.open"))["ok"]
    assert (await send(frida, gid, "agenda.next", from_item=None))["ok"]
    yield gid, alice, frida


async def refused(client: socketio.AsyncClient, server: TestServer, gid: str, message: Any,
                  code: str) -> dict[str, Any]:
    before = await version(server, gid)
    answer = await client.call("command", message, timeout=WAIT)
    assert answer["ok"] is False, (message, answer)
    assert answer["error"]["code"] == code, (message, answer)
    assert isinstance(answer["error"]["message"], str) and answer["error"]["message"]
    assert await version(server, gid) == before, message
    return dict(answer)


@pytest.mark.parametrize("message", ["agenda.next", 42, 1.5, True, ["chat.send", "hei"]])
async def test_a_message_that_is_not_an_object(message: Any, room: tuple[str, Any, Any],
                                               server: TestServer) -> None:
    gid, alice, _ = room
    await refused(alice, server, gid, message, "invalid_format")


async def test_a_command_without_data(room: tuple[str, Any, Any], server: TestServer) -> None:
    gid, alice, _ = room
    before = await version(server, gid)
    answer = await alice.call("command", timeout=WAIT)
    assert answer["error"]["code"] == "invalid_format"
    assert await version(server, gid) == before


async def test_a_command_with_several_arguments(room: tuple[str, Any, Any],
                                                server: TestServer) -> None:
    gid, alice, _ = room
    before = await version(server, gid)
    message = {"id": "a1", "type": "chat.send", "gathering": gid, "text": "hei"}
    answer = await alice.call("command", (message, "extra"), timeout=WAIT)
    assert answer["ok"] is False
    assert answer["error"]["code"] == "invalid_format"
    assert await version(server, gid) == before


@pytest.mark.parametrize("missing", ["id", "type", "gathering"])
async def test_a_missing_envelope_field(missing: str, room: tuple[str, Any, Any],
                                        server: TestServer) -> None:
    gid, alice, _ = room
    message = {"id": "m1", "type": "chat.send", "gathering": gid, "text": "hei"}
    del message[missing]
    answer = await refused(alice, server, gid, message, "invalid_format")
    assert missing in answer["error"]["message"]


@pytest.mark.parametrize(
    ("type_", "fields"),
    [
        ("agenda.next", {}),  # from_item is required (null before the first item)
        ("agenda.extend", {}),
        ("chat.send", {}),
        ("room.sync", {}),
    ],
)
async def test_a_missing_payload_field(type_: str, fields: dict[str, Any],
                                       room: tuple[str, Any, Any], server: TestServer) -> None:
    gid, alice, _ = room
    message = {"id": "p1", "type": type_, "gathering": gid, **fields}
    await refused(alice, server, gid, message, "invalid_format")


@pytest.mark.parametrize(
    "change",
    [
        {"id": 17},
        {"id": ""},
        {"type": 5},
        {"type": ""},
        {"gathering": 1},
        {"gathering": None},
        {"type": "agenda.extend", "minutes": "5"},
        {"type": "agenda.extend", "minutes": True},
        {"type": "agenda.extend", "minutes": 2.5},
        {"type": "agenda.extend", "minutes": 0},
        {"type": "agenda.extend", "minutes": 61},
        {"type": "agenda.next", "from_item": "first"},
        {"type": "agenda.next", "from_item": [1]},
        {"type": "agenda.next", "from_item": True},
        {"type": "chat.send", "text": 5},
        {"type": "chat.send", "text": ["hei"]},
        {"type": "chat.send", "text": ""},
        {"type": "hand.lower", "person_id": "1"},
        {"type": "hand.lower", "person_id": True},
        {"type": "room.sync", "since": -1},
        {"type": "room.sync", "since": "0"},
    ],
    ids=lambda change: repr(change)[:40],
)
async def test_wrong_types_and_values(change: dict[str, Any], room: tuple[str, Any, Any],
                                      server: TestServer) -> None:
    """Sent by the facilitator, who may send every command: only the input is wrong."""
    gid, _, frida = room
    message: dict[str, Any] = {"id": "w1", "type": "chat.send", "gathering": gid, "text": "hei"}
    if "type" in change and change["type"] != "chat.send":
        del message["text"]
    message.update(change)
    await refused(frida, server, gid, message, "invalid_format")


@pytest.mark.parametrize("type_", ["agenda.delete", "chat", "ROOM.JOIN", "__init__"])
async def test_an_unknown_command(type_: str, room: tuple[str, Any, Any],
                                  server: TestServer) -> None:
    gid, alice, _ = room
    message = {"id": "u1", "type": type_, "gathering": gid}
    answer = await refused(alice, server, gid, message, "unknown_command")
    assert type_ in answer["error"]["message"]


@pytest.mark.parametrize(
    ("type_", "fields"),
    [
        ("chat.send", {"text": "hei", "html": "<b>hei</b>"}),
        ("room.join", {"since": 0}),
        ("agenda.next", {"from_item": None, "index": 3}),
        ("hand.raise", {"person_id": 1}),
    ],
)
async def test_an_unknown_field(type_: str, fields: dict[str, Any], room: tuple[str, Any, Any],
                                server: TestServer) -> None:
    """The schema is checked before the role: Alice gets invalid_format even for agenda.next."""
    gid, alice, _ = room
    message = {"id": "x1", "type": type_, "gathering": gid, **fields}
    await refused(alice, server, gid, message, "invalid_format")


async def test_an_unknown_field_is_checked_before_the_role(world: World, connect: Connect,
                                                           server: TestServer) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    await send(frida, gid, "room.join")
    await send(frida, gid, "room.open")
    message = {"id": "x2", "type": "agenda.next", "gathering": gid, "from_item": None,
               "index": 3}
    await refused(frida, server, gid, message, "invalid_format")


@pytest.mark.parametrize("change", [{"id": "x" * 65}, {"gathering": "g" * 65}],
                         ids=["long id", "long gathering"])
async def test_an_envelope_field_over_its_limit_is_too_large(
        change: dict[str, Any], room: tuple[str, Any, Any], server: TestServer) -> None:
    gid, _, frida = room
    message = {"id": "w1", "type": "chat.send", "gathering": gid, "text": "hei", **change}
    await refused(frida, server, gid, message, "too_large")


async def test_chat_text_has_a_length_limit(room: tuple[str, Any, Any], server: TestServer) -> None:
    gid, alice, _ = room
    message = {"id": "long", "type": "chat.send", "gathering": gid,
               "text": "x" * (CHAT_MAX_CHARS + 1)}
    await refused(alice, server, gid, message, "too_large")
    at_limit = await send(alice, gid, "chat.send", text="æ" * CHAT_MAX_CHARS)
    assert at_limit["ok"] is True
    assert (await event_log(server, gid))[-1].data["text"] == "æ" * CHAT_MAX_CHARS


async def test_an_empty_chat_message_is_rejected(room: tuple[str, Any, Any],
                                                 server: TestServer) -> None:
    gid, alice, _ = room
    await refused(alice, server, gid, {"id": "e1", "type": "chat.send", "gathering": gid,
                                       "text": "   "}, "rejected")


async def test_a_command_in_the_wrong_phase_is_rejected(world: World, connect: Connect,
                                                        server: TestServer) -> None:
    gid = world.gathering.id
    alice = await connect(world.alice)
    await send(alice, gid, "room.join")
    answer = await refused(alice, server, gid, {"id": "r1", "type": "hand.raise",
                                                "gathering": gid}, "rejected")
    assert "lobby" in answer["error"]["message"]


async def test_a_participant_may_not_lower_another_hand(world: World, connect: Connect,
                                                        room: tuple[str, Any, Any],
                                                        server: TestServer) -> None:
    gid, alice, _ = room
    bjorn = await connect(world.bjorn)
    await send(bjorn, gid, "room.join")
    assert (await send(bjorn, gid, "hand.raise"))["ok"]
    await refused(alice, server, gid, {"id": "l1", "type": "hand.lower", "gathering": gid,
                                       "person_id": world.bjorn.id}, "forbidden")


async def test_a_message_larger_than_the_limit_closes_the_connection(
    world: World, connect: Connect, room: tuple[str, Any, Any], server: TestServer,
    settings: Settings,
) -> None:
    """engine.io hands aiohttp `max_msg_size=max_http_buffer_size`: aiohttp refuses the frame
    (close code 1009, message too big) and engine.io drops the connection. There is no ack."""
    gid, alice, _ = room
    before = await version(server, gid)
    sid = alice.get_sid()
    assert sid in connected_sids(server)
    gone = asyncio.Event()
    alice.on("disconnect", lambda *reason: gone.set())
    text = "x" * (settings.max_message_bytes + 1)
    await alice.emit("command", {"id": "big", "type": "chat.send", "gathering": gid,
                                 "text": text})
    await asyncio.wait_for(gone.wait(), timeout=WAIT)
    assert not alice.connected
    await eventually(lambda: sid not in connected_sids(server), what="server dropped it")
    assert await version(server, gid) == before
    # Alice may come back, and her last connection closing made her leave the room
    again = await connect(world.alice)
    answer = await send(again, gid, "room.join")
    assert answer["ok"] is True and answer["version"] == before
    assert answer["snapshot"]["chat"] == []


async def test_an_oversized_frame_is_closed_with_1009(world: World, sessions: async_sessionmaker,
                                                     server: TestServer,
                                                     settings: Settings) -> None:
    """What any client sees on the wire: the handshake announces `maxPayload`, and a larger
    frame is answered by a websocket close with code 1009 (message too big)."""
    gid = world.gathering.id
    before = await version(server, gid)
    token = await start_session(sessions, world.alice.id, days=1)
    url = server.make_url("/socket.io/").with_query(EIO="4", transport="websocket")
    async with aiohttp.ClientSession() as http, http.ws_connect(
        url, headers={"Cookie": f"forum_session={token}"}
    ) as ws:
        opening = await ws.receive_str()
        assert opening.startswith("0")
        assert json.loads(opening[1:])["maxPayload"] == settings.max_message_bytes
        await ws.send_str("40")  # socket.io CONNECT to the default namespace
        assert (await ws.receive_str()).startswith("40")
        command = {"id": "big", "type": "chat.send", "gathering": gid,
                   "text": "x" * settings.max_message_bytes}
        await ws.send_str("42" + json.dumps(["command", command]))
        closing = await ws.receive()
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 1009
    assert await version(server, gid) == before


async def test_a_flood_of_commands_is_rate_limited(room: tuple[str, Any, Any],
                                                   server: TestServer) -> None:
    gid, alice, _ = room
    before = await version(server, gid)
    answers = await asyncio.gather(*(send(alice, gid, "chat.send", text=f"spam {n}")
                                     for n in range(80)))
    codes = ["ok" if a["ok"] else a["error"]["code"] for a in answers]
    accepted = codes.count("ok")
    assert set(codes) == {"ok", "rate_limited"}
    assert 20 <= accepted <= 50, codes
    # refused ones changed nothing: exactly the accepted ones were posted
    assert await version(server, gid) == before + accepted
    posted = [e for e in await event_log(server, gid) if e.type == "chat.posted"]
    assert len(posted) == accepted


async def test_connecting_without_a_session_is_refused(server: TestServer) -> None:
    base = str(server.make_url("/"))
    for cookie in ({}, {"Cookie": "forum_session=not-a-session"}):
        client = socketio.AsyncClient(reconnection=False)
        reasons: list[Any] = []
        client.on("connect_error", reasons.append)
        try:
            with pytest.raises(socketio.exceptions.ConnectionError):
                await client.connect(base, headers=cookie, transports=["websocket"],
                                     wait_timeout=WAIT)
        finally:
            await client.disconnect()
        assert reasons == [{"message": "unauthenticated"}]
        assert not client.connected
    assert connected_sids(server) == set()


async def test_a_foreign_origin_is_refused(server: TestServer, sessions: async_sessionmaker,
                                           world: World, settings: Settings) -> None:
    token = await start_session(sessions, world.alice.id, days=1)
    base = str(server.make_url("/"))
    cookie = {"Cookie": f"forum_session={token}"}
    for origin in ("https://evil.example.org", "http://127.0.0.1:1"):
        client = socketio.AsyncClient(reconnection=False)
        try:
            with pytest.raises(socketio.exceptions.ConnectionError):
                await client.connect(base, headers={**cookie, "Origin": origin},
                                     transports=["websocket"], wait_timeout=WAIT)
        finally:
            await client.disconnect()
    assert connected_sids(server) == set()
    # the configured origin is welcome
    client = socketio.AsyncClient(reconnection=False)
    try:
        await client.connect(base, headers={**cookie, "Origin": settings.origin},
                             transports=["websocket"], wait_timeout=WAIT)
        assert client.connected
        answer = await client.call("command", {"id": "o1", "type": "room.join",
                                               "gathering": world.gathering.id}, timeout=WAIT)
        assert answer["ok"] is True
    finally:
        await client.disconnect()


async def test_a_hostile_name_travels_as_data(world: World, connect: Connect,
                                              sessions: async_sessionmaker,
                                              server: TestServer) -> None:
    mallory = await add_participant(sessions, world.theme, "mallory@example.org", HOSTILE)
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    seen = watch_presence(frida)
    await send(frida, gid, "room.join")
    await send(frida, gid, "room.open")

    client = await connect(mallory)
    joined = await send(client, gid, "room.join")
    assert joined["snapshot"]["you"]["name"] == HOSTILE
    assert HOSTILE in [p["name"] for p in joined["snapshot"]["presence"]]
    script = "<script>alert('chat')</script>"
    posted = await send(client, gid, "chat.send", text=script)
    assert (await send(client, gid, "hand.raise"))["ok"]

    got = await events_after(frida, joined["version"] - 1, posted["version"] + 1)
    arrived, chat, hand = got
    assert arrived["data"]["name"] == HOSTILE
    assert chat["data"]["name"] == HOSTILE and chat["data"]["text"] == script
    assert hand["data"]["name"] == HOSTILE
    await eventually(lambda: any(e["data"].get("name") == HOSTILE
                                 for e in presence_entries(seen)))
    snapshot = (await send(frida, gid, "room.sync", since=10_000))["snapshot"]
    assert snapshot["hands"][0]["name"] == HOSTILE
    assert snapshot["chat"][-1] == {"person_id": mallory.id, "name": HOSTILE,
                                    "municipality": None, "text": script,
                                    "at": chat["data"]["at"]}
    assert all(m["gathering"] == gid for m in received(frida))


DEEP = "[" * 1000 + "]" * 1000  # 2 KB: once enough to make the JSON decoder give up


@contextlib.asynccontextmanager
async def raw_socket(server: TestServer, sessions: async_sessionmaker, person: Person,
                     connect: str = "40") -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A websocket speaking Engine.IO/Socket.IO by hand, signed in as `person`, after the
    Socket.IO `connect` frame (`connect`) has been sent."""
    token = await start_session(sessions, person.id, days=1)
    url = server.make_url("/socket.io/").with_query(EIO="4", transport="websocket")
    async with aiohttp.ClientSession() as http, http.ws_connect(
        url, headers={"Cookie": f"{SESSION_COOKIE}={token}"}
    ) as ws:
        assert (await ws.receive_str()).startswith("0")  # the Engine.IO handshake
        await ws.send_str(connect)
        yield ws


async def ack_of(ws: aiohttp.ClientWebSocketResponse, ack_id: int) -> dict[str, Any]:
    """The answer in the Socket.IO ack `43<ack_id>[answer]`, skipping anything else."""
    while True:
        frame = await asyncio.wait_for(ws.receive_str(), WAIT)
        if frame.startswith(f"43{ack_id}["):
            answer: dict[str, Any] = json.loads(frame[2 + len(str(ack_id)):])[0]
            return answer



def nesting_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if "nested deeper than" in record.getMessage()]


@pytest.mark.parametrize("event", ["command", "reaction", "note.subscribe"])
async def test_a_message_nested_a_thousand_levels_deep_is_answered_invalid_format(
        event: str, world: World, sessions: async_sessionmaker, server: TestServer,
        caplog: pytest.LogCaptureFixture) -> None:
    gid = world.gathering.id
    before = await version(server, gid)
    async with raw_socket(server, sessions, world.alice) as ws:
        assert (await ws.receive_str()).startswith("40")
        await ws.send_str(f'421["{event}",{{"gathering":"{gid}","deep":{DEEP}}}]')
        answer = await ack_of(ws, 1)
        assert answer["ok"] is False
        assert answer["error"] == {"code": "invalid_format", "message": "nested too deeply"}
        # the connection lives on, and answers the next message as usual
        await ws.send_str(f'422["command",{{"id":"n2","type":"room.join","gathering":"{gid}"}}]')
        assert (await ack_of(ws, 2))["ok"] is True
    assert len(nesting_lines(caplog)) == 1
    assert tracebacks(caplog) == []
    assert await version(server, gid) == before + 1  # only the join


async def test_a_deeply_nested_message_without_an_event_name_is_dropped_with_one_line(
        world: World, sessions: async_sessionmaker, server: TestServer,
        caplog: pytest.LogCaptureFixture) -> None:
    """No event to answer through: Socket.IO drops it, as any message without a name."""
    gid = world.gathering.id
    async with raw_socket(server, sessions, world.alice) as ws:
        assert (await ws.receive_str()).startswith("40")
        await ws.send_str("421" + DEEP)
        await ws.send_str(f'422["command",{{"id":"n3","type":"room.join","gathering":"{gid}"}}]')
        assert (await ack_of(ws, 2))["ok"] is True
    assert len(nesting_lines(caplog)) == 1
    assert tracebacks(caplog) == []


async def test_a_connect_with_deeply_nested_auth_is_refused_invalid_format(
        world: World, sessions: async_sessionmaker, server: TestServer,
        caplog: pytest.LogCaptureFixture) -> None:
    async with raw_socket(server, sessions, world.alice, connect='40{"a":' + DEEP + "}") as ws:
        assert await ws.receive_str() == '44{"message":"invalid_format"}'
    assert connected_sids(server) == set()
    assert len(nesting_lines(caplog)) == 1
    assert tracebacks(caplog) == []


async def test_brackets_inside_text_are_not_nesting(room: tuple[str, Any, Any],
                                                    server: TestServer,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    gid, alice, _ = room
    text = "[{" * (CHAT_MAX_CHARS // 2)
    assert (await send(alice, gid, "chat.send", text=text))["ok"] is True
    assert (await event_log(server, gid))[-1].data["text"] == text
    assert nesting_lines(caplog) == []


@pytest.mark.parametrize("frame", ["4hello", '42["command"', "4" + DEEP, "42[1,2]x"])
async def test_a_frame_socket_io_cannot_read_is_dropped_with_one_line(
        frame: str, world: World, sessions: async_sessionmaker, server: TestServer,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="server.sockets.server")
    gid = world.gathering.id
    async with raw_socket(server, sessions, world.alice) as ws:
        assert (await ws.receive_str()).startswith("40")
        await ws.send_str(frame)
        await ws.send_str(frame)
        # the connection lives on, and answers the next message as usual
        await ws.send_str(f'422["command",{{"id":"n4","type":"room.join","gathering":"{gid}"}}]')
        assert (await ack_of(ws, 2))["ok"] is True
    assert tracebacks(caplog) == []
    dropped = [r for r in caplog.records if "socket.io cannot read" in r.getMessage()]
    assert [r.levelno for r in dropped] == [logging.INFO, logging.DEBUG]
