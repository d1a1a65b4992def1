"""Fan-out benchmark: one `forum serve` on SQLite, N participants, M chat messages.

    .venv/bin/python bench/fanout.py --clients 200 --messages 50

Starts the server in a temporary directory (migrated and seeded with the test helpers),
connects N python-socketio clients as participants and seats them all (room.join), then
the facilitator posts M chat messages at a steady rate. Prints the time to seat everyone,
the per-delivery latency (send to receive, one machine, one clock), delivery counts and
the server's resident memory before and after seating. A measurement, never a test:
nothing here asserts on time. Only 127.0.0.1 is contacted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facilitation import Role  # noqa: E402
from rooms.accounts import start_session  # noqa: E402
from rooms.db import create_engine, sessionmaker  # noqa: E402
from rooms.migrate import upgrade  # noqa: E402
from rooms.models import Membership, Person  # noqa: E402
from server.settings import SESSION_COOKIE  # noqa: E402
from tests.factories import build_world  # noqa: E402

TEXT_PREFIX = "bench"


@dataclass
class Seeded:
    gathering_id: str
    facilitator_token: str
    participant_tokens: list[str]


async def seed(database_url: str, clients: int) -> Seeded:
    """Migrate, build the test world and add `clients` participants with sessions."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        sessions = sessionmaker(engine)
        world = await build_world(sessions)
        async with sessions() as session:
            people = [Person(email=f"deltaker{i}@example.org", name=f"Deltaker {i}",
                             municipality_id=world.alice.municipality_id)
                      for i in range(clients)]
            session.add_all(people)
            await session.flush()
            session.add_all(Membership(person_id=p.id, theme_id=world.theme.id,
                                       role=Role.PARTICIPANT.value) for p in people)
            await session.commit()
        tokens = [await start_session(sessions, p.id, days=1) for p in people]
        facilitator = await start_session(sessions, world.facilitator.id, days=1)
        return Seeded(world.gathering.id, facilitator, tokens)
    finally:
        await engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def start_server(env: dict[str, str], log: Path, profile: str | None) -> subprocess.Popen[bytes]:
    profiling = ["-m", "cProfile", "-o", profile] if profile else []
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, *profiling, "-m", "server.cli", "serve"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


async def wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"server exited with {process.returncode}:\n{tail(log)}")
            try:
                async with http.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit(f"server not healthy after 30 s:\n{tail(log)}")


@dataclass
class Tally:
    """Counts deliveries of benchmark messages; `complete` is set when all are in."""

    expected: int = 0
    delivered: int = 0
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def count(self) -> None:
        self.delivered += 1
        if self.expected and self.delivered >= self.expected:
            self.complete.set()


@dataclass
class Listener:
    """One participant's client; records when each benchmark message arrived."""

    client: socketio.AsyncClient
    tally: Tally | None = None
    arrived: dict[int, float] = field(default_factory=dict)

    def on_event(self, message: dict[str, Any]) -> None:
        if message.get("type") == "chat.posted":
            text = message["data"]["text"]
            if text.startswith(TEXT_PREFIX):
                n = int(text.split()[1])
                if n not in self.arrived:
                    self.arrived[n] = time.perf_counter()
                    if self.tally is not None:
                        self.tally.count()


async def connect(url: str, token: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, headers={"Cookie": f"{SESSION_COOKIE}={token}"},
                         transports=["websocket"], wait_timeout=30)
    return client


async def bounded(calls: Iterable[Awaitable[Any]], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(call: Awaitable[Any]) -> Any:
        async with gate:
            return await call

    return await asyncio.gather(*(one(c) for c in calls))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="forum-bench-") as tmp:
        database_url = f"sqlite:///{tmp}/forum.db"
        started = time.perf_counter()
        seeded = await seed(database_url, args.clients)
        print(f"seeded {args.clients} participants in {time.perf_counter() - started:.1f} s")

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL"}}
        env.update(DATABASE_URL=database_url, HOST="127.0.0.1", PORT=str(port), PUBLIC_URL=url,
                   SECRET_KEY="bench-secret", PYTHONUNBUFFERED="1")
        log = Path(tmp) / "server.log"
        server = start_server(env, log, args.profile)
        listeners: list[Listener] = []
        try:
            await wait_healthy(server, url, log)
            rss_idle = rss_mib(server.pid)
            await measure(args, url, seeded, server.pid, rss_idle, listeners)
        finally:
            await asyncio.gather(*(listener.client.disconnect() for listener in listeners),
                                 return_exceptions=True)
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


