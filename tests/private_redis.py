"""A Redis server of the test's own, which the test may stop and start again (the machine's
Redis on 6379 is shared with others and is never touched)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from tests.conftest import START_WAIT, free_port, missing


class PrivateRedis:
    def __init__(self, port: int) -> None:
        self.port = port
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        """Start it (again, on the same port) and wait until it answers."""
        self.process = await asyncio.create_subprocess_exec(
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        client = Redis.from_url(self.url)
        deadline = time.monotonic() + START_WAIT
        try:
            while True:
                try:
                    await client.ping()
                    return
                except Exception:
                    if self.process.returncode is not None or time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.02)
        finally:
            await client.aclose()

    async def stop(self) -> None:
        """Kill it: an outage, not a goodbye."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self.process = None


@asynccontextmanager
async def running_redis() -> AsyncIterator[PrivateRedis]:
    """A private Redis on a free port, killed at the end."""
    if shutil.which("redis-server") is None:
        missing("redis-server")
    redis = PrivateRedis(free_port())
    await redis.start()
    try:
        yield redis
    finally:
        await redis.stop()
