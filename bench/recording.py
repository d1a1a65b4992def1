"""Recording benchmark: one aiortc publisher at 640x360 @30 fps recorded to MP4 for N seconds.

    .venv/bin/python bench/recording.py --seconds 10

The receiving side runs in a subprocess twice: once only receiving and decoding (what the
stage does anyway for a published track), once also feeding `recordings.Recorder`. Printed:
the recorder's worker-thread CPU (encode + mux: the cost a recording adds to the stage, which
already decodes) and the whole receiving process's CPU with and without the recorder, each as
a percentage of one core over a steady window. The file goes to a temporary directory and is
removed. A measurement, never a test. Both processes gather ICE on 127.0.0.1 only."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aioice.ice  # noqa: E402

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


async def receive(record: bool, seconds: float) -> None:
    """Subprocess: answer the offer read from stdin, receive, maybe record, print figures."""
    from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection
    from aiortc import RTCSessionDescription as Description
    from aiortc.mediastreams import MediaStreamError

    from recordings.recorder import Recorder

    loop = asyncio.get_running_loop()
    directory = Path(tempfile.mkdtemp(prefix="bench-recording-"))
    recorder = Recorder(directory) if record else None
    frames = {"audio": 0, "video": 0}
    flowing = asyncio.Event()  # 2 s of video received
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

    async def consume(track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                frames[track.kind] += 1
                if frames["video"] >= 60:
                    flowing.set()
                if recorder is not None:
                    offer = recorder.video_frame if track.kind == "video" else recorder.audio_frame
                    offer(frame)
        except MediaStreamError:
            pass

    tasks: list[asyncio.Task[None]] = []
    pc.on("track", lambda track: tasks.append(asyncio.create_task(consume(track))))
    offer = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    await pc.setRemoteDescription(Description(offer["sdp"], "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    print(json.dumps({"sdp": pc.localDescription.sdp}), flush=True)

    await asyncio.wait_for(flowing.wait(), 30)
    cpu, wall, video = time.process_time(), time.monotonic(), frames["video"]
    thread_cpu = recorder.cpu_seconds if recorder else 0.0
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    thread_cpu = (recorder.cpu_seconds if recorder else 0.0) - thread_cpu
    report: dict[str, Any] = {
        "process_cpu_percent": 100 * cpu / wall,
        "recorder_cpu_percent": 100 * thread_cpu / wall,
        "video_fps": (frames["video"] - video) / wall,
    }
    if recorder is not None:
        result = await recorder.stop(timeout=10)
        report.update(
            complete=result.complete,
            dropped=sum(result.dropped.values()),
            encoded=result.encoded,
            streams=result.streams,
            megabytes=result.path.stat().st_size / 1e6 if result.path else 0.0,
        )
    for task in tasks:
        task.cancel()
    await asyncio.wait_for(pc.close(), 5)
    shutil.rmtree(directory, ignore_errors=True)
    print(json.dumps(report), flush=True)


async def run_one(record: bool, seconds: float) -> dict[str, Any]:
    from aiortc import RTCSessionDescription

    from tests.signaling.test_stage import Publisher

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--receive",
        "--seconds",
        str(seconds),
        *(["--record"] if record else []),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    publisher = Publisher()
    try:
        await publisher.pc.setLocalDescription(await publisher.pc.createOffer())
        proc.stdin.write(json.dumps({"sdp": publisher.pc.localDescription.sdp}).encode() + b"\n")
        await proc.stdin.drain()
        answer = json.loads(await proc.stdout.readline())
        await publisher.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        report: dict[str, Any] = json.loads(
            await asyncio.wait_for(proc.stdout.readline(), seconds + 60)
        )
        return report
    finally:
        await asyncio.wait_for(publisher.pc.close(), 5)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def measure_recording(seconds: float) -> str:
    """Both runs; one printable line."""
    base = await run_one(False, seconds)
    rec = await run_one(True, seconds)
    return (
        f"recording 640x360 @{rec['video_fps']:.0f} fps to MP4 (H.264 ultrafast/zerolatency + AAC)"
        f", {seconds:.0f} s: recorder thread CPU {rec['recorder_cpu_percent']:4.1f}% of one core; "
        f"receiving process {rec['process_cpu_percent']:4.1f}% with the recorder vs "
        f"{base['process_cpu_percent']:4.1f}% without (difference "
        f"{rec['process_cpu_percent'] - base['process_cpu_percent']:4.1f}%); "
        f"frames encoded {rec['encoded']}, dropped {rec['dropped']}, "
        f"complete {rec['complete']}, file {rec['megabytes']:.1f} MB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--receive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--record", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.receive:
        asyncio.run(receive(arguments.record, arguments.seconds))
    else:
        print(asyncio.run(measure_recording(arguments.seconds)), flush=True)