async def measure(args: argparse.Namespace, url: str, seeded: Seeded, pid: int,
                  rss_idle: float, listeners: list[Listener]) -> None:
    gid = seeded.gathering_id
    cpu0 = cpu_seconds(pid)
    t0 = time.perf_counter()
    clients = await bounded((connect(url, t) for t in seeded.participant_tokens), 50)
    tally = Tally()
    for client in clients:
        listener = Listener(client, tally)
        client.on("event", listener.on_event)
        listeners.append(listener)
    t_connected = time.perf_counter()

    async def join(client: socketio.AsyncClient, n: int) -> dict[str, Any]:
        message = {"id": f"join-{n}", "type": "room.join", "gathering": gid}
        answer: dict[str, Any] = await client.call("command", message, timeout=60)
        return answer

    answers = await bounded((join(c, n) for n, c in enumerate(clients)), 50)
    t_seated = time.perf_counter()
    refused = [a for a in answers if not a.get("ok")]
    rss_seated = rss_mib(pid)
    cpu_seated = cpu_seconds(pid)

    facilitator = await connect(url, seeded.facilitator_token)
    listeners.append(Listener(facilitator))  # so it is disconnected at the end; not measured
    await facilitator.call("command", {"id": "f-join", "type": "room.join", "gathering": gid})

    sent: dict[int, float] = {}
    acks: list[dict[str, Any]] = []

    async def post(n: int) -> None:
        message = {"id": f"chat-{n}", "type": "chat.send", "gathering": gid,
                   "text": f"{TEXT_PREFIX} {n} – hei fra fasilitator"}
        sent[n] = time.perf_counter()
        acks.append(await facilitator.call("command", message, timeout=30))

    tally.expected = args.messages * len(clients)
    interval = 1 / args.rate
    cpu_start = cpu_seconds(pid)
    start = time.perf_counter()
    posts = []
    for n in range(args.messages):
        await asyncio.sleep(max(0.0, start + n * interval - time.perf_counter()))
        posts.append(asyncio.create_task(post(n)))
    await asyncio.gather(*posts)
    expected = tally.expected
    with contextlib.suppress(TimeoutError):  # a shortfall is reported below
        await asyncio.wait_for(tally.complete.wait(), timeout=15)
    rss_after = rss_mib(pid)
    cpu_messages = cpu_seconds(pid) - cpu_start
    wall_messages = time.perf_counter() - start

    latencies = [(at - sent[n]) * 1000 for listener in listeners[:len(clients)]
                 for n, at in listener.arrived.items()]
    delivered = len(latencies)
    print(f"server: forum serve on SQLite, one process (pid {pid}), 127.0.0.1")
    print(f"clients: {len(clients)} participants + 1 facilitator, python-socketio, websocket")
    print(f"connect all: {t_connected - t0:.2f} s; seat all (room.join acks): "
          f"{t_seated - t_connected:.2f} s; refused joins: {len(refused)}; "
          f"server CPU for both: {cpu_seated - cpu0:.2f} s")
    print(f"messages: {args.messages} at {args.rate:g}/s; acks ok: "
          f"{sum(1 for a in acks if a.get('ok'))}/{args.messages}")
    print(f"deliveries: {delivered}/{expected}; server CPU while sending: {cpu_messages:.2f} s "
          f"in {wall_messages:.1f} s")
    if latencies:
        print(f"latency ms: p50 {statistics.median(latencies):.1f}  "
              f"p99 {percentile(latencies, 0.99):.1f}  max {max(latencies):.1f}")
    print(f"server RSS MiB: idle {rss_idle:.1f}  seated {rss_seated:.1f}  "
          f"after messages {rss_after:.1f}  "
          f"(+{(rss_seated - rss_idle) * 1024 / max(1, len(clients)):.0f} KiB per seated client)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="participants to seat")
    parser.add_argument("--messages", type=int, default=50, help="chat messages to send")
    parser.add_argument("--rate", type=float, default=10.0, help="messages per second")
    parser.add_argument("--profile", metavar="FILE",
                        help="run the server under cProfile and write its stats to FILE")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
