"""`create_app(settings)`: the only wiring point. It builds the services, puts them under
their keys (server/keys.py), and calls every `setup_*` of the sockets and the pages."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace

import socketio
from aiohttp import web
from aiohttp.typedefs import Handler
from redis.asyncio import BlockingConnectionPool, Redis

from recordings.archive import RecordingArchive
from recordings.retention import retention
from recordings.stage_tap import StageRecordings
from recordings.storage import data_directory
from rooms.clock import run_clock
from rooms.db import create_engine, sessionmaker
from rooms.faults import Faults
from rooms.notes import NoteBook
from rooms.presence import MemoryPresence, Presence, RedisPresence
from rooms.store import GatheringStore
from rooms.tasks import running
from rooms.worker import Worker
from server.keys import (
    ENGINE,
    LIVE,
    NOTES,
    POSTBOX,
    RECORDINGS,
    SESSIONS,
    SETTINGS,
    SOCKETS,
    STAGE,
    STORE,
)
from server.mail import Postbox
from server.mail.jobs import run_jobs
from server.metrics import setup_metrics
from server.pages.announcements import setup_announcements
from server.pages.assets import setup_assets
from server.pages.auth import setup_auth
from server.pages.bulk_invite import setup_bulk_invite
from server.pages.calendar import setup_calendar
from server.pages.experts import setup_experts
from server.pages.follow_ups import setup_follow_ups
from server.pages.gatherings import setup_gatherings
from server.pages.imports import setup_imports
from server.pages.invitations import setup_invitations
from server.pages.language import setup_language
from server.pages.mail_choice import setup_mail_choice
from server.pages.municipalities import setup_municipalities
from server.pages.network import setup_network
from server.pages.notifications import setup_notifications
from server.pages.overview import setup_overview
from server.pages.planning import setup_planning
from server.pages.privacy import setup_privacy
from server.pages.projects import setup_projects
from server.pages.recordings import setup_recordings
from server.pages.schedule import setup_schedule
from server.pages.search import setup_search
from server.pages.signin import setup_signin
from server.pages.signups import setup_signups
from server.pages.summary import setup_summaries
from server.pages.take_home import setup_take_home
from server.pages.templates import setup_templates
from server.pages.themes import setup_themes
from server.settings import Settings
from server.sockets import bounded_json
from server.sockets.bus import BusManager
from server.sockets.layer import SocketLayer
from server.sockets.media import setup_media
from server.sockets.media_state import setup_media_states
from server.sockets.notes import setup_notes
from server.sockets.reactions import setup_reactions
from server.sockets.server import ForumSocketServer
from server.sockets.stage import setup_stage, stage_engine
from signaling.ice import IceConfig

CleanupContext = Callable[[web.Application], AsyncIterator[None]]
# `forum serve` lets Python's cyclic GC run rarely (server/cli/main.py); so rarely that the
# oldest generation, where the cycles of long-open connections end up once closed (about
# 20 KB each: a traceback holding the websocket's frames), was never collected. One full
# collection every two minutes frees them.
GARBAGE_SECONDS = 120.0
# Redis connections of one worker. A storm of joins asks presence of Redis hundreds of
# times at once: beyond this many, a caller waits its turn (up to REDIS_WAIT seconds)
# instead of failing as if Redis were down (redis-py's default pool refuses the 101st).
REDIS_CONNECTIONS = 64
REDIS_WAIT = 10.0


@web.middleware
async def no_websocket_compression(request: web.Request, handler: Handler) -> web.StreamResponse:
    """permessage-deflate costs ~4x memory per connection and 20-35% CPU per delivery;
    engine.io's aiohttp driver has no switch for it, so we hide the offer from it."""
    if request.path.startswith("/socket.io/") and "Sec-WebSocket-Extensions" in request.headers:
        headers = request.headers.copy()
        del headers["Sec-WebSocket-Extensions"]
        request = request.clone(headers=headers)
    return await handler(request)


async def collect_garbage(every: float = GARBAGE_SECONDS) -> None:
    while True:
        await asyncio.sleep(every)
        gc.collect()


def during(context: Callable[[], AbstractAsyncContextManager[None]]) -> CleanupContext:
    """An async context manager as an aiohttp cleanup context: entered at start-up, left at
    the stop."""
    async def cleanup(app: web.Application) -> AsyncIterator[None]:
        async with context():
            yield
    return cleanup


def _socket_server(settings: Settings, bus: BusManager | None) -> socketio.AsyncServer:
    return ForumSocketServer(
        async_mode="aiohttp",
        client_manager=bus,
        cors_allowed_origins=[settings.origin],
        transports=["websocket"],
        max_http_buffer_size=settings.max_message_bytes,
        json=bounded_json,  # nesting bounded before decoding
    )


