"""Join storm and chat fan-out: this forum against a bare python-socketio server and a bare
Node socket.io 4.8 server, in the same run, driven by the same Node socket.io clients.

    .venv/bin/python bench/storm.py --clients 100 300 1000

For each N, one after another (never two servers at once), each on 127.0.0.1 on a free port:
1. this forum: `forum serve` (one process) on a fresh SQLite database in a temporary
   directory, migrated, the programme's themes added, N participants and one facilitator
   enrolled in one theme and invited through the project's own functions (`rooms.roster.
   enrol`, `rooms.accounts.create_invitation`, as `forum invite` does) and a gathering
   scheduled (`rooms.schedule.create_gathering`); the clients sign in with their links as a
   browser does (the form and its CSRF token), the facilitator opens the gathering
   (`room.open`) and posts the chat;
2. bench/bare_python.py: python-socketio on aiohttp, websocket compression off, GC
   threshold raised;
3. bench/node/bare-server.js: socket.io 4.8, perMessageDeflate off.
Each is driven by bench/node/clients.js: N socket.io-client connections (websocket only)
connect at once and send `room.join`; "all joined" is the time from the first connect to
the last join answer. Then one sender posts `--messages` chat messages at `--rate` a second
and every client records each delivery's latency. The server's CPU (utime + stime,
/proc/<pid>/stat) during the chat is divided by the deliveries; its memory (VmRSS,
/proc/<pid>/status) after everyone joined, less the memory just before the storm, is given
per 1,000 connections. `--repeat R` runs everything R times and prints medians.

Needs Node ≥ 20; the first run installs bench/node's locked packages (`npm ci`). A
measurement, never a test: nothing here fails on a time. Only 127.0.0.1 is contacted."""

from __future__ import annotations

import argparse
import asyncio
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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ensure_node_packages() -> None:
    if shutil.which("node") is None:
        raise SystemExit("bench/storm.py needs Node.js (>= 20) for its clients")
    if not (NODE_DIR / "node_modules" / "socket.io-client").is_dir():
        print("installing bench/node's locked packages (npm ci)", file=sys.stderr)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=NODE_DIR, check=True)


def start(kind: str, port: int, tmp: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env["PYTHONUNBUFFERED"] = "1"
    if kind == "forum":
        env.update(DATABASE_URL=f"sqlite:///{tmp}/forum.db", HOST="127.0.0.1", PORT=str(port),
                   SECRET_KEY="bench-storm-secret", RECORDINGS_DIR=str(tmp / "recordings"),
                   PUBLIC_URL="")
        command = [sys.executable, "-m", "server.cli", "serve"]
    elif kind == "python":
        command = [sys.executable, str(ROOT / "bench" / "bare_python.py"), "--port", str(port)]
    else:
        command = ["node", str(NODE_DIR / "bare-server.js"), "--port", str(port)]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def run_one(kind: str, clients: int, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"storm-{kind}-") as name:
        tmp = Path(name)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        extra: list[str] = ["--mode", "bare"]
        if kind == "forum":
            started = time.perf_counter()
            seeded = asyncio.run(seed(f"sqlite:///{tmp}/forum.db", clients))
            print(f"  seeded the forum with {clients} invited participants in "
                  f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
            tokens = tmp / "tokens.json"
            tokens.write_text(json.dumps(seeded))
            extra = ["--mode", "forum", "--gathering", seeded["gathering"],
                     "--tokens", str(tokens)]
        log = tmp / "server.log"
        server = start(kind, port, tmp, log)
        try:
            wait_healthy(server, url, log)
            command = ["node", str(NODE_DIR / "clients.js"), "--url", url, *extra,
                       "--clients", str(clients), "--messages", str(args.messages),
                       "--rate", str(args.rate), "--pid", str(server.pid),
                       "--clk-tck", str(os.sysconf("SC_CLK_TCK"))]
            done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, timeout=1800,
                                  check=False)
            if done.returncode != 0 or not done.stdout.strip():
                raise SystemExit(f"clients.js failed ({done.returncode}) against {kind}; "
                                 f"server log:\n{tail(log)}")
            result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
        finally:
            stop(server)
        result["server"] = kind
        if args.logs:
            Path(args.logs).mkdir(parents=True, exist_ok=True)
            shutil.copy(log, Path(args.logs) / f"{kind}-{clients}-{time.time_ns()}.log")
        result["server_log_errors"] = sum(
            1 for line in log.read_text(errors="replace").splitlines()
            if "Traceback" in line or " ERROR " in line or line.startswith("ERROR"))
        return result


FIGURES = ("all_joined_s", "fanout_p50_ms", "fanout_p99_ms", "cpu_per_delivery_us",
           "mib_per_1000", "signin_s", "joined", "deliveries", "expected", "ack_failures",
           "join_failures", "connect_failures", "server_cpu_storm_s")


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    merged = dict(runs[-1])
    for key in FIGURES:
        values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
        merged[key] = statistics.median(values) if values else None
    return merged


def cell(value: Any, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def table(clients: int, results: dict[str, dict[str, Any]], repeat: int) -> str:
    kinds = [k for k in SERVERS if k in results]
    lines = [f"| N = {clients:,} | " + " | ".join(SERVERS[k] for k in kinds) + " |",
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
    problems = {k: r for k, r in results.items()
                if r["join_failures"] or r["connect_failures"] or r["ack_failures"]}
    for kind, r in problems.items():
        lines.append(f"\n{SERVERS[kind]}: {r['connect_failures']:.0f} connects and "
                     f"{r['join_failures']:.0f} joins failed, {r['ack_failures']:.0f} chat "
                     f"messages refused; e.g. {r['failure_examples'] or r['ack_examples']}")
    for kind, r in results.items():
        if r.get("server_log_errors"):
            lines.append(f"\n{SERVERS[kind]}: {r['server_log_errors']} errors in its log")
    if "forum" in results:
        lines.append(f"\n(this server: signing in {clients:,} by their links took "
                     f"{results['forum']['signin_s']:.1f} s before the storm, not counted)")
    if repeat > 1:
        lines.append(f"(each figure the median of {repeat} repetitions)")
    return "\n".join(lines)


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
    args = parser.parse_args()
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
