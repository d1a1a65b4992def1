"""Background work that lives as long as a block of code: the server's loops (the clock, the
notes' janitor, the bus watch, the retention sweep) run while the app serves."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def running(work: Coroutine[Any, Any, None]) -> AsyncIterator[asyncio.Task[None]]:
    """`work` as a task while the block runs; cancelled, and waited for, when it ends."""
    task = asyncio.create_task(work)
    try:
        yield task
    finally:
        await stop(task)


async def stop(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait until it has stopped. A task that had failed is logged, not
    raised: stopping goes on."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception:
        log.exception("a background task had failed")
