"""Plenary stage benchmark: one publisher, N listeners, through the forum, aiortc or Janus.

    .venv/bin/python bench/stage.py --engine aiortc --listeners 10 25 50 --seconds 10
    .venv/bin/python bench/stage.py --engine janus --listeners 10 25 50 100 200 --seconds 10
    .venv/bin/python bench/stage.py --engine aiortc --listeners 10 25 --record

For each N, one after another: a fresh forum (`forum serve`, one process, SQLite in a
temporary directory, MEDIA_ENGINE set) seeded as bench/storm.py does (N participants and a
facilitator invited to one theme, one gathering); with `--engine janus` one real Janus for
the whole run (tests/janus_host.py: its own network namespace, `event_loops` = cores). Every
person signs in by their invitation link as a browser does and has a socket.io connection of
their own (python-socketio), joined to the gathering (`room.join`); everything goes through
the forum's socket.io (`stage.publish`, `stage.listen`, `stage.answer`), never to Janus.

- The facilitator publishes from this process: aiortc, a moving bar at 640x360 @30 fps (VP8)
  and Opus audio (tests/frames.py, as tests/signaling/test_stage.py's Publisher). The bar
  alone encodes to about 90 kbit/s; `--picture noise` adds a strip of noise that brings the
  video to about 0.9 Mbit/s, near the 800 kbit/s a browser's camera is capped at.
- Two listeners in this process decode (aiortc, as a browser tab): their video fps.
- N-2 light listeners, `--per-process` (default 50) in each client process: ICE and DTLS with
  aiortc as any listener, but every SRTP packet is counted where aioice hands it over
  (`aioice.Connection.data_received`) and dropped there: no SRTP unprotect, no jitter buffer,
  no decode, no RTCP feedback (so no NACK: a lost packet stays lost). The RTP header is in
  clear under SRTP, so the count is per SSRC from its sequence numbers: expected = the span of
  sequence numbers seen, lost = expected - received. A light listener that gets no video
  within 15 s listens again, as a browser would (the table counts these re-listens).

Measured over a steady window of `--seconds`, 2 s after every listener receives video: the
engine's CPU (Janus's process from /proc/<pid>/stat; with aiortc the engine is the forum
worker), the forum worker's own CPU, the decoding listeners' fps, the light listeners' packet
loss, and how many receive. Also: seconds from the first `stage.listen` until all receive, and
the clients' CPU (they share the 2 cores with the server: see the load line).

`--record` (aiortc only): after the window, the facilitator spotlights herself, consents and
records (`recording.start`, the recorder taps the stage's decoded frames), and a second window
is measured; then `recording.stop`. (The stand-alone recording line of the earlier version of
this benchmark is gone: bench/recording.py measures a recording alone.)

A measurement, never a test: nothing here fails on a time. Only 127.0.0.1 and Janus's
namespace are contacted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import aioice.ice  # noqa: E402
from storm import Setup, forum_settings, free_ports, log_errors, seed, tail, wait_healthy  # noqa: E402
from storm import start as start_server  # noqa: E402
from storm import stop as stop_server  # noqa: E402

GOAL = ("with Janus, 200 listeners under one core for the engine, and the forum worker's own "
        "CPU flat in the number of listeners")
WIDTH, HEIGHT = 640, 360
DECODING = 2
RELISTENS, RELISTEN_AFTER = 5, 15.0
NOISE_ROWS = 18  # about 0.9 Mbit/s of SRTP video (measured)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def gather_on(address: str) -> None:
    """aiortc peers in this process gather on `address` only (loopback for the aiortc engine;
    the host's end of Janus's veth for Janus, the one address it reaches)."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [address]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- signing in, as a browser does ------------------------------------------------------------


class At:
    """What tests/server/browsing.py's Browser needs of a server: its URLs."""

    def __init__(self, url: str) -> None:
        from yarl import URL

        self.base = URL(url)

    def make_url(self, path: str) -> Any:
        from yarl import URL

        return self.base.join(URL(path))


