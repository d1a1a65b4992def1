"""A client of the Janus API over plain HTTP (Janus 1.1, its `janus.transport.http`).

Only the forum's workers talk to Janus: browsers never see its address or its API secret.
One `JanusSession` per Janus instance per worker; it long-polls the session's events (which
also keeps the session alive) and hands each one to the handle it names. A handle is one
plugin attachment (one publisher or one subscriber of the VideoRoom).

    session = await JanusSession.open(http, "http://198.18.0.2:8088/janus", secret)
    handle = await session.attach("janus.plugin.videoroom")
    data = await handle.request({"request": "create", ...})           # synchronous request
    data, jsep = await handle.message({"request": "join", ...}, jsep)  # answered by an event

When the long poll fails `POLL_FAILURES` times in a row, or keepalives go unanswered (a
stalled Janus holds the long poll open), the instance counts as gone: `on_lost` is called
once and every waiting request fails with `JanusGone`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from rooms.tasks import stop

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 10.0  # seconds for one API request, or for the event that answers it
OPEN_TIMEOUT = 5.0  # seconds for a new session: a stage waits for it
POLL_WAIT = 30.0  # Janus answers a long poll with a keepalive after 30 s of nothing
POLL_FAILURES = 3  # failed polls in a row after which the instance is gone
POLL_RETRY = 0.5  # seconds between failed polls
MAX_EVENTS = 50  # events per long poll
#: a stalled Janus keeps the long poll open, so the session is also asked to stay alive
#: every KEEPALIVE_EVERY s; KEEPALIVE_FAILURES unanswered in a row and the instance is gone
KEEPALIVE_EVERY = 3.0
KEEPALIVE_TIMEOUT = 2.0
KEEPALIVE_FAILURES = 2

Json = dict[str, Any]


class JanusError(Exception):
    """Janus (or its plugin) refused a request: `code` is Janus's error code."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class JanusGone(Exception):
    """The Janus instance does not answer (any more)."""


class JanusHandle:
    """One attachment to a plugin. `on_event(event)` gets what Janus sends on its own
    (`hangup`, `webrtcup`, `media`, a plugin event nobody waits for)."""

    def __init__(self, session: JanusSession, handle_id: int) -> None:
        self.session = session
        self.id = handle_id
        self.on_event: Callable[[Json], Awaitable[None]] | None = None
        self.waiting: dict[str, asyncio.Future[Json]] = {}

    @property
    def path(self) -> str:
        return f"/{self.session.id}/{self.id}"

    async def request(self, body: Json) -> Json:
        """A synchronous plugin request (create, destroy, kick, list...): its data."""
        answer = await self.session.post(self.path, {"janus": "message", "body": body})
        return _plugin_data(answer)

    async def message(self, body: Json, jsep: Json | None = None) -> tuple[Json, Json | None]:
        """An asynchronous plugin request (join, configure, start...): the data and the
        JSEP of the event that answers it."""
        transaction = _transaction()
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self.waiting[transaction] = future
        try:
            message: Json = {"janus": "message", "body": body}
            if jsep is not None:
                message["jsep"] = jsep
            answer = await self.session.post(self.path, message, transaction)
            if answer.get("janus") != "ack":  # answered at once
                return _plugin_data(answer), answer.get("jsep")
            event = await asyncio.wait_for(future, REQUEST_TIMEOUT)
            return _plugin_data(event), event.get("jsep")
        except TimeoutError:
            raise JanusGone(f"no answer to {body.get('request')!r}") from None
        finally:
            self.waiting.pop(transaction, None)

    async def trickle_done(self) -> None:
        """No more candidates from the browser (they were all in its SDP)."""
        await self.session.post(self.path, {"janus": "trickle",
                                            "candidate": {"completed": True}})

    async def detach(self) -> None:
        self.session.handles.pop(self.id, None)
        with contextlib.suppress(JanusError, JanusGone):
            await self.session.post(self.path, {"janus": "detach"})

    def deliver(self, event: Json) -> None:
        future = self.waiting.get(event.get("transaction", ""))
        if future is not None and not future.done() and event.get("janus") == "event":
            future.set_result(event)
        elif self.on_event is not None:
            self.session.spawn(self.on_event(event))

    def fail(self, error: BaseException) -> None:
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(error)


