"""Join storm and chat fan-out: this forum against a bare python-socketio server and a bare
Node socket.io 4.8 server, in the same run, driven by the same Node socket.io clients.

    .venv/bin/python bench/storm.py --clients 100 300 1000
    .venv/bin/python bench/storm.py --clients 1000 --workers 2 --database postgresql

For each N, one after another (never two servers at once), each on 127.0.0.1 on a free port:
1. this forum: `forum serve` (one process, or `--workers K`) on a fresh database (SQLite in
   a temporary directory, or `--database postgresql`), migrated, the programme's themes
   added, N participants and one facilitator enrolled in one theme and invited through the
   project's own functions (`rooms.roster.enrol`, `rooms.accounts.create_invitation`, as
   `forum invite` does) and a gathering
   scheduled (`rooms.schedule.create_gathering`); the clients sign in with their links as a
   browser does (the form and its CSRF token), the facilitator opens the gathering
   (`room.open`) and posts the chat;
2. bench/bare_python.py: python-socketio on aiohttp, websocket compression off, GC
   threshold raised;
3. bench/node/bare-server.js: socket.io 4.8, perMessageDeflate off.
Each is driven by bench/node/clients.js: N socket.io-client connections (websocket only)
connect at once and send `room.join`; "all joined" is the time from the first connect to
the last join answer. Then one sender posts `--messages` chat messages at `--rate` a second
and every client records each delivery's latency (in an `event`, or in an `events` batch);
"delivered / expected" counts each message once per client whose join was answered ok, and
when some are missing the table says which clients and messages. The server's CPU (utime + stime,
/proc/<pid>/stat) during the chat is divided by the deliveries; its memory (VmRSS,
/proc/<pid>/status) after everyone joined, less the memory just before the storm, is given
per 1,000 connections. `--repeat R` runs everything R times and prints medians.

This forum's set-up (the bare servers are always one process each, without a database):
- `--database postgresql`: each run gets its own database on the local PostgreSQL
  (`--postgres`, default postgresql://postgres@127.0.0.1:5432/postgres, trust auth),
  `CREATE DATABASE storm_<random>` before the seeding and `DROP DATABASE ... WITH (FORCE)`
  after the run; `forum serve` gets it as DATABASE_URL.
- `--workers K`: K `forum serve` processes on the same database and the same Redis
  (`--redis-url`, default redis://127.0.0.1:6379/0), each on its own port, with a
  REDIS_PREFIX of their own (storm-<random>: the socket.io channel and every key), whose
  keys are deleted after the run. Client i signs in at and connects to worker i % K; the
  chat's sender is on worker 0, so for the other workers' clients the fan-out crosses
  Redis. The fan-out counts every client, and is given apart for worker 0's clients and
  the others'; CPU and memory are summed over the K processes (Redis' and PostgreSQL's
  own processes are not counted). `--redis` puts a single worker on Redis too.
- `--profile DIR` samples worker 0 alone during the join storm; the file's name says so
  (e.g. forum-300-worker0of2-postgresql.txt).

Needs Node ≥ 20; the first run installs bench/node's locked packages (`npm ci`). A
measurement, never a test: nothing here fails on a time. Only 127.0.0.1 is contacted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError
from yarl import URL

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "bench" / "node"
sys.path.insert(0, str(ROOT))

from facilitation import Role  # noqa: E402
from rooms.accounts import create_invitation  # noqa: E402
from rooms.db import create_engine, sessionmaker  # noqa: E402
from rooms.migrate import upgrade  # noqa: E402
from rooms.programme import ensure_programme  # noqa: E402
from rooms.roster import enrol  # noqa: E402
from rooms.schedule import create_gathering, template_minutes  # noqa: E402

SERVERS = {"forum": "this server", "python": "bare python-socketio",
           "node": "bare Node socket.io"}
THEME = "mat"
MUNICIPALITIES = 40  # the participants are spread over this many municipalities
METRICS_TOKEN = "bench-storm-metrics"  # the forum's /metrics, for its event loop's lag


async def seed(database_url: str, clients: int) -> dict[str, Any]:
    """A new forum: N participants and a facilitator invited to one theme, one gathering."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        sessions = sessionmaker(engine)
        async with sessions() as session:
            themes, _ = await ensure_programme(session)
            theme_id = int(themes[THEME].id)  # flushed: the id is there before the commit
            await session.commit()
        facilitator = await enrol(sessions, theme_slug=THEME, role=Role.FACILITATOR,
                                  email="fasilitator@bench.example.org", name="Frida Fasilitator")
        tokens = []
        for i in range(clients):
            person = await enrol(sessions, theme_slug=THEME, role=Role.PARTICIPANT,
                                 email=f"deltaker{i}@bench.example.org", name=f"Deltaker {i}",
                                 municipality=f"Benchvik {i % MUNICIPALITIES} kommune",
                                 new_municipality=True)
            tokens.append(await create_invitation(sessions, person.id, days=1))
        gathering = await create_gathering(
            sessions, None, theme_id=theme_id, number=1, title="Storm",
            starts_local=datetime.now().replace(second=0, microsecond=0) + timedelta(hours=1),
            minutes=template_minutes("standard"), template="standard")
        return {"gathering": gathering.id,
                "sender": await create_invitation(sessions, facilitator.id, days=1),
                "participants": tokens}
    finally:
        await engine.dispose()


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1, all different (each probe held until all are chosen)."""
    with contextlib.ExitStack() as held:
        probes = [held.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


@dataclass(frozen=True)
class Setup:
    """How this forum runs: its database, how many worker processes, and Redis or not."""
    database: str = "sqlite"
    workers: int = 1
    redis: bool = False
    postgres: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    redis_url: str = "redis://127.0.0.1:6379/0"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Setup:
        return cls(database=args.database, workers=args.workers,
                   redis=args.redis or args.workers > 1, postgres=args.postgres,
                   redis_url=args.redis_url)

    def describe(self) -> str:
        """E.g. "2 workers, PostgreSQL, Redis"."""
        parts = ["one process" if self.workers == 1 else f"{self.workers} workers",
                 "PostgreSQL" if self.database == "postgresql" else "SQLite"]
        return ", ".join(parts + (["Redis"] if self.redis else []))

    def tag(self, worker: int = 0) -> str:
        """For file names: "" as by default, else e.g. "-worker0of2-postgresql"."""
        parts = [f"worker{worker}of{self.workers}"] if self.workers > 1 else []
        if self.database != "sqlite":
            parts.append(self.database)
        if self.redis and self.workers == 1:
            parts.append("redis")
        return "".join(f"-{part}" for part in parts)


async def postgres_admin(url: str, statement: str) -> None:
    try:
        connection = await asyncpg.connect(url, timeout=10)
    except (OSError, asyncpg.PostgresError) as error:
        raise SystemExit(f"--database postgresql: cannot connect to {url}: {error}") from error
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.contextmanager
def fresh_database(setup: Setup, tmp: Path) -> Iterator[str]:
    """The forum's database URL for one run: a file in tmp, or a new PostgreSQL database,
    dropped afterwards."""
    if setup.database == "sqlite":
        yield f"sqlite:///{tmp}/forum.db"
        return
    name = f"storm_{uuid.uuid4().hex[:12]}"
    asyncio.run(postgres_admin(setup.postgres, f'CREATE DATABASE "{name}"'))
    try:
        yield str(URL(setup.postgres).with_path(f"/{name}"))
    finally:
        asyncio.run(postgres_admin(setup.postgres,
                                   f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def redis_keys(url: str, prefix: str, *, delete: bool) -> None:
    """Check that Redis answers; with delete, remove every key under prefix."""
    redis = Redis.from_url(url)
    try:
        await redis.ping()
        if delete:
            keys = [key async for key in redis.scan_iter(f"{prefix}:*", count=1000)]
            if keys:
                await redis.delete(*keys)
    except (OSError, RedisError) as error:
        raise SystemExit(f"Redis at {url}: {error}") from error
    finally:
        await redis.aclose()


@contextlib.contextmanager
def redis_prefix(setup: Setup) -> Iterator[str | None]:
    """This run's REDIS_PREFIX (its socket.io channel and keys), the keys deleted after the
    run; None without Redis."""
    if not setup.redis:
        yield None
        return
    prefix = f"storm-{uuid.uuid4().hex[:12]}"
    asyncio.run(redis_keys(setup.redis_url, prefix, delete=False))
    try:
        yield prefix
    finally:
        asyncio.run(redis_keys(setup.redis_url, prefix, delete=True))


def wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise SystemExit(f"server at {url} not healthy after 60 s:\n{tail(log)}")


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def stop(process: subprocess.Popen[bytes], how: signal.Signals = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def profile(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling the forum's process until stopped (during the join storm): collapsed
    stacks, one per line with its count (flamegraph.pl's input; bench/top_frames.py sums
    them)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--format", "raw", "--rate",
                             "250", "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ensure_node_packages() -> None:
    if shutil.which("node") is None:
        raise SystemExit("bench/storm.py needs Node.js (>= 20) for its clients")
    if not (NODE_DIR / "node_modules" / "socket.io-client").is_dir():
        print("installing bench/node's locked packages (npm ci)", file=sys.stderr)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=NODE_DIR, check=True)


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path


def start(kind: str, port: int, log: Path, forum: dict[str, str]) -> subprocess.Popen[bytes]:
    """One server process; forum: `forum serve`'s settings (but its port)."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"REDIS_URL", "REDIS_PREFIX", "DATABASE_URL"}}
    env["PYTHONUNBUFFERED"] = "1"
    if kind == "forum":
        env.update(forum, PORT=str(port))
        command = [sys.executable, "-m", "server.cli", "serve"]
    elif kind == "python":
        command = [sys.executable, str(ROOT / "bench" / "bare_python.py"), "--port", str(port)]
    else:
        command = ["node", str(NODE_DIR / "bare-server.js"), "--port", str(port)]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


