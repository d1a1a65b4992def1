"""The socket.io bus: python-socketio's Redis manager carries every broadcast between the
worker processes. This module knows when that bus is down and tells the people connected
to this worker.

Events are stored before they are broadcast (rooms/live.py), so a lost broadcast is only
late news: a client asks `room.sync` when it sees a version gap. But while Redis is down no
gap shows until a broadcast gets through again, which may be the whole outage. So:

- down: a publish fails, the listener loses its subscription, or the ping (every second)
  fails or stays unanswered. This worker's sockets get `bus` `{"state": "down"}`. What
  this worker broadcasts still reaches its own sockets (python-socketio delivers to them
  before it publishes); it is not published while the bus is down.
- up: the ping answers and the listener has subscribed again. This worker's sockets get
  `bus` `{"state": "up"}`: they may have missed what the others broadcast meanwhile, and
  catch up with `room.sync`. Each worker tells its own sockets, so every client hears it.
  A worker that held back broadcasts sends its `up` over the bus to every worker's
  sockets instead: the others may have told theirs before it was back, and their
  clients would not ask again for what it held back.

The outage is logged as one story, the process's one for Redis (rooms/faults.py), which
the worker heartbeat reports to as well; whether the bus is down, though, is the watcher's
own view: what clients are told follows the bus, not the heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import socketio

from rooms.faults import Fault
from rooms.tasks import running, stop

log = logging.getLogger(__name__)

PING_EVERY = 1.0  # seconds; the worker heartbeat (every WORKER_TTL/3 = 5 s) is too slow
BUS_TIMEOUT = 5.0  # seconds a ping or a publish may take before the bus counts as down
LISTEN_RETRY = 1.0  # seconds between the listener's attempts to subscribe again
BUS_EVENT = "bus"

Tell = Callable[[str, bool], Awaitable[None]]  # (state, to every worker's sockets)


class BusWatcher:
    """This worker's view of the bus: down or up, and who must hear about it."""

    def __init__(self, ping: Callable[[], Awaitable[Any]], tell: Tell,
                 fault: Fault | None = None) -> None:
        self.ping = ping
        self.tell = tell
        self.fault = fault or Fault("Redis", log)
        self.down = False
        self.deaf = False  # the listener lost its subscription and has not got it back
        self.held_back = False  # broadcasts of ours the other workers never got

    async def failed(self, exc: BaseException, *, deaf: bool = False) -> None:
        self.deaf = self.deaf or deaf
        self.fault.failed(exc)
        if not self.down:
            self.down = True
            await self.tell("down", False)

    async def subscribed(self) -> None:
        self.deaf = False
        await self._back()

    def hold_back(self) -> None:
        self.held_back = True

    async def check(self) -> None:
        try:
            async with asyncio.timeout(BUS_TIMEOUT):
                await self.ping()
        except Exception as exc:  # Redis away, or too slow to count on
            await self.failed(exc)
            return
        if not self.deaf:
            await self._back()

    async def _back(self) -> None:
        if not self.down:
            return
        self.down = False
        self.fault.recovered()
        everyone, self.held_back = self.held_back, False
        await self.tell("up", everyone)

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """While serving: ping the bus every second."""
        async with running(self._run()):
            yield

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(PING_EVERY)
            await self.check()


class BusManager(socketio.AsyncRedisManager):
    """python-socketio's Redis manager, reporting to a watcher. The library's own logs each
    failed broadcast and gives up, telling nobody, and its listener waits up to a minute
    between attempts to subscribe again; this one reports both, tries again every second,
    and publishes nothing while the bus is down."""

    def __init__(self, url: str, channel: str, fault: Fault | None = None) -> None:
        super().__init__(url, channel=channel)
        self.watcher = BusWatcher(self._ping, self._tell, fault)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """While serving: the watcher. At the stop the listener stops too (python-socketio
        leaves it running, to log each failed attempt once the Redis is gone)."""
        async with self.watcher.watching():
            yield
        listener = getattr(self, "thread", None)  # started with the first connection
        if listener is not None:
            await stop(listener)

    def _client(self) -> Any:
        if not self.connected:  # once: the client's pool reconnects by itself
            self._redis_connect()
        return self.redis

    async def _ping(self) -> None:
        await self._client().ping()

    async def _tell(self, state: str, everyone: bool) -> None:
        await self.server.emit(BUS_EVENT, {"state": state}, ignore_queue=not everyone)

    async def _publish(self, data: Any) -> None:
        if self.watcher.down:
            self.watcher.hold_back()
            return
        try:
            async with asyncio.timeout(BUS_TIMEOUT):
                await self._client().publish(self.channel, self.json.dumps(data))
        except Exception as exc:  # the message is lost for the others: see the module doc
            self.watcher.hold_back()
            await self.watcher.failed(exc)

    async def disconnect_room(self, room: str, namespace: str = "/") -> None:
        """Close every connection in `room` on every worker: python-socketio's own
        `disconnect` message, naming a room instead of a sid (its sids are not known here)."""
        message = {"method": "disconnect", "sid": None, "room": room, "namespace": namespace,
                   "host_id": self.host_id}
        await self._handle_disconnect(message)  # ours
        await self._publish(message)  # the other workers'

    async def _handle_disconnect(self, message: dict[str, Any]) -> None:
        room = message.get("room")
        if room is None:
            await super()._handle_disconnect(message)
        else:
            await disconnect_here(self.server, room, message.get("namespace") or "/")

    async def _listen(self) -> AsyncIterator[Any]:
        channel = self.channel.encode("utf-8")
        while True:
            pubsub = self._client().pubsub()
            try:
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    if message["type"] == "subscribe":  # confirmed: we hear what comes next
                        await self.watcher.subscribed()
                    elif message["type"] == "message" and message["channel"] == channel:
                        yield message["data"]
            except Exception as exc:
                await self.watcher.failed(exc, deaf=True)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(LISTEN_RETRY)


async def disconnect_here(sio: socketio.AsyncServer, room: str, namespace: str = "/") -> None:
    """Close this worker's connections in `room` (their close hooks run as for any close)."""
    for sid, _ in list(sio.manager.get_participants(namespace, room)):
        with contextlib.suppress(Exception):  # one that fails leaves the others to close
            await sio.disconnect(sid, namespace=namespace, ignore_queue=True)


async def disconnect_everywhere(sio: socketio.AsyncServer, room: str) -> None:
    """Close every connection in `room`, on every worker (one worker: its own)."""
    if isinstance(sio.manager, BusManager):
        await sio.manager.disconnect_room(room)
    else:
        await disconnect_here(sio, room)
