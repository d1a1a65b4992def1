"""A bare python-socketio server on aiohttp: the reference the forum's fan-out is measured
against (bench/storm.py), doing what bench/node/bare-server.js does.

    .venv/bin/python bench/bare_python.py --port 8091

It speaks the forum's envelope and nothing more: a `command` event with an ack; `room.join`
puts the connection in the gathering's room and answers a tiny snapshot; `chat.send` fans a
`chat.posted` event out to the room as the forum's `event`. No database, no sign-in, no
presence, no rate limits. Websocket only, with the same tuning as `forum serve`: websocket
compression off (the extension offer hidden from engine.io, as server/app.py does), the
cyclic GC's threshold raised after start-up and uvloop's event loop where it is installed
(as server/cli/main.py does). Listens on 127.0.0.1 only; GET /healthz answers 200."""

from __future__ import annotations

import argparse
import gc
import importlib.util
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def no_websocket_compression(request: web.Request, handler: Handler) -> web.StreamResponse:
    """engine.io's aiohttp driver has no switch for permessage-deflate: hide the offer."""
    if request.path.startswith("/socket.io/") and "Sec-WebSocket-Extensions" in request.headers:
        headers = request.headers.copy()
        del headers["Sec-WebSocket-Extensions"]
        request = request.clone(headers=headers)
    return await handler(request)


def create_app() -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", transports=["websocket"],
                               cors_allowed_origins="*", max_http_buffer_size=65536)
    app = web.Application(middlewares=[no_websocket_compression])
    sio.attach(app)
    versions: dict[str, int] = {}

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app.router.add_get("/healthz", healthz)

    @sio.on("command")
    async def command(sid: str, message: Any) -> dict[str, Any]:
        if not isinstance(message, dict) or not isinstance(message.get("gathering"), str):
            return {"ok": False, "error": {"code": "invalid_format", "message": "not a command"}}
        gathering: str = message["gathering"]
        room = f"gathering:{gathering}"
        if message.get("type") == "room.join":
            await sio.enter_room(sid, room)
            version = versions.get(gathering, 0)
            return {"ok": True, "version": version,
                    "snapshot": {"gathering": gathering, "version": version, "phase": "live"}}
        if message.get("type") == "chat.send" and isinstance(message.get("text"), str):
            version = versions[gathering] = versions.get(gathering, 0) + 1
            await sio.emit("event", {
                "gathering": gathering, "version": version, "type": "chat.posted",
                "data": {"person_id": 0, "name": "Bench", "municipality": "",
                         "text": message["text"].strip(), "at": time.time()},
            }, room=room)
            return {"ok": True, "version": version}
        return {"ok": False, "error": {"code": "unknown_command",
                                       "message": str(message.get("type"))}}

    return app


def uvloop_loop() -> Any:
    """uvloop's event loop where it is installed, as `forum serve` runs; None: asyncio's."""
    if importlib.util.find_spec("uvloop") is None:
        return None
    import uvloop

    return uvloop.new_event_loop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    args = parser.parse_args()
    app = create_app()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    web.run_app(app, host=args.host, port=args.port, access_log=None, loop=uvloop_loop(),
                print=lambda message: print(message, flush=True))


if __name__ == "__main__":
    main()