@contextlib.contextmanager
def serving(kind: str, workers: int, tmp: Path, forum: dict[str, str]) -> Iterator[list[Server]]:
    """`workers` processes of one kind, each on its own port, healthy; all stopped after."""
    servers: list[Server] = []
    try:
        for worker, port in enumerate(free_ports(workers)):
            log = tmp / (f"server-{worker}.log" if workers > 1 else "server.log")
            servers.append(Server(start(kind, port, log, forum), f"http://127.0.0.1:{port}", log))
        for server in servers:
            wait_healthy(server.process, server.url, server.log)
        yield servers
    finally:
        for server in servers:  # all told at once, then each awaited
            if server.process.poll() is None:
                server.process.send_signal(signal.SIGTERM)
        for server in servers:
            stop(server.process)


def forum_settings(database_url: str, tmp: Path, prefix: str | None,
                   setup: Setup) -> dict[str, str]:
    settings = dict(DATABASE_URL=database_url, HOST="127.0.0.1",
                    SECRET_KEY="bench-storm-secret", RECORDINGS_DIR=str(tmp / "recordings"),
                    PUBLIC_URL="", METRICS_TOKEN=METRICS_TOKEN)
    if prefix is not None:
        settings.update(REDIS_URL=setup.redis_url, REDIS_PREFIX=prefix)
    return settings


