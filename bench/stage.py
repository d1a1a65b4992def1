"""Plenary stage benchmark: one aiortc publisher at 640x360 to N aiortc listeners.

    .venv/bin/python bench/stage.py --listeners 10 25 50 --seconds 10

For each N a fresh stage (`signaling.stage.Stage`) runs in its own subprocess, so its CPU and
memory are measured alone; the publisher and the N listeners run in this process and talk
to it over a JSON-lines socket on 127.0.0.1 (a stand-in for the signaling that will route
to the owning process). Once every listener receives video, the server's CPU time over a
steady window of `--seconds` is divided by the wall time; RSS is read from /proc.

The listener process cannot also decode N VP8 streams on a 2-core machine without starving
the server, so only `--decoding` listeners (default 2) decode; the others receive, decrypt,
depacketise and report RTCP like any listener but skip the VP8 decode (aiortc's decoder is
replaced in THIS process only). The server is untouched. The last line is one recording at
the same size, measured by `bench/recording.py` (`--no-recording` skips it).

    .venv/bin/python bench/stage.py --listeners 10 25 --seconds 10 --record

`--record` runs each N twice, without and then with a recording made the production way
(`recordings/stage_tap.py`): the stage subprocess creates a `recordings.Recorder` (in a
`tempfile.mkdtemp()` directory outside the source tree, removed afterwards) for the
publisher's kinds right after the publish and `stage.tap`s the publisher, so the recorder is
fed the stage's own decoded frames (no second decode). Printed per N: the server's CPU with
and without the recording, the recorder thread's CPU (`RecordingResult.cpu_seconds` over
the recording's wall time, and over the same window as the server CPU), and, as a sanity
check, each stream's packet count and pts span in the file as PyAV reads it.
A measurement, never a test: nothing asserts on time.
Both processes patch aioice to gather on 127.0.0.1 (this host has only loopback)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aioice.ice  # noqa: E402

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]  # type: ignore[assignment]


def rss_mib() -> tuple[float, float]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


# -- the server subprocess ------------------------------------------------------------------


def probe(path: Path) -> dict[str, tuple[int, float]]:
    """Per stream kind of the file: packets (= frames here) and the span of their pts in s."""
    import av

    times: dict[str, list[float]] = {}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.pts is not None and packet.time_base is not None:
                times.setdefault(packet.stream.type, []).append(
                    float(packet.pts * packet.time_base)
                )
    return {kind: (len(t), max(t) - min(t)) for kind, t in times.items()}


async def serve(record: bool) -> None:
    from recordings.recorder import Recorder
    from signaling.stage import Stage

    stage = Stage()
    done = asyncio.Event()
    directory = Path(tempfile.mkdtemp(prefix="bench-stage-"))
    recording: dict[str, Any] = {}  # recorder, sink, publisher, started

    def start_recording(publisher: str) -> None:
        """As `server.stage_recordings.StageRecordings._start`."""
        kinds = tuple(k for k in ("audio", "video") if k in stage.kinds(publisher))
        recorder = Recorder(directory, kinds)

        def sink(kind: str, frame: Any) -> object:
            offer = recorder.video_frame if kind == "video" else recorder.audio_frame
            return offer(frame)

        stage.tap(publisher, sink)
        recording.update(
            recorder=recorder, sink=sink, publisher=publisher, started=time.monotonic()
        )

    async def stop_recording() -> dict[str, Any]:
        stage.untap(recording["publisher"], recording["sink"])
        result = await recording["recorder"].stop(10)
        return {
            "cpu_seconds": result.cpu_seconds,
            "wall": time.monotonic() - recording["started"],
            "complete": result.complete,
            "encoded": result.encoded,
            "dropped": result.dropped,
            "file": probe(result.path) if result.path else {},
            "error": result.error,
        }

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await answer(reader, writer)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            request = json.loads(line)
            op = request["op"]
            reply: dict[str, Any] = {}
            if op == "publish":
                reply["sdp"] = await stage.publish(request["id"], request["sdp"])
                if record:
                    start_recording(request["id"])
            elif op == "listen":
                reply["sdp"] = await stage.listen(request["id"], request["sdp"])
            elif op == "stats":
                rss, hwm = rss_mib()
                reply = {
                    "cpu": time.process_time(),
                    "wall": time.monotonic(),
                    "rss": rss,
                    "hwm": hwm,
                    "stage": stage.stats(),
                    "recorder_cpu": recording["recorder"].cpu_seconds if recording else 0.0,
                }
            elif op == "close":
                if recording:
                    reply["recording"] = await stop_recording()
                shutil.rmtree(directory, ignore_errors=True)
                await stage.close()
                done.set()
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, limit=1 << 20)
    print(server.sockets[0].getsockname()[1], flush=True)
    await done.wait()
    server.close()


# -- the client side (publisher and listeners) ----------------------------------------------


DECODERS_MADE = {"video": 0}  # reset for each run


def skip_decoding_after(count: int) -> None:
    """In this process: the first `count` video decoders are real, the rest decode nothing."""
    import aiortc.rtcrtpreceiver as receiver
    from aiortc.codecs.base import Decoder

    real = receiver.get_decoder

    class NoDecode(Decoder):
        def decode(self, encoded_frame: Any) -> list[Any]:
            return []

    def get_decoder(codec: Any) -> Decoder:
        if codec.mimeType.lower().startswith("video/"):
            DECODERS_MADE["video"] += 1
            if DECODERS_MADE["video"] > count:
                return NoDecode()
        return real(codec)

    receiver.get_decoder = get_decoder  # type: ignore[assignment]


class Rpc:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.lock = asyncio.Lock()

    async def call(self, **request: Any) -> dict[str, Any]:
        async with self.lock:
            self.writer.write(json.dumps(request).encode() + b"\n")
            await self.writer.drain()
            return json.loads(await self.reader.readline())  # type: ignore[no-any-return]


async def inbound_video_packets(pc: Any) -> int:
    report = await pc.getStats()
    return sum(
        s.packetsReceived for s in report.values() if s.type == "inbound-rtp" and s.kind == "video"
    )


async def run_one(listeners: int, seconds: float, record: bool) -> dict[str, Any]:
    from aiortc import RTCSessionDescription

    from tests.signaling.test_stage import Listener, Publisher

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        *(["--record"] if record else []),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        port = int(await proc.stdout.readline())
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        rpc = Rpc(reader, writer)
        idle = await rpc.call(op="stats")

        publisher = Publisher()
        await publisher.pc.setLocalDescription(await publisher.pc.createOffer())
        reply = await rpc.call(op="publish", id="publisher", sdp=publisher.pc.localDescription.sdp)
        await publisher.pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))

        started = time.monotonic()
        DECODERS_MADE["video"] = 0
        peers = [Listener(f"listener-{i}") for i in range(listeners)]
        for peer in peers:
            peer.pc.addTransceiver("audio", direction="recvonly")
            peer.pc.addTransceiver("video", direction="recvonly")
            await peer.pc.setLocalDescription(await peer.pc.createOffer())
            reply = await rpc.call(op="listen", id=peer.name, sdp=peer.pc.localDescription.sdp)
            await peer.pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))

        deadline = time.monotonic() + 60
        while True:
            counts = [await inbound_video_packets(p.pc) for p in peers]
            if all(counts) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
        seated = time.monotonic() - started
        await asyncio.sleep(2)  # settle after the joins' keyframes

        before = await rpc.call(op="stats")
        sent_before = publisher.video.sent
        await asyncio.sleep(seconds)
        after = await rpc.call(op="stats")
        sent = publisher.video.sent - sent_before
        packets = [await inbound_video_packets(p.pc) for p in peers]

        video = next(t for t in after["stage"]["tracks"].values() if t["kind"] == "video")
        video_before = next(t for t in before["stage"]["tracks"].values() if t["kind"] == "video")
        wall = after["wall"] - before["wall"]
        result = {
            "listeners": listeners,
            "cpu_percent": 100 * (after["cpu"] - before["cpu"]) / wall,
            "recorder_percent": 100 * (after["recorder_cpu"] - before["recorder_cpu"]) / wall,
            "rss_idle": idle["rss"],
            "rss": after["rss"],
            "hwm": after["hwm"],
            "seated_s": seated,
            "receiving": sum(1 for p in packets if p),
            "frames_sent": sent,
            "frames_received": video["received"] - video_before["received"],
            "frames_encoded": video["encoded"] - video_before["encoded"],
            "encoders": after["stage"]["encoders_created"],
            "decoded_by_listeners": sum(p.frames["video"] for p in peers),
        }
        result["recording"] = (await rpc.call(op="close")).get("recording")
        for peer in peers:
            await peer.close()
        await publisher.pc.close()
        writer.close()
        return result
    finally:
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def print_recording(r: dict[str, Any], without: float) -> None:
    rec = r["recording"]
    files = ", ".join(
        f"{kind} {frames} frames over {span:.1f} s" for kind, (frames, span) in rec["file"].items()
    )
    print(
        f"    recording at {r['listeners']} listeners: server CPU {r['cpu_percent']:5.1f}% with vs "
        f"{without:5.1f}% without ({r['cpu_percent'] - without:+.1f}); recorder thread "
        f"{rec['cpu_seconds']:.2f} s CPU / {rec['wall']:.1f} s wall = "
        f"{100 * rec['cpu_seconds'] / rec['wall']:.1f}% (in the window "
        f"{r['recorder_percent']:.1f}%); encoded {rec['encoded']} dropped "
        f"{rec['dropped']} complete {rec['complete']} error {rec['error']}; file: {files}",
        flush=True,
    )


async def main(args: argparse.Namespace) -> None:
    skip_decoding_after(args.decoding)
    print(
        f"stage benchmark: 1 publisher 640x360 @30 fps, window {args.seconds:.0f} s, "
        f"{os.cpu_count()} cores; server = stage subprocess"
    )
    modes = (False, True) if args.record else (False,)
    without = 0.0
    for count, record in [(n, rec) for n in args.listeners for rec in modes]:
        r = await run_one(count, args.seconds, record)
        at_30 = r["cpu_percent"] * 30 * args.seconds / max(r["frames_received"], 1)
        print(
            f"listeners={r['listeners']:>3}{' +recording' if record else ''}  "
            f"server CPU {r['cpu_percent']:5.1f}% of one core "
            f"(scaled to 30 fps: {at_30:5.1f}%)  "
            f"RSS {r['rss']:6.1f} MiB (idle {r['rss_idle']:.1f}, peak {r['hwm']:.1f})  "
            f"receiving {r['receiving']}/{r['listeners']}  "
            f"video {r['frames_received'] / args.seconds:4.1f} fps: "
            f"sent {r['frames_sent']} received {r['frames_received']} "
            f"encoded {r['frames_encoded']}  "
            f"encoders {r['encoders']}  seated in {r['seated_s']:.1f} s  "
            f"frames decoded by the {args.decoding} decoding listeners "
            f"{r['decoded_by_listeners']}",
            flush=True,
        )
        if record:
            print_recording(r, without)
        without = r["cpu_percent"]
    if args.recording:
        from bench.recording import measure_recording

        print(await measure_recording(args.seconds), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--decoding", type=int, default=2)
    parser.add_argument(
        "--no-recording",
        dest="recording",
        action="store_false",
        help="skip the stand-alone recording line (bench/recording.py)",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="run each N also with a recorder tapping the publisher in the stage process",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    asyncio.run(serve(arguments.record) if arguments.serve else main(arguments))
