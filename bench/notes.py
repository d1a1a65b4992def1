"""Shared notes at conference scale: N people typing in ONE note at once.

    .venv/bin/python bench/notes.py --editors 10 40 100 [--seconds 20] [--profile DIR]

For each N, one after another: a fresh forum (`forum serve`, one process, SQLite in a
temporary directory) seeded as bench/storm.py does (N participants and a facilitator
invited to one theme, one gathering); bench/node/notes-clients.js signs the N in by their
links as a browser does, subscribes each to the gathering's plenary note and lets each type
--rate keystrokes a second for --seconds, sending as the browser does (one update in
flight per editor; what was typed meanwhile merged into the next). Then the server is
stopped (SIGTERM), started again on the same database, and a fresh client's copy of the
note is compared with the editors' final text: everything acknowledged must be there.

Figures per run: updates sent; propagation p50/p95/p99 (an update's send to its arrival at
each other editor); acknowledgement p50/p95; the server's CPU (/proc/<pid>/stat) per
acknowledged update; its event loop's largest lag (the /metrics histogram, METRICS_TOKEN
set for the run: the bucket it fell in); whether all copies ended identical; whether the
restart kept the text. The clients' own CPU and their event loop's longest delay are shown
too: they share the machine, and a stalled client adds its stall to what it measures.

Needs Node >= 20 (the first run installs bench/node's locked packages). A measurement,
never a test: nothing here fails on a time. Only 127.0.0.1 is contacted."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from storm import (  # noqa: E402
    METRICS_TOKEN,
    NODE_DIR,
    Setup,
    ensure_node_packages,
    forum_settings,
    free_ports,
    log_errors,
    profile,
    seed,
    stop,
    tail,
    wait_healthy,
)
from storm import drive as drive_clients  # noqa: E402
from storm import start as start_server  # noqa: E402

CLIENTS = NODE_DIR / "notes-clients.js"


def ensure_packages() -> None:
    ensure_node_packages()
    if not (NODE_DIR / "node_modules" / "yjs").is_dir():  # installed before yjs was added
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=NODE_DIR, check=True)


def start(port: int, tmp: Path, log: Path) -> subprocess.Popen[bytes]:
    """`forum serve`, one process, on the run's SQLite database, its /metrics on."""
    return start_server("forum", port, log,
                        forum_settings(f"sqlite:///{tmp}/forum.db", tmp, None, Setup()))


def drive(command: list[str], typing_begins: Any, typing_ends: Any) -> dict[str, Any]:
    """Run notes-clients.js (storm.py's `drive`), told when the typing begins and ends, so a
    profile covers the typing alone. Returns its JSON answer."""
    done = drive_clients(command, typing_begins, typing_ends, begin="] typing\n",
                         end="] typed\n")
    stdout = done.stdout.decode()
    if done.returncode != 0 or not stdout.strip():
        raise RuntimeError(f"notes-clients.js failed ({done.returncode})")
    answer: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return answer


def clients_command(url: str, seeded: dict[str, Any], tokens: Path, pid: int,
                    args: argparse.Namespace, mode: str) -> list[str]:
    return ["node", str(CLIENTS), "--mode", mode, "--url", url,
            "--gathering", seeded["gathering"], "--tokens", str(tokens),
            "--editors", str(args.editors_now), "--seconds", str(args.seconds),
            "--rate", str(args.rate), "--pid", str(pid),
            "--clk-tck", str(os.sysconf("SC_CLK_TCK")), "--metrics-token", METRICS_TOKEN]


