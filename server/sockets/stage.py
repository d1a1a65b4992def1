"""Socket.IO events of the plenary stage: `stage.publish`, `stage.listen`, `stage.unpublish`
and `stage.leave`, and the pushed `stage` event. docs/protocol.md, "The stage", is the
public description.

This is the edge on every worker: identity, a rate bucket per connection, validation, error
codes; it hands each request to the router (signaling/stage_router.py), which runs it where
the gathering's stage lives (signaling/stage_host.py), and forgets the connection's stage
peers when it closes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Literal

import socketio
from pydantic import StringConstraints

from recordings.stage_tap import StageRecordings
from rooms.worker import Worker
from server.settings import Settings
from server.sockets.gate import Budget, Caller, SocketEvent
from server.sockets.layer import SocketLayer
from signaling.engines import AiortcEngine, Engine
from signaling.ice import IceConfig
from signaling.janus_pool import JanusEngine
from signaling.relay import SDP_MAX, GatheringId, MediaRef, Strict
from signaling.stage import StageConfig
from signaling.stage_host import StageHost
from signaling.stage_router import StageRouter

log = logging.getLogger(__name__)

# each request builds a server-side peer connection
STAGE_REQUESTS = Budget("stage", rate=2, burst=10, what="stage requests")
#: events after which someone on stage may have lost the right to publish
FLOOR_EVENTS = frozenset({"hand.called", "agenda.item_started", "stage.spotlight",
                          "stage.cleared", "stage.floor_ended", "gathering.ended",
                          "recording.started", "recording.stopped"})

class Offer(Strict):
    type: Literal["offer"]
    sdp: Annotated[str, StringConstraints(min_length=1, max_length=SDP_MAX)]


class Answer(Strict):
    type: Literal["answer"]
    sdp: Annotated[str, StringConstraints(min_length=1, max_length=SDP_MAX)]


class StageOffer(Strict):
    gathering: GatheringId
    description: Offer


class StageListen(Strict):
    """Without `description`: the stage offers. With one: the deprecated listener's offer."""

    gathering: GatheringId
    description: Offer | None = None


class StageAnswer(Strict):
    gathering: GatheringId
    description: Answer


class StageSockets:
    def __init__(self, sockets: SocketLayer, router: StageRouter) -> None:
        self.router = router
        self.local: dict[str, set[str]] = {}  # sid on this worker -> gatherings on stage
        sockets.register(
            SocketEvent("stage.publish", StageOffer.model_validate, self._publish,
                        STAGE_REQUESTS),
            SocketEvent("stage.listen", StageListen.model_validate, self._listen,
                        STAGE_REQUESTS),
            SocketEvent("stage.answer", StageAnswer.model_validate, self._answer,
                        STAGE_REQUESTS),
            # leaving needs no room: a tab may leave whatever happened to its join
            SocketEvent("stage.unpublish", MediaRef.model_validate, self._unpublish,
                        STAGE_REQUESTS, joined=False),
            SocketEvent("stage.leave", MediaRef.model_validate, self._leave, STAGE_REQUESTS,
                        joined=False))
        sockets.on_close.append(self.on_disconnect)
        sockets.after_publish.append(self.on_events)

    async def on_disconnect(self, sid: str) -> None:
        for gathering_id in self.local.pop(sid, set()):
            try:
                await self.router.call({"op": "leave", "gathering": gathering_id, "sid": sid},
                                       claim=False)
            except Exception:  # the other close hooks must still run
                log.exception("could not take %s off the stage of %s", sid, gathering_id)

    async def on_events(self, gathering_id: str, events: list[dict[str, Any]]) -> None:
        """After a commit: if the floor moved, the owner takes off stage who lost it. In the
        background: this runs under the gathering's command lock, which the review needs."""
        if any(event.get("type") in FLOOR_EVENTS for event in events):
            self.router.spawn(self._review(gathering_id))

    async def _review(self, gathering_id: str) -> None:
        try:
            await self.router.call({"op": "review", "gathering": gathering_id}, claim=False)
        except Exception:
            log.exception("stage review of %s failed", gathering_id)

    async def _call(self, op: str, caller: Caller, gathering_id: str,
                    sdp: str | None) -> dict[str, Any]:
        actor = caller.actor
        request = {"op": op, "gathering": gathering_id, "sid": caller.sid,
                   "person_id": actor.person_id, "name": actor.name,
                   "role": actor.role.value, "sdp": sdp}
        self.local.setdefault(caller.sid, set()).add(gathering_id)
        return await self.router.call(request)

    async def _publish(self, caller: Caller, offer: StageOffer) -> dict[str, Any]:
        return await self._call("publish", caller, offer.gathering, offer.description.sdp)

    async def _listen(self, caller: Caller, listen: StageListen) -> dict[str, Any]:
        offered = listen.description
        return await self._call("listen", caller, listen.gathering,
                                None if offered is None else offered.sdp)

    async def _answer(self, caller: Caller, answer: StageAnswer) -> dict[str, Any]:
        return await self._call("answer", caller, answer.gathering, answer.description.sdp)

    async def _unpublish(self, caller: Caller, ref: MediaRef) -> dict[str, Any]:
        return await self.router.call({"op": "unpublish", "gathering": ref.gathering,
                                       "sid": caller.sid}, claim=False)

    async def _leave(self, caller: Caller, ref: MediaRef) -> dict[str, Any]:
        joined = self.local.get(caller.sid)
        if joined is not None:
            joined.discard(ref.gathering)
        return await self.router.call({"op": "leave", "gathering": ref.gathering,
                                       "sid": caller.sid}, claim=False)


def stage_engine(settings: Settings, ice: IceConfig, rec_dir: Path | None) -> Engine:
    """The media engine MEDIA_ENGINE names (signaling/engines.py)."""
    config = StageConfig(max_publishers=settings.stage_max_publishers)
    if settings.media_engine == "janus":
        urls = [u.strip() for u in settings.janus_urls.split(",") if u.strip()]
        return JanusEngine(urls, settings.janus_api_secret, config, rec_dir)
    if settings.media_engine != "aiortc":
        raise ValueError(f"MEDIA_ENGINE is aiortc or janus, not {settings.media_engine!r}")
    return AiortcEngine(config, ice)


def setup_stage(sio: socketio.AsyncServer, sockets: SocketLayer, worker: Worker,
                engine: Engine, recordings: StageRecordings | None = None) -> StageRouter:
    """Wire the stage into an app; returns the router (its `serving()` runs while the app
    serves)."""

    async def emit(event: str, data: dict[str, Any], room: str) -> None:
        await sio.emit(event, data, room=room)

    host = StageHost(sockets.live, emit, engine, recordings)
    router = StageRouter(host, worker, sockets.error_answer)
    StageSockets(sockets, router)
    return router
