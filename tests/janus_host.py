"""A real Janus (Debian's janus 1.1) for tests and benchmarks, started from deploy/janus/.

Janus 1.1 never gathers ICE candidates on a loopback interface, so each instance runs in a
network namespace of its own, joined to the host by a veth pair with a /30 from the
benchmarking range 198.18.0.0/15 that never leaves the machine: Janus listens (HTTP API and
media) on the namespace's side, local peers gather on the host's side (`host_address`).

    with running_janus(tmp_path) as janus:
        session = await JanusSession.open(http, janus.url, janus.secret)

Needs root (namespaces, veth) and iproute2: `janus_missing_reason()` says what is missing."""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent.parent / "deploy" / "janus"
BENCHMARK_RANGE = ipaddress.IPv4Network("198.18.0.0/15")
SLOTS = BENCHMARK_RANGE.num_addresses // 4  # /30 subnets in the range
NETNS_PREFIX = "kfjanus-"
HTTP_PORT = 8088  # janus.transport.http.jcfg; one namespace each, so they never clash
RTP_PORTS = "20000-20999"
#: seconds for Janus to answer `info` after it is started (a busy machine, see tests/conftest)
START_WAIT = 120.0
#: seconds for Janus to end after SIGTERM before it gets SIGKILL
STOP_WAIT = 10.0
#: serialises choosing a subnet between the processes of this machine
LOCK_PATH = Path("/tmp/klimasats-janus-net.lock")

_instances = itertools.count()


class JanusStartError(RuntimeError):
    """Janus did not start or did not answer in time; the message ends with its log."""


@dataclass(frozen=True)
class JanusHost:
    """One running Janus. `host_address` is where local peers (aiortc, Chromium) must gather
    for Janus to reach them; `process` is `ip netns exec ... janus`, which is Janus itself."""

    url: str
    secret: str
    host_address: str
    janus_address: str
    log_path: Path
    netns: str
    process: subprocess.Popen[bytes] = field(repr=False, compare=False)


def janus_missing_reason() -> str | None:
    """Why Janus cannot run here, or None. Installs Debian's janus when missing (as root)."""
    if os.geteuid() != 0:
        return "root (for Janus's network namespace)"
    if shutil.which("ip") is None:
        return "iproute2 (ip, for Janus's network namespace)"
    if shutil.which("janus") is None and shutil.which("apt-get"):
        _apt_install("janus", "janus-tools")
    if shutil.which("janus") is None:
        return "Janus (janus)"
    return None


def _apt_install(*packages: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", *packages]
    if subprocess.run(install, check=False, capture_output=True, env=env,
                      timeout=300).returncode != 0:  # stale package lists
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True, env=env,
                       timeout=300)
        subprocess.run(install, check=False, capture_output=True, env=env, timeout=300)


@contextlib.contextmanager
def running_janus(workdir: Path, *, index: int | None = None, event_loops: int = 2,
                  secret: str | None = None) -> Iterator[JanusHost]:
    """Janus in a namespace of its own, answering `info`; killed and its namespace deleted
    after (also when it fails to start). `index` picks the /30 (0 to 32767) to try first;
    by default one derived from the process id; a /30 the host already uses is skipped.
    `secret`: its API secret (random by default; several instances of one deployment share
    one)."""
    _reap_stale_namespaces()
    number = next(_instances)
    netns = f"{NETNS_PREFIX}{os.getpid()}-{number}"
    host_if, ns_if = _veth_pair(netns)
    process: subprocess.Popen[bytes] | None = None
    try:
        subnet = _make_network(netns, host_if, ns_if, index if index is not None
                               else os.getpid() * 16 + number)
        host_address, janus_address = (str(address) for address in subnet.hosts())
        secret = secret or secrets.token_urlsafe(24)
        _render_config(workdir, janus_address, event_loops)
        log_path = workdir / "janus.log"
        process = _start(netns, workdir, janus_address, secret, log_path)
        host = JanusHost(f"http://{janus_address}:{HTTP_PORT}/janus", secret, host_address,
                         janus_address, log_path, netns, process)
        _wait_until_answering(host)
        yield host
    finally:
        if process is not None:
            _stop(process)
        _delete_network(netns, host_if)


def pause(host: JanusHost) -> None:
    """Janus stops answering anything (API and media) but keeps its sockets: a hung server.
    Returns once every thread has stopped: SIGSTOP alone returns before that, and under load
    Janus was seen answering a request sent right after it."""
    host.process.send_signal(signal.SIGSTOP)
    deadline = time.monotonic() + STOP_WAIT
    while not _all_threads_stopped(host.process.pid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"janus {host.process.pid} did not stop within {STOP_WAIT} s")
        time.sleep(0.01)


def resume(host: JanusHost) -> None:
    host.process.send_signal(signal.SIGCONT)


def _all_threads_stopped(pid: int) -> bool:
    states = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        with contextlib.suppress(OSError):  # a thread that just ended
            states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
    return bool(states) and all(state == "T" for state in states)


def kill(host: JanusHost) -> None:
    """Janus dies at once, as in a crash; the context still cleans up after it."""
    host.process.kill()
    host.process.wait()


def janus_api(host: JanusHost, message: dict[str, object], *, secret: str | None = None,
              timeout: float = 5.0) -> dict[str, object]:
    """Janus's answer to one API request (`{"janus": "create"}`, ...) at the root path, sent
    with the host's API secret unless another is given. (`info` answers without a secret.)"""
    request = {**message, "transaction": secrets.token_hex(6),
               "apisecret": host.secret if secret is None else secret}
    with urllib.request.urlopen(urllib.request.Request(
            host.url, data=json.dumps(request).encode(),
            headers={"Content-Type": "application/json"}), timeout=timeout) as response:
        answer: dict[str, object] = json.load(response)
    return answer


