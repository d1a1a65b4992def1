"""The plenary stage: server-side aiortc peers, decode once, encode once, forward packets.

One `Stage` per gathering, living in the one process that owns the gathering (signaling for
its server-side peers is routed there). The socket layer is server/sockets/stage.py: every
call takes a participant id (the tab's socket.io sid) and an SDP string and returns an SDP
string, and raises `StageError` (with a stable `code`) that the handler turns into an error
reply.

    stage = Stage()
    answer = await stage.publish(publisher_id, offer_sdp)   # publisher sends audio+video
    offer = await stage.listen(listener_id)                 # the server offers the stage
    await stage.answer(listener_id, answer_sdp)             # the listener's answer
    await stage.unpublish(publisher_id); await stage.leave(listener_id); await stage.close()

signaling/janus_stage.py is the same stage in a Janus VideoRoom (MEDIA_ENGINE=janus); the
host (signaling/stage_host.py) uses either through these calls.

Media path for each published track (see `_Fanout`):

    publisher --RTP--> RTCRtpReceiver (aiortc decodes ONCE) --frames--> one consumer task
        --> one shared encoder (VP8 640x360 realtime / Opus), run off the event loop
        --> the same `av.Packet` objects pushed to every listener's `ListenerTrack`
        --> each listener's RTCRtpSender only packetises (`Encoder.pack`) and encrypts.

aiortc's `RTCRtpSender._next_encoded_frame` calls `encoder.pack(packet)` when the track
yields something that is not an `av.Frame`; the packer is chosen from the negotiated codec,
so each listener's video transceiver is restricted to VP8 (the shared encoder's codec) and
its audio transceiver to Opus. `pack` reads `packet.pts` and `packet.time_base` and
`bytes(packet)`, nothing else, so one packet object is safely shared by all senders.

Keyframe requests: RTCP PLI/FIR reaching a listener's sender is handled by aiortc in
`RTCRtpSender._handle_rtcp_packet`, which calls `self._send_keyframe()` (it only sets a flag
that matters when the sender encodes itself). `_hook_keyframe_requests` wraps that method on
the sender instance (no aiortc fork, no subclass: aiortc creates the senders itself) so the
request also reaches the shared encoder, whose next frame is then encoded as a keyframe.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.codecs.opus import OpusEncoder
from aiortc.mediastreams import MediaStreamError

from rooms.tasks import stop as stop_task

log = logging.getLogger(__name__)

VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
AUDIO_TIME_BASE = fractions.Fraction(1, 48000)
MAX_SDP_BYTES = 64 * 1024
MAX_ID_LENGTH = 200
MAX_M_LINES = 8  # of one peer connection


class StageError(Exception):
    """A refused stage operation; `code` is stable and meant for the client."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


@dataclass(frozen=True)
class StageConfig:
    """Limits and encoder settings. Video is scaled to fit `video_width` x `video_height`."""

    max_publishers: int = 4
    max_listeners: int = 500
    video_width: int = 640
    video_height: int = 360
    video_bitrate: int = 800_000
    #: Packets queued per listener track before the oldest are dropped.
    video_queue: int = 60
    audio_queue: int = 50
    #: Minimum seconds between keyframes forced by requests (PLI/FIR, joins, drops).
    keyframe_interval: float = 0.5
    #: Tracks one publisher may send (camera/screen video, microphone audio).
    publisher_video_tracks: int = 2
    publisher_audio_tracks: int = 1
    #: Seconds allowed for closing one peer connection.
    close_timeout: float = 5.0
    encoder_threads: int = 2
    ice_servers: tuple[RTCIceServer, ...] = field(default_factory=tuple)


# -- Encoders -------------------------------------------------------------------------------


