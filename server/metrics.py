"""`/metrics` in Prometheus' text format: this app's own figures, in a registry of its own
(never prometheus-client's global one, so tests that build many apps do not clash).

The instrumentation is thin, each an observer the measured part calls without knowing of
Prometheus: the socket gate (server/sockets/gate.py) for every message's type, outcome
and latency; the layer's `after_publish` hooks for the events broadcast; the notes socket
handler for shared-notes updates; the command path (rooms/live.py `LiveRooms.db_time`) for
the time a command spends in the store. The connected gauge reads the layer's connections
when scraped; the loop-lag task (`loop_lag`) runs with the app's other background tasks.

The page is off (404) until METRICS_TOKEN is set; then a scrape needs
`Authorization: Bearer <token>` (401 otherwise)."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from server.keys import SETTINGS
from server.sockets.protocol import COMMANDS as COMMAND_SPECS

# the classic text format, which every Prometheus reads (our names need none of 1.0.0's escaping)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# seconds the loop-lag task sleeps; how late it wakes is the lag. Short, so that a stall of
# 50 ms is seen whenever it happens (twenty cheap wake-ups a second)
LAG_INTERVAL = 0.05
# error codes that are the server's failure, not the sender's message (the rest: rejected)
SERVER_ERRORS = frozenset({"internal", "unavailable"})
# seconds: a command answered from memory in well under a millisecond, a loaded commit in
# a second or more
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0)
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
               2.5)


class Metrics:
    """One app's metrics and their registry."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.connected = Gauge(
            "forum_connected_sockets", "Socket connections signed in on this worker.",
            registry=registry)
        self.commands = Counter(
            "forum_commands", "Socket messages answered, by command (or event) type and "
            "outcome: ok, rejected (the sender's) or error (the server's).",
            ["type", "outcome"], registry=registry)
        self.latency = Histogram(
            "forum_command_seconds", "From the gate receiving a socket message to its answer.",
            ["type"], buckets=LATENCY_BUCKETS, registry=registry)
        self.events = Counter(
            "forum_events_broadcast", "Gathering events committed and broadcast by this "
            "worker, by event type.", ["type"], registry=registry)
        self.lag = Gauge(
            "forum_event_loop_lag_latest_seconds", "How late the latest timed sleep woke.",
            registry=registry)
        self.lag_max = Gauge(
            "forum_event_loop_lag_max_seconds", "The latest timed sleep that woke latest, "
            "since the worker started: its longest stall.", registry=registry)
        self.longest_lag = 0.0
        self.lags = Histogram(
            "forum_event_loop_lag_seconds", "How late each timed sleep woke.",
            buckets=LAG_BUCKETS, registry=registry)
        self.db_seconds = Histogram(
            "forum_command_db_seconds", "Time a command spent in the store: loading the "
            "gathering's state, its receipt and its commit.", ["type"],
            buckets=LATENCY_BUCKETS, registry=registry)
        self.notes = Counter(
            "forum_note_updates", "Shared-notes updates, accepted (stored and relayed) or "
            "refused.", ["outcome"], registry=registry)

    # the observers the measured parts call

    def answered(self, event: str, data: Any, answer: dict[str, Any], seconds: float) -> None:
        """The gate answered a message of socket event `event`."""
        kind = command_type(event, data)
        self.commands.labels(kind, outcome(answer)).inc()
        self.latency.labels(kind).observe(seconds)

    async def published(self, gathering_id: str, events: list[dict[str, Any]]) -> None:
        """A layer `after_publish` hook: count the events just broadcast."""
        for event in events:
            self.events.labels(str(event.get("type"))).inc()

    def db_time(self, command_type: str, seconds: float) -> None:
        self.db_seconds.labels(command_type).observe(seconds)

    def note_update(self, accepted: bool) -> None:
        self.notes.labels("accepted" if accepted else "refused").inc()

    async def loop_lag(self, every: float = LAG_INTERVAL) -> None:
        """Forever: how late a sleep of `every` seconds wakes."""
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(every)
            late = max(0.0, loop.time() - start - every)
            self.lag.set(late)
            self.lags.observe(late)
            if late > self.longest_lag:
                self.longest_lag = late
                self.lag_max.set(late)

    def text(self) -> bytes:
        return generate_latest(self.registry)


# its key here, not in server/keys.py: that module would import this one, which imports it
METRICS = web.AppKey("metrics", Metrics)


def command_type(event: str, data: Any) -> str:
    """The label of a message: a `command`'s type when it is a known one (the label set
    stays bounded whatever clients send), else the socket event's own name."""
    if event != "command":
        return event
    kind = data.get("type") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) and kind in COMMAND_SPECS else "unknown"


def outcome(answer: dict[str, Any]) -> str:
    if answer.get("ok") is True:
        return "ok"
    error = answer.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return "error" if code in SERVER_ERRORS else "rejected"


async def metrics_page(request: web.Request) -> web.Response:
    token = request.app[SETTINGS].metrics_token
    if not token:
        raise web.HTTPNotFound()
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {token}"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    body = request.app[METRICS].text()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def setup_metrics(app: web.Application) -> Metrics:
    app[METRICS] = metrics = Metrics()
    app.router.add_get("/metrics", metrics_page)
    return metrics