async def joined(url: str, token: str, gathering: str) -> Any:
    """A socket.io client signed in by its invitation link, joined to the gathering."""
    from server.settings import SESSION_COOKIE
    from tests.conftest import connect_client, send
    from tests.server.browsing import Browser

    async with Browser(At(url)) as browser:  # type: ignore[arg-type]
        await browser.sign_in(token)
        session = browser.cookie(SESSION_COOKIE)
    client = await connect_client(url, session)
    answer = await send(client, gathering, "room.join")
    if not answer.get("ok"):
        raise RuntimeError(f"room.join: {answer}")
    return client


# -- light listeners (client processes) -------------------------------------------------------


class Sequence:
    """One SSRC's RTP sequence numbers: how many came, and the span they cover (extended over
    the 16-bit wrap as RFC 3550 A.1 does)."""

    __slots__ = ("received", "first", "highest", "octets")

    def __init__(self, seq: int) -> None:
        self.received, self.first, self.highest, self.octets = 0, seq, seq, 0

    def add(self, seq: int, size: int) -> None:
        self.received += 1
        self.octets += size
        extended = (self.highest & ~0xFFFF) | seq
        if extended < self.highest - 0x8000:
            extended += 0x10000
        elif extended > self.highest + 0x8000:
            extended -= 0x10000
        self.highest = max(self.highest, extended)

    @property
    def expected(self) -> int:
        return self.highest - self.first + 1


def count_rtp_instead_of_decrypting() -> None:
    """In this process: an ICE connection counts each SRTP packet it receives by its clear
    header (SSRC, sequence number) and drops it; DTLS, STUN and SRTCP go on as usual."""
    connection = aioice.ice.Connection
    deliver = connection.data_received

    def data_received(self: Any, data: bytes, component: int) -> None:
        if len(data) >= 12 and 127 < data[0] < 192 and not 192 <= data[1] <= 208:
            seen: dict[int, Sequence] = self.__dict__.setdefault("rtp_seen", {})
            ssrc, seq = int.from_bytes(data[8:12], "big"), int.from_bytes(data[2:4], "big")
            (seen.get(ssrc) or seen.setdefault(ssrc, Sequence(seq))).add(seq, len(data))
            return
        deliver(self, data, component)

    connection.data_received = data_received  # type: ignore[method-assign]


def ssrc_kinds(sdp: str) -> dict[int, str]:
    """SSRC -> kind from an offer's `a=ssrc:` lines."""
    kinds, kind = {}, ""
    for line in sdp.splitlines():
        if line.startswith("m="):
            kind = line[2:].split()[0]
        elif line.startswith("a=ssrc:"):
            kinds[int(line[7:].split()[0])] = kind
    return kinds


@dataclass
class LightListener:
    listener: Any  # tests/signaling/stage_peer.StageListener
    kinds: dict[int, str] = field(default_factory=dict)
    relistens: int = 0

    def sequences(self) -> dict[int, Sequence]:
        pc = self.listener.pc
        if pc is None or not pc.getTransceivers():
            return {}
        ice = pc.getTransceivers()[0].receiver.transport.transport
        seen: dict[int, Sequence] = ice._connection.__dict__.get("rtp_seen", {})
        return seen

    def receiving(self) -> bool:
        return any(self.kinds.get(ssrc) == "video" and s.received
                   for ssrc, s in self.sequences().items())

    def counts(self) -> dict[str, list[int]]:
        """Per kind: [received, expected, octets] so far."""
        totals: dict[str, list[int]] = {}
        for ssrc, s in self.sequences().items():
            total = totals.setdefault(self.kinds.get(ssrc, "other"), [0, 0, 0])
            total[0] += s.received
            total[1] += s.expected
            total[2] += s.octets
        return totals


