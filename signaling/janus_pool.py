"""The Janus instances of MEDIA_ENGINE=janus, as this worker sees them.

The worker that owns a gathering's stage (the owner key in Redis, signaling/stage_router.py)
also picks the Janus instance its VideoRoom lives on: the answering instance with the fewest
of this worker's stages, so several workers and several Janus hosts share the load. Each
instance gets one API session (signaling/janus.py); when an instance stops answering, every
stage on it is reported gone (`on_gone`, the host drops it: its browsers hear `closed` and
publish and listen again, and the next stage lands on an instance that answers). An instance
that failed is tried again after `RETRY_AFTER` seconds."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from signaling.engines import Gone, StageEngine
from signaling.janus import JanusError, JanusGone, JanusSession
from signaling.janus_stage import JanusStage
from signaling.stage import StageConfig, StageError

log = logging.getLogger(__name__)

RETRY_AFTER = 10.0  # seconds before an instance that failed is asked again


@dataclass
class _Instance:
    url: str
    session: JanusSession | None = None
    failed_at: float = -1e9
    stages: set[str] = field(default_factory=set)  # gathering ids
    opening: asyncio.Lock = field(default_factory=asyncio.Lock)


class JanusEngine:
    def __init__(self, urls: Sequence[str], secret: str | None, config: StageConfig,
                 rec_dir: Path | None = None) -> None:
        if not urls:
            raise ValueError("MEDIA_ENGINE=janus needs JANUS_URLS")
        self.instances = [_Instance(url) for url in urls]
        self.secret = secret or None
        self.config = config
        self.rec_dir = rec_dir
        self.on_gone: Gone | None = None
        self._http: aiohttp.ClientSession | None = None

    async def open(self, gathering_id: str) -> StageEngine:
        """A new VideoRoom for the gathering on the least loaded instance that answers."""
        for instance in sorted(self.instances, key=lambda i: len(i.stages)):
            session = await self._session(instance)
            if session is None:
                continue
            try:
                stage = await JanusStage(session, self.config, self.rec_dir).open()
            except (JanusError, JanusGone):
                log.exception("janus %s could not make a room", instance.url)
                continue
            instance.stages.add(gathering_id)
            return stage
        raise StageError("engine-gone", "no Janus instance answers")

    def forget(self, gathering_id: str) -> None:
        """The gathering's stage closed."""
        for instance in self.instances:
            instance.stages.discard(gathering_id)

    async def _session(self, instance: _Instance) -> JanusSession | None:
        """The instance's API session, opened if need be (once, whoever asks at the same
        time); None while it does not answer."""
        async with instance.opening:
            if instance.session is not None and not instance.session.lost:
                return instance.session
            if time.monotonic() - instance.failed_at < RETRY_AFTER:
                return None
            if self._http is None:
                self._http = aiohttp.ClientSession()
            try:
                session = await JanusSession.open(self._http, instance.url, self.secret)
            except (JanusError, JanusGone) as error:
                log.warning("janus %s does not answer: %s", instance.url, error)
                instance.failed_at = time.monotonic()
                return None
            session.on_lost = lambda: self._lost(instance)
            instance.session = session
            return session

    async def _lost(self, instance: _Instance) -> None:
        instance.failed_at = time.monotonic()
        gone, instance.stages = instance.stages, set()
        for gathering_id in gone:
            if self.on_gone is not None:
                await self.on_gone(gathering_id)

    async def close(self) -> None:
        for instance in self.instances:
            if instance.session is not None:
                await instance.session.close()
                instance.session = None
        if self._http is not None:
            await self._http.close()
            self._http = None
