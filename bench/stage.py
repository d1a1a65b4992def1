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
the same size, measured by `bench/recording.py` (`--no-recording` skips it). A measurement,
never a test: nothing asserts on time.
Both processes patch aioice to gather on 127.0.0.1 (this host has only loopback)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
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


async def serve() -> None:
    from signaling.stage import Stage

    stage = Stage()
    done = asyncio.Event()

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
                }
            elif op == "close":
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


async def run_one(listeners: int, seconds: float) -> dict[str, Any]:
    from aiortc import RTCSessionDescription

    from tests.signaling.test_stage import Listener, Publisher

    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", stdout=asyncio.subprocess.PIPE, cwd=ROOT
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
        result = {
            "listeners": listeners,
            "cpu_percent": 100 * (after["cpu"] - before["cpu"]) / (after["wall"] - before["wall"]),
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
        await rpc.call(op="close")
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


async def main(args: argparse.Namespace) -> None:
    skip_decoding_after(args.decoding)
    print(
        f"stage benchmark: 1 publisher 640x360 @30 fps, window {args.seconds:.0f} s, "
        f"{os.cpu_count()} cores; server = stage subprocess"
    )
    for count in args.listeners:
        r = await run_one(count, args.seconds)
        at_30 = r["cpu_percent"] * 30 * args.seconds / max(r["frames_received"], 1)
        print(
            f"listeners={r['listeners']:>3}  server CPU {r['cpu_percent']:5.1f}% of one core "
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
    if args.recording:
        from bench.recording import measure_recording

        print(await measure_recording(args.seconds), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--decoding", type=int, default=2)
    parser.add_argument("--no-recording", dest="recording", action="store_false")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    asyncio.run(serve() if arguments.serve else main(arguments))