async def light_process(args: argparse.Namespace) -> None:
    """One client process: its share of the light listeners, driven over stdin/stdout."""
    from tests.server.live_helpers import eventually
    from tests.signaling.stage_peer import StageListener

    gather_on(args.address)
    count_rtp_instead_of_decrypting()
    tokens = args.token_list
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    say = lambda **message: print(json.dumps(message), flush=True)  # noqa: E731
    limit = asyncio.Semaphore(10)

    async def one(token: str) -> LightListener:
        async with limit:
            return LightListener(StageListener(await joined(args.url, token, args.gathering),
                                               args.gathering))

    light = list(await asyncio.gather(*(one(t) for t in tokens)))
    say(joined=len(light))
    await commands.readline()  # "listen"

    async def listen(ls: LightListener) -> None:
        """As a browser: a peer that brings no video within RELISTEN_AFTER s is given up and
        replaced by a new `stage.listen` (counted)."""
        for attempt in range(RELISTENS + 1):
            async with limit:
                await ls.listener.listen_to(args.publisher)
                ls.kinds = ssrc_kinds(ls.listener.pc.remoteDescription.sdp)
            with contextlib.suppress(AssertionError):
                await eventually(ls.receiving, within=RELISTEN_AFTER, what="video")
                return
            ls.relistens = attempt + 1

    listening = asyncio.gather(*(listen(ls) for ls in light))
    reported = -1
    while (receiving := sum(ls.receiving() for ls in light)) < len(light) or not listening.done():
        if receiving != reported:
            say(receiving=receiving, relistens=sum(ls.relistens for ls in light))
            reported = receiving
        await asyncio.sleep(0.1)
    await listening
    say(receiving=len(light), relistens=sum(ls.relistens for ls in light))
    while (await commands.readline()).decode().strip() == "counts":
        say(counts=[ls.counts() for ls in light])
    for ls in light:
        await ls.listener.close()
        await ls.listener.client.disconnect()
    say(stopped=True)