class JanusSession:
    """One session on one Janus instance, with its event long poll."""

    def __init__(self, http: aiohttp.ClientSession, url: str, secret: str | None) -> None:
        self.http = http
        self.url = url.rstrip("/")
        self.secret = secret
        self.id = 0
        self.handles: dict[int, JanusHandle] = {}
        self.on_lost: Callable[[], Awaitable[None]] | None = None
        self.lost = False
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, url: str,
                   secret: str | None) -> JanusSession:
        session = cls(http, url, secret)
        answer = await session.post("", {"janus": "create"}, wait=OPEN_TIMEOUT)
        session.id = int(answer["data"]["id"])
        session.spawn(session._poll_events())
        session.spawn(session._keep_alive())
        return session

    async def post(self, path: str, message: Json, transaction: str | None = None,
                   wait: float = REQUEST_TIMEOUT) -> Json:
        if self.lost:
            raise JanusGone(self.url)
        message = {**message, "transaction": transaction or _transaction()}
        if self.secret:
            message["apisecret"] = self.secret
        try:
            async with self.http.post(self.url + path, json=message,
                                      timeout=aiohttp.ClientTimeout(total=wait)) as r:
                answer: Json = await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise JanusGone(f"{self.url}: {error}") from error
        if answer.get("janus") == "error":
            refusal = answer.get("error", {})
            raise JanusError(int(refusal.get("code", 0)), str(refusal.get("reason", "")))
        return answer

    async def attach(self, plugin: str = "janus.plugin.videoroom") -> JanusHandle:
        answer = await self.post(f"/{self.id}", {"janus": "attach", "plugin": plugin})
        handle = JanusHandle(self, int(answer["data"]["id"]))
        self.handles[handle.id] = handle
        return handle

    async def _poll_events(self) -> None:
        params = {"maxev": str(MAX_EVENTS), **({"apisecret": self.secret} if self.secret else {})}
        failures = 0
        timeout = aiohttp.ClientTimeout(total=POLL_WAIT + REQUEST_TIMEOUT)
        while failures < POLL_FAILURES:
            try:
                async with self.http.get(f"{self.url}/{self.id}", params=params,
                                         timeout=timeout) as response:
                    answer = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                failures += 1
                log.warning("janus %s: event poll failed (%s)", self.url, error)
                await asyncio.sleep(POLL_RETRY)
                continue
            if isinstance(answer, dict) and answer.get("janus") == "error":
                failures = POLL_FAILURES  # the session is gone (Janus restarted)
                break
            failures = 0
            for event in answer if isinstance(answer, list) else [answer]:
                self._deliver(event)
        await self._lose()

    async def _keep_alive(self) -> None:
        failures = 0
        while failures < KEEPALIVE_FAILURES:
            await asyncio.sleep(KEEPALIVE_EVERY)
            try:
                await self.post(f"/{self.id}", {"janus": "keepalive"},
                                wait=KEEPALIVE_TIMEOUT)
                failures = 0
            except JanusGone:
                failures += 1
            except JanusError:
                failures = KEEPALIVE_FAILURES  # the session is gone (Janus restarted)
        await self._lose()

    def _deliver(self, event: Json) -> None:
        handle = self.handles.get(int(event.get("sender") or 0))
        if handle is not None:
            handle.deliver(event)

    async def _lose(self) -> None:
        if self.lost:
            return
        self.lost = True
        log.warning("janus %s does not answer: its stages move", self.url)
        for task in self._tasks:  # the other watcher, and handlers of its last events
            if task is not asyncio.current_task():
                task.cancel()
        for handle in list(self.handles.values()):
            handle.fail(JanusGone(self.url))
        if self.on_lost is not None:
            await self.on_lost()

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        self.on_lost = None
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                await stop(task)
        if not self.lost:
            with contextlib.suppress(JanusError, JanusGone):
                await self.post(f"/{self.id}", {"janus": "destroy"})
        self.lost = True


def _transaction() -> str:
    return secrets.token_hex(8)


def _plugin_data(answer: Json) -> Json:
    """The plugin's answer inside a Janus message; a plugin-level error raises."""
    data: Json = answer.get("plugindata", {}).get("data", {})
    if "error_code" in data or "error" in data:
        raise JanusError(int(data.get("error_code", 0)), str(data.get("error", "")))
    return data


