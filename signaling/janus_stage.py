"""The plenary stage of one gathering in a Janus VideoRoom (MEDIA_ENGINE=janus).

The same calls as the aiortc stage (signaling/stage.py), so the host (signaling/stage_host.py)
uses either: `publish` takes a publisher's offer and returns Janus's answer, `listen` returns
Janus's offer for a listener (a subscriber of every publisher whose media is up), `answer`
passes the listener's answer on. Janus forwards the publishers' packets without decoding them:
nothing here touches media. Browsers never talk to Janus: every request goes through here,
with the API secret, and a publisher is only created by `publish`, after the host checked
the right to publish.

Janus accepts a subscription to a feed only once the feed's media is up (`webrtcup`): a
publisher is listed in `publishers` (and `on_published` is called) from then on, so a listener
is only ever offered streams that flow. When a publisher's connection ends on Janus's side
(`hangup`), it leaves the stage as after `unpublish`."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiortc.sdp import SessionDescription

from signaling.janus import JanusError, JanusGone, JanusHandle, JanusSession
from signaling.stage import MAX_M_LINES, StageConfig, StageError, check_id, check_sdp, notify

log = logging.getLogger(__name__)

AUDIO_BITRATE = 64_000  # the cap the browser sets on its microphone (bits per second)


@dataclass
class _Feed:
    """A publisher: its VideoRoom feed id and handle; `ready` once its media is up."""

    id: int
    handle: JanusHandle | None = None
    kinds: list[str] = field(default_factory=list)
    ready: bool = False
    recording: str | None = None  # the file name base while Janus records it


@dataclass
class _Subscriber:
    handle: JanusHandle | None = None
    #: (mid, publisher id, kind) of each m-line of the offer
    assigned: list[tuple[str, str, str]] = field(default_factory=list)


def _offered_kinds(sdp: str) -> list[str]:
    check_sdp(sdp)
    try:
        kinds = [media.kind for media in SessionDescription.parse(sdp).media]
    except Exception as exc:
        raise StageError("bad-sdp", str(exc)) from exc
    if not kinds or any(k not in ("audio", "video") for k in kinds) or len(kinds) > MAX_M_LINES:
        raise StageError("bad-sdp", "expected 1 to 8 audio/video m-lines")
    return kinds


def _refusal(exc: Exception) -> StageError:
    if isinstance(exc, JanusGone):
        return StageError("engine-gone", str(exc))
    if isinstance(exc, StageError):
        return exc
    return StageError("bad-sdp", str(exc))


class JanusStage:
    """One gathering's stage: one VideoRoom on one Janus instance."""

    def __init__(self, session: JanusSession, config: StageConfig,
                 rec_dir: Path | None = None) -> None:
        self.session = session
        self.config = config
        self.rec_dir = rec_dir
        self.room = secrets.randbelow(2**52) + 1
        self.secret = secrets.token_hex(16)  # the room's own: only this stage may destroy it
        self._admin: JanusHandle | None = None
        self._publishers: dict[str, _Feed] = {}
        self._listeners: dict[str, _Subscriber] = {}
        self._closed = False
        self.on_unpublished: Callable[[str], Any] | None = None
        self.on_published: Callable[[str], Any] | None = None

    async def open(self) -> JanusStage:
        """Create the VideoRoom: VP8 and Opus only, the bitrate capped for every publisher
        (REMB), a keyframe asked for every 10 s and whenever a listener starts."""
        self._admin = await self.session.attach()
        room: dict[str, Any] = {
            "request": "create", "room": self.room, "permanent": False,
            "publishers": self.config.max_publishers, "bitrate": self.config.video_bitrate,
            "bitrate_cap": True, "fir_freq": 10, "audiocodec": "opus", "videocodec": "vp8",
            "notify_joining": False, "secret": self.secret}
        if self.rec_dir is not None:
            room["rec_dir"] = str(self.rec_dir)
        await self._admin.request(room)
        return self

    # -- observation --

    @property
    def publishers(self) -> list[str]:
        """Those whose media is up, in publication order."""
        return [pid for pid, feed in self._publishers.items() if feed.ready]

    @property
    def listeners(self) -> list[str]:
        return list(self._listeners)

    def kinds(self, publisher_id: str) -> list[str]:
        feed = self._publishers.get(publisher_id)
        return [] if feed is None else list(feed.kinds)

    def listener_tracks(self, listener_id: str) -> list[tuple[str, str, str]]:
        subscriber = self._listeners.get(listener_id)
        return [] if subscriber is None else list(subscriber.assigned)

    def stats(self) -> dict[str, Any]:
        return {"engine": "janus", "instance": self.session.url, "room": self.room,
                "publishers": len(self._publishers), "listeners": len(self._listeners)}

    # -- publishing --

    def _ensure_open(self) -> None:
        if self._closed or self.session.lost:
            raise StageError("stage-closed")

    async def publish(self, publisher_id: str, offer_sdp: str) -> str:
        check_id(publisher_id)
        kinds = _offered_kinds(offer_sdp)
        self._ensure_open()
        if publisher_id in self._publishers:
            raise StageError("already-publishing")
        if len(self._publishers) >= self.config.max_publishers:
            raise StageError("stage-full")
        if (kinds.count("video") > self.config.publisher_video_tracks
                or kinds.count("audio") > self.config.publisher_audio_tracks):
            raise StageError("too-many-tracks")
        feed = _Feed(secrets.randbelow(2**52) + 1)
        self._publishers[publisher_id] = feed
        try:
            feed.handle = handle = await self.session.attach()
            handle.on_event = lambda event: self._publisher_event(publisher_id, feed, event)
            data, jsep = await handle.message(
                {"request": "joinandconfigure", "room": self.room, "ptype": "publisher",
                 "id": feed.id, "bitrate": self.config.video_bitrate},
                {"type": "offer", "sdp": offer_sdp})
            if not jsep or jsep.get("type") != "answer":
                raise StageError("bad-sdp", "Janus did not answer the offer")
            feed.kinds = [s["type"] for s in sorted(data.get("streams", []),
                                                    key=lambda s: s.get("mindex", 0))]
            await handle.trickle_done()
        except (JanusError, JanusGone, StageError) as exc:
            await self.unpublish(publisher_id)
            raise _refusal(exc) from exc
        return str(jsep["sdp"])

    async def _publisher_event(self, publisher_id: str, feed: _Feed,
                               event: dict[str, Any]) -> None:
        if self._publishers.get(publisher_id) is not feed:
            return
        kind = event.get("janus")
        if kind == "webrtcup" and not feed.ready:
            feed.ready = True
            await notify(self.on_published, publisher_id)
        elif kind in ("hangup", "detached"):
            await self.unpublish(publisher_id)

    async def unpublish(self, publisher_id: str) -> None:
        feed = self._publishers.pop(publisher_id, None)
        if feed is None:
            return
        if feed.handle is not None:
            await feed.handle.detach()  # Janus hangs up the publisher and its subscriptions
        await notify(self.on_unpublished, publisher_id)

    # -- listening --

    async def listen(self, listener_id: str) -> str | None:
        check_id(listener_id)
        self._ensure_open()
        if listener_id in self._listeners:
            raise StageError("already-listening")
        ready = {feed.id: pid for pid, feed in self._publishers.items()
                 if feed.ready and pid != listener_id}  # not the tab's own tracks back
        if not ready:
            return None
        if len(self._listeners) >= self.config.max_listeners:
            raise StageError("stage-full")
        subscriber = self._listeners[listener_id] = _Subscriber()
        try:
            subscriber.handle = handle = await self.session.attach()
            handle.on_event = lambda event: self._listener_event(listener_id, subscriber, event)
            data, jsep = await handle.message(
                {"request": "join", "room": self.room, "ptype": "subscriber",
                 "streams": [{"feed": feed_id} for feed_id in ready]})
            if not jsep or jsep.get("type") != "offer":
                raise StageError("bad-sdp", "Janus made no offer")
            subscriber.assigned = [
                (str(s["mid"]), ready[s["feed_id"]], str(s["type"]))
                for s in data.get("streams", []) if s.get("feed_id") in ready]
        except (JanusError, JanusGone, StageError) as exc:
            await self.leave(listener_id)
            raise _refusal(exc) from exc
        return str(jsep["sdp"])

    async def answer(self, listener_id: str, answer_sdp: str) -> None:
        check_id(listener_id)
        subscriber = self._listeners.get(listener_id)
        if subscriber is None or subscriber.handle is None:
            raise StageError("no-offer")
        _offered_kinds(answer_sdp)
        try:
            await subscriber.handle.message({"request": "start"},
                                            {"type": "answer", "sdp": answer_sdp})
            await subscriber.handle.trickle_done()
        except (JanusError, JanusGone) as exc:
            await self.leave(listener_id)
            raise _refusal(exc) from exc

    async def listen_offered(self, listener_id: str, offer_sdp: str) -> str:
        raise StageError("bad-sdp", "with Janus the stage makes the offer: send stage.listen "
                                    "without a description")

    async def _listener_event(self, listener_id: str, subscriber: _Subscriber,
                              event: dict[str, Any]) -> None:
        if event.get("janus") in ("hangup", "detached") and \
                self._listeners.get(listener_id) is subscriber:
            await self.leave(listener_id)

    async def leave(self, listener_id: str) -> None:
        subscriber = self._listeners.pop(listener_id, None)
        if subscriber is not None and subscriber.handle is not None:
            await subscriber.handle.detach()

    # -- recording --

    async def record(self, publisher_id: str, base: str) -> tuple[str, ...]:
        """Janus records the publisher's streams to `<rec_dir>/<base>-<kind>-<mindex>.mjr`
        from now on; the kinds recorded."""
        feed = self._publishers.get(publisher_id)
        if feed is None or feed.handle is None or self.rec_dir is None:
            return ()
        await feed.handle.message({"request": "configure", "record": True, "filename": base})
        feed.recording = base
        return tuple(k for k in ("audio", "video") if k in feed.kinds)

    async def stop_recording(self, publisher_id: str) -> None:
        """Janus closes the files (a publisher that left has closed them already)."""
        feed = self._publishers.get(publisher_id)
        if feed is None or feed.handle is None or feed.recording is None:
            return
        feed.recording = None
        try:
            await feed.handle.message({"request": "configure", "record": False})
        except (JanusError, JanusGone):
            log.warning("janus: could not stop recording %s", publisher_id, exc_info=True)

    def recorded(self, base: str) -> list[Path]:
        return [] if self.rec_dir is None else sorted(self.rec_dir.glob(f"{base}-*.mjr"))

    # -- the end --

    async def close(self) -> None:
        self._closed = True
        await asyncio.gather(*(self.leave(lid) for lid in list(self._listeners)),
                             *(self.unpublish(pid) for pid in list(self._publishers)))
        if self._admin is not None and not self.session.lost:
            try:
                await self._admin.request({"request": "destroy", "room": self.room,
                                           "secret": self.secret})
            except (JanusError, JanusGone):
                log.warning("janus: could not destroy room %s", self.room, exc_info=True)
            await self._admin.detach()

