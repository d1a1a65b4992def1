"""Rate limits on what people post in the forum (announcements, replies, ...): per person,
in this worker's memory.

Why memory and not Redis: the limit is against a runaway script or a stuck key, not an
exact budget; with N workers a person gets at most N times the budget, which still stops a
flood, and posting never waits on Redis. A token bucket per person (server/sockets'
TokenBucket): a burst of `count` at once, then one more every `window / count` seconds."""

from __future__ import annotations

import time

from server.sockets.ratelimit import TokenBucket

#: buckets kept at most; full ones (people idle for a whole window) are dropped first
MAX_PEOPLE = 10_000


class PostingLimit:
    """At most `count` posts per person in any `window` seconds (and bursts up to
    `count`)."""

    def __init__(self, count: int, window: float) -> None:
        self.count, self.window = count, window
        self._buckets: dict[int, TokenBucket] = {}

    def allow(self, person_id: int, now: float | None = None) -> bool:
        """Take one post from the person's budget; False when it is spent."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(person_id)
        if bucket is None:
            if len(self._buckets) >= MAX_PEOPLE:
                self._forget_idle(now)
            bucket = self._buckets[person_id] = TokenBucket(
                rate=self.count / self.window, burst=self.count, stamp=now)
        return bucket.take(now)

    def _forget_idle(self, now: float) -> None:
        idle = [pid for pid, b in self._buckets.items() if now - b.stamp >= self.window]
        for pid in idle or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[pid]