def run_one(editors: int, args: argparse.Namespace) -> dict[str, Any]:
    args.editors_now = editors
    with tempfile.TemporaryDirectory(prefix="notes-bench-") as name:
        tmp = Path(name)
        seeded = asyncio.run(seed(f"sqlite:///{tmp}/forum.db", editors))
        tokens = tmp / "tokens.json"
        tokens.write_text(json.dumps(seeded))
        [port] = free_ports(1)
        url = f"http://127.0.0.1:{port}"
        log = tmp / "server.log"
        server = start(port, tmp, log)
        spies: list[subprocess.Popen[bytes]] = []
        try:
            wait_healthy(server, url, log)
            out = Path(args.profile or ".") / f"notes-{editors}.txt"

            def begin() -> None:
                if args.profile:
                    spies.append(profile(server.pid, out))

            def end() -> None:
                for spy in spies:
                    stop(spy, signal.SIGINT)

            result = drive(clients_command(url, seeded, tokens, server.pid, args, "type"),
                           begin, end)
        except RuntimeError as exc:
            raise SystemExit(f"{exc}; server log:\n{tail(log)}") from exc
        finally:
            for spy in spies:
                stop(spy, signal.SIGINT)
            stop(server)
        result["after_restart"] = read_after_restart(url, port, seeded, tokens, tmp, args)
        result["durable"] = result["after_restart"]["text"] == result["text"]
        if args.logs:
            Path(args.logs).mkdir(parents=True, exist_ok=True)
            shutil.copy(log, Path(args.logs) / f"server-{editors}-{time.time_ns()}.log")
        result["server_log_errors"] = log_errors(log)
        return result


def read_after_restart(url: str, port: int, seeded: dict[str, Any], tokens: Path, tmp: Path,
                       args: argparse.Namespace) -> dict[str, Any]:
    log = tmp / "server-again.log"
    server = start(port, tmp, log)
    try:
        wait_healthy(server, url, log)
        return drive(clients_command(url, seeded, tokens, server.pid, args, "read"),
                     lambda: None, lambda: None)
    except RuntimeError as exc:
        raise SystemExit(f"{exc}; server log:\n{tail(log)}") from exc
    finally:
        stop(server)


def cell(value: Any, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


HEADER = ("| editors | updates sent (acked) | propagation p50 / p95 / p99, ms | ack p50 / p95, ms "
          "| server CPU per update, ms | server loop lag max, s | all copies identical "
          "| durable after restart | clients' CPU, s / loop delay max, ms |")


def row(r: dict[str, Any]) -> str:
    lag = r["server_loop_lag_max_s"]
    return (f"| {r['editors']} | {r['updates']} ({r['acked']}) | "
            f"{cell(r['propagation_p50_ms'])} / {cell(r['propagation_p95_ms'])} / "
            f"{cell(r['propagation_p99_ms'])} | {cell(r['ack_p50_ms'])} / "
            f"{cell(r['ack_p95_ms'])} | {cell(r['server_cpu_per_update_ms'], 2)} | "
            f"{'–' if lag is None else '≤ ' + lag} | {'yes' if r['identical'] else 'NO'} | "
            f"{'yes' if r['durable'] else 'NO'} | {cell(r['clients_cpu_s'], 1)} / "
            f"{cell(r['clients_loop_delay_max_ms'])} |")


def problems(r: dict[str, Any]) -> list[str]:
    found = []
    if r["refused"]:
        found.append(f"{r['refused']} updates refused, e.g. {r['refused_examples']}")
    if r["deliveries"] < r["expected_deliveries"]:
        found.append(f"{r['deliveries']} of {r['expected_deliveries']} deliveries seen")
    if r["server_log_errors"]:
        found.append(f"{r['server_log_errors']} errors in the server's log")
    if r["may_write"] < r["editors"]:
        found.append(f"only {r['may_write']} editors may write")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--editors", type=int, nargs="+", default=[10, 40, 100],
                        help="numbers of editors, one run each (default 10 40 100)")
    parser.add_argument("--seconds", type=float, default=20, help="typing time (default 20)")
    parser.add_argument("--rate", type=float, default=2,
                        help="keystrokes a second per editor (default 2)")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures here")
    parser.add_argument("--logs", metavar="DIR", help="keep the server's log in this folder")
    parser.add_argument("--profile", metavar="DIR",
                        help="sample the server with py-spy during the typing into DIR")
    args = parser.parse_args()
    ensure_packages()
    results = []
    for editors in args.editors:
        print(f"{editors} editors, {args.seconds:g} s at {args.rate:g} keystrokes/s",
              file=sys.stderr)
        started = time.perf_counter()
        results.append(run_one(editors, args))
        print(f"  done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        print("\n".join([HEADER, "| --- " * 9 + "|", row(results[-1]),
                         *problems(results[-1])]) + "\n", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(
            [{k: v for k, v in r.items() if k != "text"} for r in results], indent=2))
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {args.seconds:g} s of "
          f"typing at {args.rate:g} keystrokes/s per editor; python "
          f"{sys.version.split()[0]}, node {node}")


if __name__ == "__main__":
    main()