class ClientProcess:
    """A light listeners' process: its messages read as they come, `receiving` kept up to
    date, the rest queued for `read`."""

    def __init__(self, process: asyncio.subprocess.Process, size: int) -> None:
        self.process, self.size, self.receiving, self.relistens = process, size, 0, 0
        self.messages: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.pump = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            message = json.loads(line)
            if "receiving" in message:
                self.receiving, self.relistens = message["receiving"], message["relistens"]
            else:
                self.messages.put_nowait(message)
        self.messages.put_nowait(None)

    async def read(self, key: str) -> Any:
        while (message := await self.messages.get()) is not None:
            if key in message:
                return message[key]
        raise RuntimeError(f"a client process ended ({await self.process.wait()})")

    async def tell(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()


async def client_processes(tokens: list[str], per_process: int, tmp: Path,
                           options: list[str]) -> list[ClientProcess]:
    clients = []
    for first in range(0, len(tokens), per_process):
        share = tmp / f"light-{first}.json"
        share.write_text(json.dumps(tokens[first:first + per_process]))
        process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--light", "--tokens", str(share), *options,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)
        clients.append(ClientProcess(process, len(tokens[first:first + per_process])))
    return clients


# -- the publisher and the decoding listeners (this process) ----------------------------------


def camera(picture: str) -> Any:
    """The moving bar (tests/frames.py); with "noise", a strip of `NOISE_ROWS` rows of random
    luma, different in each picture, so that VP8 needs about what a camera may send (the bar
    alone encodes to about 90 kbit/s; a browser's camera is capped at 800 kbit/s)."""
    from tests.frames import MovingBarVideo

    video = MovingBarVideo(WIDTH, HEIGHT, steps=8)
    if picture == "noise":
        for frame in video._frames:  # precomputed: the publisher pays for the encode only
            plane = frame.planes[0]
            clear = plane.buffer_size - plane.line_size * NOISE_ROWS
            plane.update(bytes(plane)[:clear] + os.urandom(plane.buffer_size - clear))
    return video


class Publisher:
    """The facilitator's camera and microphone, published through the forum."""

    def __init__(self, client: Any, gathering: str, picture: str) -> None:
        from aiortc import AudioStreamTrack, RTCConfiguration, RTCPeerConnection

        self.client, self.gathering = client, gathering
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTrack(AudioStreamTrack())
        self.video = camera(picture)
        self.pc.addTrack(self.video)

    async def publish(self) -> None:
        from aiortc import RTCSessionDescription

        await self.pc.setLocalDescription(await self.pc.createOffer())
        local = self.pc.localDescription
        answer = await self.client.call("stage.publish", {
            "gathering": self.gathering,
            "description": {"type": local.type, "sdp": local.sdp}}, timeout=60)
        if not answer.get("ok"):
            raise RuntimeError(f"stage.publish: {answer}")
        description = answer["description"]
        await self.pc.setRemoteDescription(
            RTCSessionDescription(description["sdp"], description["type"]))


@dataclass
class Snapshot:
    wall: float
    cpu: dict[str, float]  # process -> CPU seconds so far
    decoded: list[int]
    counts: list[dict[str, list[int]]]
    sent: int


@dataclass
class Run:
    """One N: the processes to read and the people in it."""

    pids: dict[str, int]  # "engine", "forum", "clients-<i>"
    clients: list[ClientProcess]
    decoders: list[Any]  # StageListener
    publisher: Publisher

    async def snapshot(self) -> Snapshot:
        for client in self.clients:
            await client.tell("counts")
        counts = [c for client in self.clients for c in await client.read("counts")]
        cpu = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        cpu["this"] = time.process_time()
        return Snapshot(time.monotonic(), cpu, [d.video_frames() for d in self.decoders],
                        counts, self.publisher.video.sent)


def figures(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    wall = after.wall - before.wall
    cpu = {k: 100 * (after.cpu[k] - before.cpu[k]) / wall for k in after.cpu}
    got = {"audio": [0, 0, 0], "video": [0, 0, 0]}
    worst = 0.0
    for start, end in zip(before.counts, after.counts, strict=True):
        for kind, total in got.items():
            received = end.get(kind, [0, 0])[0] - start.get(kind, [0, 0])[0]
            expected = end.get(kind, [0, 0])[1] - start.get(kind, [0, 0])[1]
            total[0] += received
            total[1] += expected
            total[2] += end.get(kind, [0, 0, 0])[2] - start.get(kind, [0, 0, 0])[2]
            if kind == "video" and expected:
                worst = max(worst, 1 - received / expected)
    fps = [(a - b) / wall for a, b in zip(after.decoded, before.decoded, strict=True)]
    receiving = sum(1 for f in fps if f) + sum(
        1 for start, end in zip(before.counts, after.counts, strict=True)
        if end.get("video", [0])[0] > start.get("video", [0])[0])
    return {"wall": wall, "cpu": cpu, "fps": fps, "sent_fps": (after.sent - before.sent) / wall,
            "packets": got, "worst_video_loss": worst,
            "light": len(after.counts), "receiving": receiving}


async def measure(url: str, seeded: dict[str, Any], args: argparse.Namespace, tmp: Path,
                  pids: dict[str, int], address: str) -> dict[str, Any]:
    from tests.conftest import send
    from tests.server.live_helpers import eventually
    from tests.signaling.stage_peer import StageListener

    gid = seeded["gathering"]
    frida = await joined(url, seeded["sender"], gid)
    pushes: list[dict[str, Any]] = []
    frida.on("stage", pushes.append)
    assert (await send(frida, gid, "room.open"))["ok"]
    publisher = Publisher(frida, gid, args.picture)
    await publisher.publish()
    await eventually(lambda: bool(pushes and pushes[-1].get("publishers")), within=120,
                     what="the facilitator on stage")  # with Janus: once her media is up
    person = pushes[-1]["publishers"][0]["person_id"]

    tokens = seeded["participants"]
    decoders = [StageListener(await joined(url, t, gid), gid) for t in tokens[:DECODING]]
    clients = await client_processes(tokens[DECODING:], args.per_process, tmp, [
        "--url", url, "--gathering", gid, "--publisher", str(person), "--address", address])
    run = Run({**pids, **{f"clients-{i}": c.process.pid for i, c in enumerate(clients)}},
              clients, decoders, publisher)
    try:
        for client in clients:
            await client.read("joined")
        started = time.monotonic()
        for client in clients:
            await client.tell("listen")
        listens = asyncio.gather(*(d.listen_to(person) for d in decoders))
        while (receiving := sum(c.receiving for c in clients)) < len(tokens) - DECODING:
            if any(c.process.returncode is not None for c in clients):
                raise RuntimeError("a client process ended before all received")
            if time.monotonic() > started + 300:
                raise RuntimeError(f"only {receiving} light listeners received in 300 s")
            await asyncio.sleep(0.05)
        await listens
        await eventually(lambda: all(d.video_frames() for d in decoders), within=120,
                         what="video decoded")
        seated = time.monotonic() - started
        await asyncio.sleep(2)  # past the joins' keyframes
        before = await run.snapshot()
        await asyncio.sleep(args.seconds)
        result = {"seated_s": seated, **figures(before, await run.snapshot()),
                  "relistens": sum(c.relistens for c in clients)}
        if args.record:
            result["recording"] = await record(frida, gid, person, run, args.seconds, tmp)
        return result
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.tell("stop")
                await asyncio.wait_for(client.read("stopped"), 60)
            if client.process.returncode is None:
                client.process.kill()
            await client.process.wait()
        for decoder in decoders:
            await decoder.close()
            await decoder.client.disconnect()
        await publisher.pc.close()
        await frida.disconnect()


async def record(frida: Any, gid: str, person: int, run: Run, seconds: float,
                 tmp: Path) -> dict[str, Any]:
    """A second window with the facilitator recorded (the recorder taps the stage)."""
    from tests.conftest import send

    for command, fields in (("stage.spotlight", {"person_id": person}),
                            ("recording.consent", {}), ("recording.start", {})):
        answer = await send(frida, gid, command, **fields)
        if not answer.get("ok"):
            raise RuntimeError(f"{command}: {answer}")
    await asyncio.sleep(2)
    before = await run.snapshot()
    await asyncio.sleep(seconds)
    result = figures(before, await run.snapshot())
    assert (await send(frida, gid, "recording.stop"))["ok"]
    await asyncio.sleep(3)  # the file is finished
    files = [p for p in (tmp / "recordings").rglob("*") if p.is_file()]
    result["files"] = [(p.suffix, p.stat().st_size) for p in files]
    return result


@contextlib.contextmanager
def engine(args: argparse.Namespace, tmp: Path) -> Iterator[tuple[dict[str, str], int | None,
                                                                  str, Path | None]]:
    """The media engine's settings, Janus's pid, the address the peers gather on, its log."""
    if args.engine == "aiortc":
        yield {"MEDIA_ENGINE": "aiortc"}, None, "127.0.0.1", None
        return
    from tests.janus_host import janus_missing_reason, running_janus

    if (missing := janus_missing_reason()) is not None:
        raise SystemExit(f"--engine janus needs {missing}")
    with running_janus(tmp / "janus", event_loops=os.cpu_count() or 2) as janus:
        yield ({"MEDIA_ENGINE": "janus", "JANUS_URLS": janus.url,
                "JANUS_API_SECRET": janus.secret}, janus.process.pid, janus.host_address,
               janus.log_path)


def run_one(listeners: int, args: argparse.Namespace, media: dict[str, str],
            janus_pid: int | None, address: str, tmp: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-stage-", dir=tmp) as name:
        run_dir = Path(name)
        database = f"sqlite:///{run_dir}/forum.db"
        seeded = asyncio.run(seed(database, listeners))
        [port] = free_ports(1)
        url, log = f"http://127.0.0.1:{port}", run_dir / "server.log"
        settings = {**forum_settings(database, run_dir, None, Setup()), **media}
        server = start_server("forum", port, log, settings)
        try:
            wait_healthy(server, url, log)
            pids = {"forum": server.pid, **({"engine": janus_pid} if janus_pid else {})}
            load = load_average()
            result = asyncio.run(measure(url, seeded, args, run_dir, pids, address))
        except Exception as error:
            raise SystemExit(f"N={listeners}: {error!r}\n{tail(log)}") from error
        finally:
            stop_server(server)
        result.update(listeners=listeners, load=load, log_errors=log_errors(log))
        if args.logs:
            Path(args.logs).mkdir(parents=True, exist_ok=True)
            (Path(args.logs) / f"forum-{args.engine}-{listeners}.log").write_text(
                log.read_text(errors="replace"))
        return result


def janus_errors(log: Path | None, offset: int) -> tuple[int, list[str]]:
    if log is None:
        return 0, []
    lines = log.read_text(errors="replace")[offset:].splitlines()
    errors = [line for line in lines if "[ERR]" in line]
    return len(errors), errors[:3]


def row(r: dict[str, Any]) -> str:
    cpu = r["cpu"]
    engine_cpu = cpu.get("engine", cpu["forum"])
    clients = sum(v for k, v in cpu.items() if k.startswith("clients-"))
    audio, video = r["packets"]["audio"], r["packets"]["video"]
    loss = lambda got: 100 * (1 - got[0] / got[1]) if got[1] else float("nan")  # noqa: E731
    light = max(r["light"], 1)
    return (f"| {r['listeners']} | {engine_cpu:.0f} | {cpu['forum']:.1f} | "
            f"{' / '.join(f'{f:.1f}' for f in r['fps'])} (sent {r['sent_fps']:.1f}) | "
            f"{loss(video):.2f} (worst {100 * r['worst_video_loss']:.1f}) / {loss(audio):.2f} | "
            f"{video[0] / r['wall'] / light:.0f} / {8 * video[2] / r['wall'] / light / 1000:.0f}"
            f" | {r['receiving']}/{r['listeners']} | "
            f"{r['seated_s']:.1f} ({r['relistens']}) | "
            f"{clients:.0f} in {len(r['client_processes'])} + "
            f"{cpu['this']:.0f} | {r['load']} | {r['log_errors']} / {r['janus_errors']} |"
            )


HEADER = ("| listeners | engine CPU % of a core | forum worker CPU % | decoding listeners' fps"
          " | light listeners' loss %: video (worst one) / audio | video per light listener:"
          " packets/s / kbit/s (SRTP) | receiving | s until all received (re-listens) |"
          " client CPU %: light processes + publisher & decoders | load average before |"
          " errors in log: forum / Janus |\n"
          "| ---: | ---: | ---: | --- | --- | --- | --- | ---: | --- | --- | --- |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["aiortc", "janus"], default="aiortc")
    parser.add_argument("--listeners", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--per-process", type=int, default=50,
                        help="light listeners per client process (default 50)")
    parser.add_argument("--picture", choices=["bar", "noise"], default="bar",
                        help="the camera: the moving bar (default), or the bar over noise, "
                             "for a camera's bitrate")
    parser.add_argument("--record", action="store_true",
                        help="aiortc: a second window with the facilitator recorded")
    parser.add_argument("--logs", metavar="DIR", help="keep each forum log in this folder")
    for hidden in ("--url", "--gathering", "--tokens", "--address"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--publisher", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--light", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.light:
        run_light(args)
        return
    if args.record and args.engine != "aiortc":
        parser.error("--record measures the aiortc recorder tapping the stage")
    if min(args.listeners) <= DECODING:
        parser.error(f"--listeners: more than {DECODING} (the decoding ones)")
    print(f"$ {shlex.join([Path(sys.executable).name, *sys.argv])}", flush=True)
    print(f"{os.cpu_count()} cores; 1 publisher 640x360 @30 fps VP8 + Opus; window "
          f"{args.seconds:g} s; engine {args.engine}; picture {args.picture}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-stage-") as name, \
            engine(args, Path(name)) as (media, janus_pid, address, janus_log):
        gather_on(address)
        for listeners in args.listeners:
            offset = len(janus_log.read_text(errors="replace")) if janus_log else 0
            print(f"N={listeners}: load average {load_average()}", file=sys.stderr, flush=True)
            r = run_one(listeners, args, media, janus_pid, address, Path(name))
            r["janus_errors"], r["janus_examples"] = janus_errors(janus_log, offset)
            r["client_processes"] = [k for k in r["cpu"] if k.startswith("clients-")]
            results.append(r)
            if len(results) == 1:
                print(HEADER)
            print(row(r), flush=True)
            if r["janus_examples"]:
                print(f"  Janus errors, e.g. {r['janus_examples']}", flush=True)
            if "recording" in r:
                print_recording(r)
    print(f"\ngoal: {GOAL}")


def print_recording(r: dict[str, Any]) -> None:
    rec = r["recording"]
    print(f"  N={r['listeners']} recording: forum worker CPU {rec['cpu']['forum']:.0f}% "
          f"with vs {r['cpu']['forum']:.0f}% without "
          f"({rec['cpu']['forum'] - r['cpu']['forum']:+.0f}); decoding listeners "
          f"{' / '.join(f'{f:.1f}' for f in rec['fps'])} fps; files {rec['files']}",
          flush=True)


def run_light(args: argparse.Namespace) -> None:
    args.token_list = json.loads(Path(args.tokens).read_text())
    try:
        import uvloop
    except ImportError:
        asyncio.run(light_process(args))
    else:
        uvloop.run(light_process(args))


if __name__ == "__main__":
    main()
