"""`create_app(settings)`: the only wiring point."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import socketio
from aiohttp import web
from aiohttp.typedefs import Handler
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from recordings.storage import data_directory
from rooms.clock import run_clock
from rooms.db import create_engine, sessionmaker
from rooms.live import LiveRooms
from rooms.notes import NoteBook
from rooms.presence import MemoryPresence, Presence, RedisPresence
from rooms.recordings import RecordingArchive
from rooms.store import GatheringStore
from server.media import MediaSockets
from server.media_state import MediaStateSockets
from server.notes import NoteSockets, note_templates
from server.reactions import Reactions
from server.settings import Settings
from server.sockets import SocketLayer
from server.stage_recordings import StageRecordings
from server.stage_sockets import StageRouter, setup_stage
from signaling.ice import IceConfig
from signaling.media_state import MediaStates, MemoryMediaStates, RedisMediaStates
from signaling.peers import MediaPeers, MemoryPeers, PeerRegistry, RedisPeers

SOURCE_ROOT = Path(__file__).resolve().parent.parent

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker)
STORE = web.AppKey("store", GatheringStore)
LIVE = web.AppKey("live", LiveRooms)
SOCKETS = web.AppKey("sockets", SocketLayer)
NOTES = web.AppKey("notes", NoteBook)
STAGE = web.AppKey("stage", StageRouter)
RECORDINGS = web.AppKey("recordings", RecordingArchive)


@web.middleware
async def no_websocket_compression(request: web.Request, handler: Handler) -> web.StreamResponse:
    """permessage-deflate costs ~4x memory per connection and 20-35% CPU per delivery;
    engine.io's aiohttp driver has no switch for it, so we hide the offer from it."""
    if request.path.startswith("/socket.io/") and "Sec-WebSocket-Extensions" in request.headers:
        headers = request.headers.copy()
        del headers["Sec-WebSocket-Extensions"]
        request = request.clone(headers=headers)
    return await handler(request)


def _presence(settings: Settings) -> tuple[Presence, Redis | None]:
    if not settings.redis_url:
        return MemoryPresence(), None
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    return RedisPresence(redis, prefix=f"{settings.redis_prefix}:presence",
                         ttl=max(3, settings.presence_ttl)), redis


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings.from_env()
    if not settings.secret_key:
        settings = replace(settings, secret_key=secrets.token_urlsafe(32))
    app = web.Application(middlewares=[no_websocket_compression],
                          client_max_size=settings.max_message_bytes)
    engine = create_engine(settings.database_url)
    sessions = sessionmaker(engine)
    store = GatheringStore(sessions)
    manager = socketio.AsyncRedisManager(
        settings.redis_url, channel=f"{settings.redis_prefix}:socketio"
    ) if settings.redis_url else None
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=[settings.origin],
        transports=["websocket"],
        max_http_buffer_size=settings.max_message_bytes,
    )
    sio.attach(app)
    presence, redis = _presence(settings)
    sockets = SocketLayer(sio, sessions, store, presence)
    app[SETTINGS] = settings
    app[ENGINE] = engine
    app[SESSIONS] = sessions
    app[STORE] = store
    app[LIVE] = sockets.live
    app[SOCKETS] = sockets
    notes = NoteSockets(sio, sockets, NoteBook(sessions, note_templates(sockets)))
    app[NOTES] = notes.book
    Reactions(sio, sockets)
    ice = IceConfig.parse(settings.stun_urls, settings.turn_urls, settings.turn_secret,
                          settings.turn_ttl)
    registry: PeerRegistry = MemoryPeers() if redis is None else RedisPeers(
        redis, prefix=f"{settings.redis_prefix}:media")
    MediaSockets(sio, sockets, MediaPeers(registry, ice))
    states: MediaStates = MemoryMediaStates() if redis is None else RedisMediaStates(
        redis, prefix=f"{settings.redis_prefix}:media-state")
    MediaStateSockets(sio, sockets, states)
    archive = RecordingArchive(sessions, data_directory(settings.recordings_path))
    app[RECORDINGS] = archive
    stage = setup_stage(sio, sockets, redis, settings.redis_prefix,
                        settings.stage_max_publishers, ice, StageRecordings(archive))
    app[STAGE] = stage

    async def resources(app: web.Application) -> AsyncIterator[None]:
        clock = asyncio.create_task(run_clock(sockets.live))
        yield
        clock.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await clock
        if redis is not None:
            await redis.aclose()
        await engine.dispose()

    async def presence_alive(app: web.Application) -> AsyncIterator[None]:
        # this worker's presence heartbeat; at a stop, its people leave and the last
        # coalesced presence changes go out, before Redis closes
        async with presence.alive(sockets.presence_feed.add):
            yield
        await sockets.presence_feed.close()

    async def disconnect_everyone(app: web.Application) -> None:
        """On SIGTERM aiohttp waits up to a minute for open websockets before cleaning up:
        close them first, so clients reconnect to another worker at once and this one's
        presence (and stage peers) go with them."""
        for sid in list(sockets.connections):
            with contextlib.suppress(Exception):
                await sio.disconnect(sid)

    app.on_shutdown.append(disconnect_everyone)
    app.cleanup_ctx.append(resources)
    app.cleanup_ctx.append(presence_alive)  # after resources: stops before Redis is closed
    app.cleanup_ctx.append(stage.run)  # after resources: stops before Redis is closed
    app.cleanup_ctx.append(notes.janitor)
    from server.pages import setup_pages

    setup_pages(app)
    return app