class _VideoEncoder:
    """VP8 through PyAV with aiortc's real-time settings; yields raw (unpacketised) packets."""

    def __init__(self, width: int, height: int, bitrate: int) -> None:
        self.box = (width, height)
        self.bitrate = bitrate
        self.codec: Any = None
        self._last_pts: int | None = None
        self._clock = 0

    def _size(self, frame: av.VideoFrame) -> tuple[int, int]:
        scale = min(self.box[0] / frame.width, self.box[1] / frame.height, 1.0)
        width = max(2, int(frame.width * scale) // 2 * 2)
        height = max(2, int(frame.height * scale) // 2 * 2)
        return width, height

    def encode(self, frame: Any, keyframe: bool) -> list[av.Packet]:
        width, height = self._size(frame)
        if frame.width != width or frame.height != height or frame.format.name != "yuv420p":
            pts, time_base = frame.pts, frame.time_base
            frame = frame.reformat(width=width, height=height, format="yuv420p")
            frame.pts, frame.time_base = pts, time_base
        if self.codec is not None and (self.codec.width, self.codec.height) != (width, height):
            self.codec = None
        if self.codec is None:
            codec: Any = av.CodecContext.create("libvpx", "w")
            codec.width, codec.height = width, height
            codec.bit_rate = self.bitrate
            codec.pix_fmt = "yuv420p"
            codec.gop_size = 3000
            codec.qmin, codec.qmax = 2, 56
            codec.time_base = frame.time_base or VIDEO_TIME_BASE
            codec.options = {
                "bufsize": str(self.bitrate),
                "cpu-used": "-6",
                "deadline": "realtime",
                "lag-in-frames": "0",
                "minrate": str(self.bitrate),
                "maxrate": str(self.bitrate),
                "noise-sensitivity": "4",
                "overshoot-pct": "15",
                "partitions": "0",
                "static-thresh": "1",
                "undershoot-pct": "100",
            }
            codec.thread_count = 1
            self.codec = codec
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        pts = frame.pts if frame.pts is not None else 0
        time_base = frame.time_base or VIDEO_TIME_BASE
        # libvpx wants increasing timestamps in its time base; the receiver's pts are RTP
        # timestamps that start anywhere and wrap at 2**32, so the encoder sees them
        # unwrapped while the packets carry the frame's own pts for the senders.
        if self._last_pts is not None:
            delta = (pts - self._last_pts) & 0xFFFFFFFF
            self._clock += delta if 0 < delta < 0x80000000 else 1
        self._last_pts = pts
        frame.pts, frame.time_base = self._clock, time_base
        packets = list(self.codec.encode(frame))
        for packet in packets:
            packet.pts, packet.time_base = pts, time_base
        return packets


class _AudioEncoder:
    """Opus through aiortc's own encoder (which resamples); payloads become `av.Packet`s."""

    def __init__(self) -> None:
        self.opus = OpusEncoder()

    def encode(self, frame: Any, keyframe: bool) -> list[av.Packet]:
        payloads, timestamp = self.opus.encode(frame)
        packets = []
        for i, payload in enumerate(payloads):
            packet = av.Packet(payload)
            packet.pts, packet.time_base = timestamp + i * 960, AUDIO_TIME_BASE
            packets.append(packet)
        return packets


# -- Fan-out --------------------------------------------------------------------------------


class ListenerTrack(MediaStreamTrack):
    """One listener's view of a published track: `recv()` returns shared encoded packets.

    Bounded: when the listener falls behind by more than `maxsize` packets the queue is
    emptied; for video it then skips to the next keyframe and asks the shared encoder for
    one (the dropped frames are references the listener's decoder would need)."""

    def __init__(self, fanout: _Fanout, maxsize: int) -> None:
        super().__init__()
        self.kind = fanout.kind
        self._fanout = fanout
        self._maxsize = maxsize
        self._queue: deque[av.Packet] = deque()
        self._ready = asyncio.Event()
        self._need_keyframe = fanout.kind == "video"
        self.dropped = 0

    def push(self, packet: av.Packet, keyframe: bool) -> None:
        if self.readyState != "live":
            return
        if self._need_keyframe and not keyframe:
            return
        if len(self._queue) >= self._maxsize:
            self.dropped += len(self._queue)
            self._queue.clear()
            if self.kind == "video" and not keyframe:
                self._need_keyframe = True
                self._fanout.request_keyframe()
                return
        self._need_keyframe = False
        self._queue.append(packet)
        self._ready.set()

    async def recv(self) -> av.Packet:
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    def stop(self) -> None:
        if self.readyState == "live":
            super().stop()
            self._fanout.detach(self)
        self._ready.set()


class _Fanout:
    """One published track: a consumer task, ONE encoder, N listener tracks."""

    def __init__(self, stage: Stage, publisher_id: str, source: MediaStreamTrack) -> None:
        self.stage = stage
        self.publisher_id = publisher_id
        self.source = source
        self.kind = source.kind
        self.track_id = source.id
        self.listeners: set[ListenerTrack] = set()
        self.encoded_frames = 0
        self.received_frames = 0
        self.keyframes = 0
        self.keyframe_requests = 0
        #: who else gets each decoded frame (a recorder): called on the loop with the frame
        #: before the encoder thread sees it, so no second decode and no second reader
        self.taps: list[Callable[[str, Any], object]] = []
        self._force_keyframe = False
        self._last_forced = -1e9
        config = stage.config
        self.encoder: _VideoEncoder | _AudioEncoder
        if self.kind == "video":
            self.encoder = _VideoEncoder(
                config.video_width, config.video_height, config.video_bitrate
            )
        else:
            self.encoder = _AudioEncoder()
        stage.encoders_created[self.kind] = stage.encoders_created.get(self.kind, 0) + 1
        self.task = asyncio.create_task(self._run(), name=f"stage-{self.kind}-{self.track_id}")

    def request_keyframe(self) -> None:
        if self.kind == "video":
            self.keyframe_requests += 1
            self._force_keyframe = True

    def _take_keyframe_request(self) -> bool:
        """Honour a pending request at most every `keyframe_interval` s (50 listeners' PLIs
        after a loss burst must not turn into 50 keyframes); a deferred one stays pending."""
        if not self._force_keyframe:
            return False
        now = time.monotonic()
        if now - self._last_forced < self.stage.config.keyframe_interval:
            return False
        self._force_keyframe, self._last_forced = False, now
        return True

    def attach(self, maxsize: int) -> ListenerTrack:
        track = ListenerTrack(self, maxsize)
        self.listeners.add(track)
        self.request_keyframe()  # a new listener needs a keyframe to start decoding
        return track

    def detach(self, track: ListenerTrack) -> None:
        self.listeners.discard(track)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await self.source.recv()
                self.received_frames += 1
                for tap in tuple(self.taps):
                    tap(self.kind, frame)
                if not self.listeners:
                    continue  # nobody to send to: drain the receiver, encode nothing
                keyframe = self._take_keyframe_request()
                packets = await loop.run_in_executor(
                    self.stage._executor, self.encoder.encode, frame, keyframe
                )
                self.encoded_frames += 1
                for packet in packets:
                    is_key = self.kind == "audio" or bool(packet.is_keyframe)
                    if self.kind == "video" and is_key:
                        self.keyframes += 1
                    for listener in tuple(self.listeners):
                        listener.push(packet, is_key)
        except (MediaStreamError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("stage track %s failed", self.track_id)
        finally:
            for listener in tuple(self.listeners):
                listener.stop()

    async def stop(self) -> None:
        await stop_task(self.task)


def _hook_keyframe_requests(sender: RTCRtpSender, fanout: _Fanout) -> None:
    """Make PLI/FIR at this listener's sender reach the shared encoder.

    aiortc 1.16: `RTCRtpSender._handle_rtcp_packet` calls `self._send_keyframe()` for
    RTCP_PSFB_PLI and RTCP_PSFB_FIR. We wrap that bound method on this instance."""
    original: Callable[[], None] | None = getattr(sender, "_send_keyframe", None)
    if original is None:  # pragma: no cover - guards an aiortc upgrade
        raise RuntimeError("aiortc RTCRtpSender._send_keyframe is gone: update the PLI hook")

    def send_keyframe() -> None:
        original()
        fanout.request_keyframe()

    setattr(sender, "_send_keyframe", send_keyframe)  # noqa: B010 - instance override


# -- Peers ----------------------------------------------------------------------------------


@dataclass
class _Publisher:
    pc: RTCPeerConnection
    fanouts: list[_Fanout] = field(default_factory=list)


@dataclass
class _Listener:
    pc: RTCPeerConnection
    tracks: list[ListenerTrack] = field(default_factory=list)
    #: (mid, publisher id, kind) of each m-line that carries a published track
    assigned: list[tuple[str, str, str]] = field(default_factory=list)


_CODEC_FOR_KIND = {"video": "video/vp8", "audio": "audio/opus"}


def _restrict_codecs(pc: RTCPeerConnection) -> None:
    """Keep only the shared encoder's codec (plus its RTX) on each listener transceiver.

    With the listener as offerer, aiortc fills `transceiver._codecs` from the offer in
    setRemoteDescription, before we can call setCodecPreferences; the packer the sender
    uses is `get_encoder(codecs[0])`, so it must be the codec we encoded with."""
    for transceiver in pc.getTransceivers():
        wanted = _CODEC_FOR_KIND.get(transceiver.kind)
        codecs = transceiver._codecs
        main = [c for c in codecs if c.mimeType.lower() == wanted]
        if not main:
            raise StageError("codec-unsupported", f"listener offers no {wanted}")
        keep = main[:1]
        pt = keep[0].payloadType
        keep += [
            c
            for c in codecs
            if c.mimeType.lower().endswith("/rtx") and c.parameters.get("apt") == pt
        ]
        transceiver._codecs = keep


def _sent_codecs(kind: str) -> list[RTCRtpCodecCapability]:
    """What a listener's transceiver of `kind` may use: the shared encoder's codec (and RTX)."""
    wanted = _CODEC_FOR_KIND[kind]
    return [c for c in RTCRtpSender.getCapabilities(kind).codecs
            if c.mimeType.lower() in (wanted, "video/rtx")]


def _require_media(pc: RTCPeerConnection) -> None:
    kinds = [t.kind for t in pc.getTransceivers()]
    if not kinds or any(kind not in _CODEC_FOR_KIND for kind in kinds) or len(kinds) > MAX_M_LINES:
        raise StageError("bad-sdp", "expected 1 to 8 audio/video m-lines")


def server_configuration(ice_servers: list[RTCIceServer]) -> RTCConfiguration:
    """The configuration of every server-side peer: max-bundle, always.

    aiortc 1.16's default "balanced" policy gives the second m-line of a kind the transport
    of the first of that kind and marks it bundled; when the offer then BUNDLEs everything
    onto the first m-line's transport, that second m-line is skipped and left on a transport
    that is stopped: a listener's second video (a second publisher) never gets a packet."""
    return RTCConfiguration(iceServers=ice_servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


async def notify(callback: Callable[[str], Any] | None, participant_id: str) -> None:
    """Tell the stage's owner (`on_published`, `on_unpublished`); its failure is logged."""
    if callback is None:
        return
    try:
        result = callback(participant_id)
        if asyncio.iscoroutine(result):
            await result
    except Exception:
        log.exception("stage: telling the owner about %s failed", participant_id)


def check_id(participant_id: str) -> None:
    if not isinstance(participant_id, str) or not 0 < len(participant_id) <= MAX_ID_LENGTH:
        raise StageError("bad-id")


def check_sdp(sdp: str) -> None:
    if not isinstance(sdp, str) or not sdp or len(sdp.encode()) > MAX_SDP_BYTES:
        raise StageError("bad-sdp")


def _check(participant_id: str, sdp: str) -> None:
    check_id(participant_id)
    check_sdp(sdp)


class Stage:
    """The stage of one gathering. All methods run on the owning process's event loop."""

    def __init__(self, config: StageConfig | None = None) -> None:
        self.config = config or StageConfig()
        self._publishers: dict[str, _Publisher] = {}
        self._listeners: dict[str, _Listener] = {}
        self._fanouts: dict[str, _Fanout] = {}
        self._executor = ThreadPoolExecutor(
            max_workers=self.config.encoder_threads, thread_name_prefix="stage-encode"
        )
        self._closed = False
        self.encoders_created: dict[str, int] = {}
        #: called with the publisher id whenever a publisher leaves the stage (also when its
        #: connection fails), so the owner can tell the listeners
        self.on_unpublished: Callable[[str], Any] | None = None
        #: never called here: a publisher's tracks can be listened to from `publish` on (the
        #: Janus stage calls it once a publisher's media is up)
        self.on_published: Callable[[str], Any] | None = None

    # -- observation (tests, metrics) --

    @property
    def encoded_frames(self) -> dict[str, int]:
        return {tid: f.encoded_frames for tid, f in self._fanouts.items()}

    @property
    def keyframes(self) -> dict[str, int]:
        return {tid: f.keyframes for tid, f in self._fanouts.items()}

    @property
    def keyframe_requests(self) -> dict[str, int]:
        return {tid: f.keyframe_requests for tid, f in self._fanouts.items()}

    def tracks(self, publisher_id: str, kind: str | None = None) -> list[str]:
        """Track ids published by `publisher_id` (optionally only `kind`)."""
        publisher = self._publishers.get(publisher_id)
        if publisher is None:
            return []
        return [f.track_id for f in publisher.fanouts if kind in (None, f.kind)]

    def kinds(self, publisher_id: str) -> list[str]:
        """The kind of each track `publisher_id` publishes, in m-line order."""
        publisher = self._publishers.get(publisher_id)
        return [] if publisher is None else [f.kind for f in publisher.fanouts]

    def listener_tracks(self, listener_id: str) -> list[tuple[str, str, str]]:
        """(mid, publisher id, kind) of the m-lines that carry a track to this listener."""
        listener = self._listeners.get(listener_id)
        return [] if listener is None else list(listener.assigned)

    @property
    def publishers(self) -> list[str]:
        return list(self._publishers)

    def tap(self, publisher_id: str, sink: Callable[[str, Any], object]) -> tuple[str, ...]:
        """Hand `sink(kind, frame)` every decoded frame `publisher_id` publishes from now
        on; the kinds tapped. The frames are shared: `sink` must only read them."""
        publisher = self._publishers.get(publisher_id)
        if publisher is None:
            return ()
        for fanout in publisher.fanouts:
            fanout.taps.append(sink)
        return tuple(dict.fromkeys(f.kind for f in publisher.fanouts))

    def untap(self, publisher_id: str, sink: Callable[[str, Any], object]) -> None:
        publisher = self._publishers.get(publisher_id)
        for fanout in [] if publisher is None else publisher.fanouts:
            if sink in fanout.taps:
                fanout.taps.remove(sink)

    @property
    def listeners(self) -> list[str]:
        return list(self._listeners)

    # -- operations --

    def _new_pc(self) -> RTCPeerConnection:
        return RTCPeerConnection(server_configuration(list(self.config.ice_servers)))

    def _ensure_open(self) -> None:
        if self._closed:
            raise StageError("stage-closed")

    async def publish(self, publisher_id: str, offer_sdp: str) -> str:
        """Accept a publisher's offer (audio and/or video, sendonly); return the answer."""
        _check(publisher_id, offer_sdp)
        self._ensure_open()
        if publisher_id in self._publishers:
            raise StageError("already-publishing")
        if len(self._publishers) >= self.config.max_publishers:
            raise StageError("stage-full")
        pc = self._new_pc()
        publisher = _Publisher(pc)
        self._publishers[publisher_id] = publisher

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            fanout = _Fanout(self, publisher_id, track)
            publisher.fanouts.append(fanout)
            self._fanouts[fanout.track_id] = fanout

        self._watch(pc, lambda: self.unpublish(publisher_id))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            _require_media(pc)
            kinds = [t.kind for t in pc.getTransceivers()]
            if (
                kinds.count("video") > self.config.publisher_video_tracks
                or kinds.count("audio") > self.config.publisher_audio_tracks
            ):
                raise StageError("too-many-tracks")
            await pc.setLocalDescription(await pc.createAnswer())
        except StageError:
            await self.unpublish(publisher_id)
            raise
        except Exception as exc:
            await self.unpublish(publisher_id)
            raise StageError("bad-sdp", str(exc)) from exc
        return pc.localDescription.sdp

    def _listener(self, listener_id: str) -> _Listener:
        """A new listener peer for `listener_id` (who must not have one)."""
        self._ensure_open()
        if listener_id in self._listeners:
            raise StageError("already-listening")
        if len(self._listeners) >= self.config.max_listeners:
            raise StageError("stage-full")
        pc = self._new_pc()
        listener = _Listener(pc)
        self._listeners[listener_id] = listener
        self._watch(pc, lambda: self.leave(listener_id))
        return listener

    def _attach(self, fanout: _Fanout, listener: _Listener) -> ListenerTrack:
        maxsize = self.config.video_queue if fanout.kind == "video" else self.config.audio_queue
        track = fanout.attach(maxsize)
        listener.tracks.append(track)
        return track

    async def listen(self, listener_id: str) -> str | None:
        """The server's offer to a listener: one sendonly m-line per published track (VP8
        or Opus, the shared encoder's codecs), in publication order, but the listener's own;
        None when nobody else publishes. The listener's answer goes to `answer`."""
        check_id(listener_id)
        self._ensure_open()
        # a tab on stage does not get its own tracks back (its upload is the scarce part)
        fanouts = [f for f in self._fanouts.values() if f.publisher_id != listener_id]
        if not fanouts:
            return None
        listener = self._listener(listener_id)
        pc = listener.pc
        try:
            sending = []
            for fanout in fanouts:
                transceiver = pc.addTransceiver(self._attach(fanout, listener),
                                                direction="sendonly")
                transceiver.setCodecPreferences(_sent_codecs(fanout.kind))
                sending.append((transceiver, fanout))
            await pc.setLocalDescription(await pc.createOffer())
            for transceiver, fanout in sending:
                listener.assigned.append((str(transceiver.mid), fanout.publisher_id,
                                          fanout.kind))
                if fanout.kind == "video":
                    _hook_keyframe_requests(transceiver.sender, fanout)
        except Exception as exc:
            await self.leave(listener_id)
            raise StageError("bad-sdp", str(exc)) from exc
        return pc.localDescription.sdp

    async def answer(self, listener_id: str, answer_sdp: str) -> None:
        """The listener's answer to the offer `listen` made."""
        _check(listener_id, answer_sdp)
        listener = self._listeners.get(listener_id)
        if listener is None or listener.pc.signalingState != "have-local-offer":
            raise StageError("no-offer")
        try:
            await listener.pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        except Exception as exc:
            await self.leave(listener_id)
            raise StageError("bad-sdp", str(exc)) from exc

    async def listen_offered(self, listener_id: str, offer_sdp: str) -> str:
        """Deprecated (the listener offers, protocol before stage listening v2; removed in
        the next release): accept a listener's recvonly offer, return an answer.

        Publishers' tracks are matched to the offer's m-lines of the same kind in publication
        order; m-lines left over stay inactive until a later renegotiation fills them."""
        _check(listener_id, offer_sdp)
        listener = self._listener(listener_id)
        pc = listener.pc
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            _require_media(pc)
            _restrict_codecs(pc)
            free: dict[str, list[Any]] = {"audio": [], "video": []}
            for transceiver in pc.getTransceivers():
                if transceiver.kind in free:
                    free[transceiver.kind].append(transceiver)
            for fanout in self._fanouts.values():
                if not free[fanout.kind]:
                    continue
                transceiver = free[fanout.kind].pop(0)
                transceiver.sender.replaceTrack(self._attach(fanout, listener))
                transceiver.direction = "sendonly"
                listener.assigned.append((transceiver.mid, fanout.publisher_id, fanout.kind))
                if fanout.kind == "video":
                    _hook_keyframe_requests(transceiver.sender, fanout)
            await pc.setLocalDescription(await pc.createAnswer())
        except StageError:
            await self.leave(listener_id)
            raise
        except Exception as exc:
            await self.leave(listener_id)
            raise StageError("bad-sdp", str(exc)) from exc
        return pc.localDescription.sdp

    def _watch(self, pc: RTCPeerConnection, cleanup: Callable[[], Any]) -> None:
        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await cleanup()

    async def _close_pc(self, pc: RTCPeerConnection) -> None:
        try:
            await asyncio.wait_for(pc.close(), self.config.close_timeout)
        except Exception:  # includes TimeoutError
            log.warning("stage: peer connection did not close cleanly", exc_info=True)

    async def unpublish(self, publisher_id: str) -> None:
        """Take a publisher off stage: its tracks end for every listener."""
        publisher = self._publishers.pop(publisher_id, None)
        if publisher is None:
            return
        for fanout in publisher.fanouts:
            self._fanouts.pop(fanout.track_id, None)
            await fanout.stop()
        await self._close_pc(publisher.pc)
        await notify(self.on_unpublished, publisher_id)

    async def leave(self, listener_id: str) -> None:
        listener = self._listeners.pop(listener_id, None)
        if listener is None:
            return
        for track in listener.tracks:
            track.stop()
        await self._close_pc(listener.pc)

    async def close(self) -> None:
        """Close every peer (each bounded by `close_timeout`) and the encoder threads."""
        self._closed = True
        await asyncio.gather(
            *(self.leave(lid) for lid in list(self._listeners)),
            *(self.unpublish(pid) for pid in list(self._publishers)),
        )
        self._executor.shutdown(wait=False, cancel_futures=True)

    def stats(self) -> dict[str, Any]:
        return {
            "time": time.time(),
            "publishers": len(self._publishers),
            "listeners": len(self._listeners),
            "encoders_created": dict(self.encoders_created),
            "tracks": {
                tid: {
                    "kind": f.kind,
                    "publisher": f.publisher_id,
                    "received": f.received_frames,
                    "encoded": f.encoded_frames,
                    "keyframes": f.keyframes,
                    "keyframe_requests": f.keyframe_requests,
                    "keyframe_pending": f._force_keyframe,
                    "listeners": len(f.listeners),
                }
                for tid, f in self._fanouts.items()
            },
        }