def seed_forum(database_url: str, clients: int, tmp: Path) -> list[str]:
    """The forum seeded for N clients; clients.js's arguments to sign them in."""
    started = time.perf_counter()
    seeded = asyncio.run(seed(database_url, clients))
    print(f"  seeded the forum with {clients} invited participants in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    tokens = tmp / "tokens.json"
    tokens.write_text(json.dumps(seeded))
    return ["--mode", "forum", "--gathering", seeded["gathering"], "--tokens", str(tokens)]


def log_errors(log: Path) -> int:
    """How many tracebacks and ERROR lines a server's log holds."""
    return sum(1 for line in log.read_text(errors="replace").splitlines()
               if "Traceback" in line or " ERROR " in line or line.startswith("ERROR"))


def drive(command: list[str], storm_begins: Callable[[], None],
          storm_ends: Callable[[], None], begin: str = "] signed in ",
          end: str = "] joined ") -> subprocess.CompletedProcess[bytes]:
    """Run a Node client script, its progress passed on to our stderr; told when the part to
    measure begins (a progress line holding `begin`: clients.js's all signed in) and when it
    ends (`end`: all joined), so a profile covers it alone. Stopped with us if we are."""
    clients = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        assert clients.stderr is not None and clients.stdout is not None
        for raw in clients.stderr:
            line = raw.decode(errors="replace")
            sys.stderr.write(line)
            if begin in line:
                storm_begins()
            elif end in line:
                storm_ends()
        stdout = clients.stdout.read()
        clients.wait(timeout=1800)
    finally:
        if clients.poll() is None:
            clients.kill()
            clients.wait()
        for pipe in (clients.stdout, clients.stderr):
            if pipe is not None:
                pipe.close()
    return subprocess.CompletedProcess(command, clients.returncode, stdout)


def run_one(kind: str, clients: int, args: argparse.Namespace) -> dict[str, Any]:
    setup: Setup = args.setup if kind == "forum" else Setup()
    with tempfile.TemporaryDirectory(prefix=f"storm-{kind}-") as name:
        tmp = Path(name)
        with contextlib.ExitStack() as running:  # closed in reverse: servers, Redis, database
            extra: list[str] = ["--mode", "bare"]
            forum: dict[str, str] = {}
            if kind == "forum":
                database_url = running.enter_context(fresh_database(setup, tmp))
                prefix = running.enter_context(redis_prefix(setup))
                extra = seed_forum(database_url, clients, tmp)
                forum = forum_settings(database_url, tmp, prefix, setup)
            servers = running.enter_context(serving(kind, setup.workers, tmp, forum))
            result = measure(kind, clients, servers, extra, args, setup)
        logs = [server.log for server in servers]
        if args.logs:
            Path(args.logs).mkdir(parents=True, exist_ok=True)
            for worker, log in enumerate(logs):
                shutil.copy(log, Path(args.logs) /
                            f"{kind}-{clients}{setup.tag(worker)}-{time.time_ns()}.log")
        result["server_log_errors"] = sum(map(log_errors, logs))
        forum_run = kind == "forum"
        result.update(server=kind, setup=setup.describe() if forum_run else "one process",
                      workers=setup.workers, database=setup.database if forum_run else None,
                      redis=setup.redis)
        return result


def measure(kind: str, clients: int, servers: list[Server], extra: list[str],
            args: argparse.Namespace, setup: Setup) -> dict[str, Any]:
    """clients.js against the running servers (client i on server i % K); its figures."""
    command = ["node", str(NODE_DIR / "clients.js"),
               "--url", ",".join(server.url for server in servers), *extra,
               "--clients", str(clients), "--messages", str(args.messages),
               "--rate", str(args.rate),
               "--pid", ",".join(str(server.process.pid) for server in servers),
               "--clk-tck", str(os.sysconf("SC_CLK_TCK"))]
    out = Path(args.profile or ".") / f"forum-{clients}{setup.tag(0)}.txt"  # worker 0 alone
    profiler: list[subprocess.Popen[bytes]] = []

    lags: list[list[Lags]] = []  # at the storm's start, its end, the chat's end

    def scrape_lags() -> None:
        if kind == "forum":
            lags.append([loop_lags(server.url) for server in servers])

    def storm_begins() -> None:
        scrape_lags()
        if args.profile and kind == "forum":
            profiler.append(profile(servers[0].process.pid, out))

    def storm_ends() -> None:
        for spy in profiler:
            stop(spy, signal.SIGINT)
        profiler.clear()
        scrape_lags()

    try:
        done = drive(command, storm_begins, storm_ends)
    finally:
        for spy in profiler:
            stop(spy, signal.SIGINT)
    scrape_lags()
    if done.returncode != 0 or not done.stdout.strip():
        logs = "\n".join(f"--- {server.log.name}:\n{tail(server.log)}" for server in servers)
        raise SystemExit(f"clients.js failed ({done.returncode}) against {kind}; "
                         f"server logs:\n{logs}")
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    if len(lags) == 3:
        storm, chat = lag_figures(lags[0], lags[1]), lag_figures(lags[1], lags[2])
        result.update(lag_storm_p99_ms=storm[0], lag_storm_max_ms=storm[1],
                      lag_chat_p99_ms=chat[0], lag_chat_max_ms=chat[1],
                      lag_max_ms=max(1000 * lag.longest for lag in lags[2]))
    return result


@dataclass(frozen=True)
class Lags:
    """A worker's event-loop lag figures as /metrics gives them at one moment: the histogram's
    cumulative bucket counts by upper bound, and the longest lag since it started."""

    buckets: dict[float, float]
    longest: float


def loop_lags(url: str) -> Lags:
    request = urllib.request.Request(f"{url}/metrics",
                                     headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read().decode()
    buckets, longest = {}, 0.0
    for line in text.splitlines():
        if line.startswith("forum_event_loop_lag_seconds_bucket{"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float(bound)] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("forum_event_loop_lag_max_seconds "):
            longest = float(line.rsplit(" ", 1)[1])
    return Lags(buckets, longest)


def lag_figures(before: list[Lags], after: list[Lags]) -> tuple[float | None, float | None]:
    """Between two scrapes, over all workers: the loop lag's p99 and its largest value, each
    as the upper bound of the histogram bucket it fell in (ms; inf: over the last bound)."""
    counts: dict[float, float] = {}
    for start, end in zip(before, after, strict=True):
        for bound, count in end.buckets.items():
            counts[bound] = counts.get(bound, 0.0) + count - start.buckets.get(bound, 0.0)
    bounds = sorted(counts)
    total = counts[bounds[-1]] if bounds else 0.0
    if not total:
        return None, None
    p99 = next(b for b in bounds if counts[b] >= 0.99 * total)
    largest = next(b for b in bounds if counts[b] >= total)
    return 1000 * p99, 1000 * largest


FIGURES = ("lag_storm_p99_ms", "lag_storm_max_ms", "lag_chat_p99_ms", "lag_chat_max_ms",
           "lag_max_ms", "all_joined_s", "fanout_p50_ms", "fanout_p99_ms", "cpu_per_delivery_us",
           "mib_per_1000", "signin_s", "joined", "deliveries", "expected", "ack_failures",
           "join_failures", "connect_failures", "server_cpu_storm_s", "fanout_local_p50_ms",
           "fanout_local_p99_ms", "fanout_remote_p50_ms", "fanout_remote_p99_ms",
           "deliveries_unjoined")


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    merged = dict(runs[-1])
    for key in FIGURES:
        values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
        merged[key] = statistics.median(values) if values else None
    return merged


def cell(value: Any, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def title(clients: int, results: dict[str, dict[str, Any]]) -> str:
    """E.g. "N = 1,000 · this server: 2 workers, PostgreSQL, Redis"."""
    forum = results.get("forum")
    return f"N = {clients:,}" + (f" · {SERVERS['forum']}: {forum['setup']}" if forum else "")


def table(clients: int, results: dict[str, dict[str, Any]], repeat: int) -> str:
    kinds = [k for k in SERVERS if k in results]
    bare = "" if kinds == ["forum"] else "; bare servers: one process each, no database"
    lines = [f"| {title(clients, results)}{bare} | "
             + " | ".join(SERVERS[k] for k in kinds) + " |",
             "| --- | " + " | ".join("---" for _ in kinds) + " |"]

    def row(label: str, show: Any) -> None:
        lines.append(f"| {label} | " + " | ".join(show(results[k]) for k in kinds) + " |")

    row(f"all {clients:,} joined (first connect → last `room.join` answer), s",
        lambda r: cell(r["all_joined_s"], 2))
    row("chat fan-out p50 / p99, ms",
        lambda r: f"{cell(r['fanout_p50_ms'], 0)} / {cell(r['fanout_p99_ms'], 0)}")
    row("server CPU per delivered event, µs", lambda r: cell(r["cpu_per_delivery_us"], 0))
    row("server memory per 1,000 connected above idle, MiB",
        lambda r: cell(r["mib_per_1000"], 0))
    row("delivered / expected", lambda r: f"{r['deliveries']:.0f} / {r['expected']:.0f}")
    row("server CPU during the storm, s", lambda r: cell(r["server_cpu_storm_s"], 2))
    if "forum" in results:
        lines.append(f"\n(this server's event loop lag, sampled every 50 ms: p99 / largest "
                     f"during the storm ≤ {lag(results['forum'], 'storm')} ms, during the "
                     f"chat ≤ {lag(results['forum'], 'chat')} ms (histogram bucket bounds); "
                     f"the longest since the start, sign-in included, "
                     f"{cell(results['forum'].get('lag_max_ms'), 0)} ms)")
    problems = {k: r for k, r in results.items()
                if r["join_failures"] or r["connect_failures"] or r["ack_failures"]}
    for kind, r in problems.items():
        lines.append(f"\n{SERVERS[kind]}: {r['connect_failures']:.0f} connects and "
                     f"{r['join_failures']:.0f} joins failed, {r['ack_failures']:.0f} chat "
                     f"messages refused; e.g. {r['failure_examples'] or r['ack_examples']}")
    for kind, r in results.items():
        if r["deliveries"] < r["expected"]:
            lines.append(f"\n{SERVERS[kind]}: {r['expected'] - r['deliveries']:.0f} deliveries "
                         f"missed: {r['clients_short']} clients got fewer than all "
                         f"([client, got] e.g. {r['clients_short_examples']}), "
                         f"{r['messages_short']} messages reached fewer than all "
                         f"([message, reached] e.g. {r['messages_short_examples']})")
        if r.get("deliveries_unjoined"):
            lines.append(f"\n{SERVERS[kind]}: {r['deliveries_unjoined']:.0f} chat deliveries "
                         "reached connections whose room.join was refused (not counted)")
        if r.get("server_log_errors"):
            lines.append(f"\n{SERVERS[kind]}: {r['server_log_errors']} errors in its log")
    if "forum" in results:
        lines.extend(forum_notes(clients, results["forum"]))
    if repeat > 1:
        lines.append(f"(each figure the median of {repeat} repetitions)")
    return "\n".join(lines)


def lag(r: dict[str, Any], phase: str) -> str:
    return f"{cell(r.get(f'lag_{phase}_p99_ms'), 0)} / {cell(r.get(f'lag_{phase}_max_ms'), 0)}"


def forum_notes(clients: int, r: dict[str, Any]) -> list[str]:
    others = [name for name, used in (("PostgreSQL's", r["database"] == "postgresql"),
                                       ("Redis'", r["redis"])) if used]
    uncounted = f"{' and '.join(others)} own CPU and memory not counted" if others else ""
    notes = [f"\n(this server: signing in {clients:,} by their links took "
             f"{r['signin_s']:.1f} s before the storm, not counted)"]
    if r["workers"] > 1:
        notes.append(
            f"(this server: clients spread evenly over its {r['workers']} workers, the sender "
            f"on worker 0; fan-out p50 / p99 to worker 0's clients "
            f"{cell(r['fanout_local_p50_ms'], 0)} / {cell(r['fanout_local_p99_ms'], 0)} ms, "
            f"to the other workers' through Redis {cell(r['fanout_remote_p50_ms'], 0)} / "
            f"{cell(r['fanout_remote_p99_ms'], 0)} ms; CPU and memory summed over the "
            f"{r['workers']} processes; {uncounted})")
    elif uncounted:
        notes.append(f"(this server: {uncounted})")
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100],
                        help="numbers of clients, one run each (default 100)")
    parser.add_argument("--messages", type=int, default=100,
                        help="chat messages per run (default 100)")
    parser.add_argument("--rate", type=float, default=10.0,
                        help="chat messages a second (default 10)")
    parser.add_argument("--servers", nargs="+", choices=list(SERVERS), default=list(SERVERS),
                        help="which servers (default all three)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="repetitions of each run; the table shows medians")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures here")
    parser.add_argument("--logs", metavar="DIR", help="keep each server's log in this folder")
    parser.add_argument("--profile", metavar="DIR",
                        help="sample this server (its worker 0) with py-spy (pip install "
                             "py-spy) during the join storm into DIR")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite",
                        help="this server's database (default sqlite); postgresql: a fresh "
                             "database on --postgres for each run, dropped after it")
    parser.add_argument("--workers", type=int, default=1,
                        help="this server's `forum serve` processes, sharing the database and "
                             "Redis (default 1)")
    parser.add_argument("--redis", action="store_true",
                        help="one worker on Redis too (more than one always is)")
    parser.add_argument("--postgres", metavar="URL", default=Setup.postgres,
                        help=f"PostgreSQL to create the databases in (default {Setup.postgres})")
    parser.add_argument("--redis-url", metavar="URL", default=Setup.redis_url,
                        help=f"Redis for several workers (default {Setup.redis_url}); each run "
                             "uses a prefix of its own, deleted after it")
    args = parser.parse_args()
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    args.setup = Setup.from_args(args)
    # stopped: the workers, the PostgreSQL database and the Redis keys are cleaned up still
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    ensure_node_packages()
    everything: list[dict[str, Any]] = []
    tables = []
    for clients in args.clients:
        results: dict[str, dict[str, Any]] = {}
        for kind in args.servers:
            runs = []
            for repetition in range(args.repeat):
                print(f"N={clients}: {SERVERS[kind]} (run {repetition + 1}/{args.repeat})",
                      file=sys.stderr)
                runs.append(run_one(kind, clients, args))
                everything.append(runs[-1])
            results[kind] = median_of(runs)
        tables.append(table(clients, results, args.repeat))
        print(tables[-1] + "\n", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=2))
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{os.cpu_count()} cores; {args.messages} chat messages at {args.rate:g}/s per run; "
          f"python {sys.version.split()[0]}, node {node}")


if __name__ == "__main__":
    main()
