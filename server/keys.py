"""The application's services under typed keys: `create_app` puts them in, handlers take
them out. A module of its own, so pages and sockets never import the wiring."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from recordings.archive import RecordingArchive
from rooms.live import LiveRooms
from rooms.notes import NoteBook
from rooms.store import GatheringStore
from server.mail import Postbox
from server.settings import Settings
from server.sockets.layer import SocketLayer
from signaling.stage_router import StageRouter

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker)
STORE = web.AppKey("store", GatheringStore)
LIVE = web.AppKey("live", LiveRooms)
SOCKETS = web.AppKey("sockets", SocketLayer)
NOTES = web.AppKey("notes", NoteBook)
STAGE = web.AppKey("stage", StageRouter)
RECORDINGS = web.AppKey("recordings", RecordingArchive)
POSTBOX = web.AppKey("postbox", Postbox)