def _presence(redis: Redis | None, worker: Worker, settings: Settings) -> Presence:
    if redis is None:
        return MemoryPresence()
    return RedisPresence(redis, worker, prefix=f"{settings.redis_prefix}:presence")


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings.from_env()
    if not settings.secret_key:
        settings = replace(settings, secret_key=secrets.token_urlsafe(32))
    app = web.Application(middlewares=[no_websocket_compression],
                          client_max_size=settings.max_message_bytes)
    app[SETTINGS] = settings
    app[ENGINE] = engine = create_engine(settings.database_url)
    faults = Faults()  # this process's outages: logged once each, not per failure
    faults.watch(engine)
    app[SESSIONS] = sessions = sessionmaker(engine)
    app[STORE] = store = GatheringStore(sessions)
    app[POSTBOX] = Postbox(settings, sessions)
    app[RECORDINGS] = archive = RecordingArchive(sessions, data_directory(
        settings.recordings_path))
    redis = Redis(connection_pool=BlockingConnectionPool.from_url(
        settings.redis_url, decode_responses=True, max_connections=REDIS_CONNECTIONS,
        timeout=REDIS_WAIT)) if settings.redis_url else None
    worker = Worker(redis, prefix=settings.redis_prefix, ttl=max(3, settings.worker_ttl),
                    faults=faults)
    ice = IceConfig.parse(settings.stun_urls, settings.turn_urls, settings.turn_secret,
                          settings.turn_ttl)

    # the live socket handlers (server/sockets/): every event passes the one gate
    bus = BusManager(settings.redis_url, channel=f"{settings.redis_prefix}:socketio",
                     fault=faults.redis) if settings.redis_url else None
    sio = _socket_server(settings, bus)
    sio.attach(app)
    app[SOCKETS] = sockets = SocketLayer(sio, sessions, store, _presence(redis, worker,
                                                                         settings), faults)
    app[LIVE] = sockets.live
    notes = setup_notes(sio, sockets, NoteBook(sessions, sockets.note_template))
    app[NOTES] = notes.book
    setup_reactions(sio, sockets)
    setup_media(sio, sockets, redis, settings.redis_prefix, ice)
    setup_media_states(sio, sockets, redis, settings.redis_prefix)
    media = stage_engine(settings, ice, archive.directory / "janus")
    app[STAGE] = stage = setup_stage(sio, sockets, worker, media, StageRecordings(archive))

    # the HTTP pages (server/pages/), one module per area
    setup_templates(app)  # with the locale middleware, before the pages' own
    setup_auth(app)
    setup_language(app)  # after setup_auth: a signed-in person's language
    setup_signin(app)
    setup_calendar(app)  # before the room's `/g/{gathering}`, which would take `/g/{id}.ics`
    setup_planning(app)
    setup_summaries(app)
    setup_themes(app)
    setup_recordings(app)
    setup_gatherings(app)
    setup_projects(app)
    setup_municipalities(app)
    setup_invitations(app)
    setup_bulk_invite(app)
    setup_mail_choice(app)
    setup_imports(app)
    setup_schedule(app)
    setup_overview(app)
    setup_privacy(app)
    # the theme's forum between gatherings
    setup_announcements(app)
    setup_notifications(app)
    setup_follow_ups(app)
    setup_network(app)
    setup_experts(app)
    setup_search(app)
    setup_take_home(app)
    setup_signups(app)
    setup_assets(app)

    # Prometheus' figures (server/metrics.py): observers on the gate, the broadcasts, the
    # command path's store time and the notes; /metrics is off without METRICS_TOKEN
    metrics = setup_metrics(app)
    metrics.connected.set_function(lambda: len(sockets.connections))
    sockets.gate.answered = metrics.answered
    sockets.after_publish.append(metrics.published)
    sockets.live.db_time = metrics.db_time
    notes.updated = metrics.note_update

    async def resources(app: web.Application) -> AsyncIterator[None]:
        async with running(run_clock(sockets.live, faults)), running(collect_garbage()), \
                running(run_jobs(app)), running(metrics.loop_lag()):
            yield
        await sockets.live.drain()  # what was sent before the stop is stored, or refused
        await notes.book.drain()
        await app[POSTBOX].close()
        if redis is not None:
            await redis.aclose()
        await engine.dispose()

    async def disconnect_everyone(app: web.Application) -> None:
        """On SIGTERM aiohttp waits up to a minute for open websockets before cleaning up:
        close them first, so clients reconnect to another worker at once and this one's
        presence (and stage peers) go with them."""
        for sid in list(sockets.connections):
            with contextlib.suppress(Exception):
                await sio.disconnect(sid)

    app.on_shutdown.append(disconnect_everyone)
    app.cleanup_ctx.append(resources)
    # after resources, so they stop before Redis closes: this worker's presence and its
    # stages hang on its one heartbeat (rooms/worker.py)
    app.cleanup_ctx.append(during(sockets.presence_alive))
    app.cleanup_ctx.append(during(stage.serving))
    app.cleanup_ctx.append(during(notes.janitor))
    if bus is not None:
        app.cleanup_ctx.append(during(bus.serving))
    app.cleanup_ctx.append(during(lambda: retention(archive,
                                                     settings.recording_retention_days)))
    return app
