"""Group commit's waiting room: work for one key (a gathering's commands, a note's updates)
that arrives while a batch of that key is being handled waits, and goes together in the
next batch. Each sender awaits its own result; a batch's handler settles each one.

One task per busy key takes the batches in turn, in a context of its own (so what the first
sender's context measures is not charged with the whole batch). A handler's exception fails
the senders of its batch still waiting; a stop fails every sender still waiting."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, eq=False)
class Waiting(Generic[T, R]):
    """One sender's item, and the future it awaits."""

    item: T
    done: asyncio.Future[R]

    def succeed(self, result: R) -> None:
        if not self.done.done():
            self.done.set_result(result)

    def fail(self, exc: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(exc)
            self.done.exception()  # retrieved: a sender that gave up leaves no warning


Handle = Callable[[K, list[Waiting[T, R]]], Awaitable[None]]


class Batches(Generic[K, T, R]):
    def __init__(self, handle: Handle[K, T, R], most: int,
                 stopping: Callable[[], BaseException]) -> None:
        self.handle = handle  # settles each of a batch's senders
        self.most = most  # items in one batch at most
        self.stopping = stopping  # what the senders still waiting at a stop are told
        self._queues: dict[K, list[Waiting[T, R]]] = {}
        self._tasks: dict[K, asyncio.Task[None]] = {}

    async def submit(self, key: K, item: T) -> R:
        """`item`'s result, once a batch of `key` has handled it."""
        waiting: Waiting[T, R] = Waiting(item, asyncio.get_running_loop().create_future())
        self._queues.setdefault(key, []).append(waiting)
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._run(key),
                                                   context=contextvars.Context())
        return await asyncio.shield(waiting.done)

    def busy(self, key: K) -> bool:
        return key in self._tasks

    async def drain(self) -> None:
        """Wait for the batches under way (at the stop, before the database closes)."""
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _run(self, key: K) -> None:
        try:
            while queue := self._queues.get(key):
                batch, queue[:] = queue[:self.most], queue[self.most:]
                try:
                    await self.handle(key, batch)
                except Exception as exc:
                    for waiting in batch:
                        waiting.fail(exc)
                except BaseException:
                    for waiting in batch:
                        waiting.fail(self.stopping())
                    raise
        finally:  # empty, unless the server is stopping
            for waiting in self._queues.pop(key, []):
                waiting.fail(self.stopping())
            del self._tasks[key]