def _veth_pair(netns: str) -> tuple[str, str]:
    """The host's and the namespace's end: `kfj<pid>h<n>`, `kfj<pid>n<n>` (at most 14
    characters; Linux allows 15)."""
    pid, number = netns.removeprefix(NETNS_PREFIX).split("-")
    return f"kfj{pid}h{number}", f"kfj{pid}n{number}"


def _ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    command = ["ip", *args] if netns is None else ["ip", "netns", "exec", netns, "ip", *args]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise JanusStartError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout


def _make_network(netns: str, host_if: str, ns_if: str,
                  first_slot: int) -> ipaddress.IPv4Network:
    """The namespace, its veth pair and a /30 no other interface of the host is in."""
    _ip("netns", "add", netns)
    _ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
    _ip("link", "set", ns_if, "netns", netns)
    with LOCK_PATH.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subnet = _free_subnet(first_slot)
        host_address, janus_address = (str(address) for address in subnet.hosts())
        _ip("addr", "add", f"{host_address}/30", "dev", host_if)
    _ip("link", "set", host_if, "up")
    _ip("addr", "add", f"{janus_address}/30", "dev", ns_if, netns=netns)
    _ip("link", "set", ns_if, "up", netns=netns)
    _ip("link", "set", "lo", "up", netns=netns)
    return subnet


def _free_subnet(first_slot: int) -> ipaddress.IPv4Network:
    used = _host_networks()
    for step in range(SLOTS):
        slot = (first_slot + step) % SLOTS
        subnet = ipaddress.IPv4Network(
            (int(BENCHMARK_RANGE.network_address) + 4 * slot, 30))
        if not any(subnet.overlaps(network) for network in used):
            return subnet
    raise JanusStartError("no free /30 left in 198.18.0.0/15")


def _host_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network the host's interfaces are in (`ip -br addr`)."""
    networks = []
    for word in _ip("-br", "addr").split():
        with contextlib.suppress(ValueError):
            interface = ipaddress.ip_interface(word)
            if isinstance(interface, ipaddress.IPv4Interface):
                networks.append(interface.network)
    return networks


def _render_config(workdir: Path, janus_address: str, event_loops: int) -> None:
    """The repository's configuration with the HTTP API on the namespace's address and
    `event_loops` set (Janus 1.1 has no command-line option for it)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for source in CONFIG_DIR.glob("*.jcfg"):
        (workdir / source.name).write_text(source.read_text())
    _replace_setting(workdir / "janus.jcfg", "event_loops", str(event_loops))
    _replace_setting(workdir / "janus.transport.http.jcfg", "ip", f'"{janus_address}"')


def _replace_setting(path: Path, name: str, value: str) -> None:
    text, count = re.subn(rf"^(\s*){name} = .*$", rf"\g<1>{name} = {value}", path.read_text(),
                          count=1, flags=re.MULTILINE)
    if count != 1:
        raise JanusStartError(f"{path.name} has no `{name} = ...` line to set")
    path.write_text(text)


def _start(netns: str, workdir: Path, janus_address: str, secret: str,
           log_path: Path) -> subprocess.Popen[bytes]:
    command = ["ip", "netns", "exec", netns, "janus", "--configs-folder", str(workdir),
               "--apisecret", secret, "--rtp-port-range", RTP_PORTS,
               "--interface", janus_address, "--disable-colors"]
    with log_path.open("wb") as log:  # stdout and stderr: also what comes before its logger
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, cwd=workdir)


def _wait_until_answering(host: JanusHost) -> None:
    deadline = time.monotonic() + START_WAIT
    while True:
        if host.process.poll() is not None:
            raise JanusStartError(f"janus exited with {host.process.returncode}\n"
                                  + _log_tail(host.log_path))
        with contextlib.suppress(OSError, ValueError):
            if janus_api(host, {"janus": "info"}, timeout=2.0).get("janus") == "server_info":
                _check_configuration_read(host)
                return
        if time.monotonic() > deadline:
            raise JanusStartError(f"janus did not answer at {host.url} within {START_WAIT} s\n"
                                  + _log_tail(host.log_path))
        time.sleep(0.1)


def _check_configuration_read(host: JanusHost) -> None:
    """Janus 1.1 that cannot parse janus.jcfg goes on with its defaults (every plugin, no
    event loops): refuse that instead of testing against something else."""
    if "Error reading/parsing the configuration file" in host.log_path.read_text(
            errors="replace"):
        raise JanusStartError("janus could not read its configuration\n"
                              + _log_tail(host.log_path))


def _log_tail(log_path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGCONT)  # a paused Janus would never act on SIGTERM
    process.terminate()
    try:
        process.wait(STOP_WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _delete_network(netns: str, host_if: str) -> None:
    """Deleting the host's end of the veth deletes both ends at once; the namespace then
    goes with its last process."""
    _ip("link", "del", host_if, check=False)
    _ip("netns", "del", netns, check=False)


def _reap_stale_namespaces() -> None:
    """Namespaces (and their Janus) left by a test process that was killed outright."""
    for line in _ip("netns", "list").splitlines():
        name = line.split()[0] if line.split() else ""
        owner = re.fullmatch(rf"{NETNS_PREFIX}(\d+)-\d+", name)
        if owner is None or _alive(int(owner.group(1))):
            continue
        for pid in _ip("netns", "pids", name, check=False).split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        _delete_network(name, _veth_pair(name)[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
