"""What is not a page: the browser bundle under `/static/`, the site's icon, and the health
check."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.keys import SETTINGS
from server.settings import SOURCE_ROOT

# The browser bundle's chunks (static/build.mjs) are named by their content, so they never
# change: cached for good. Everything else under /static/ (the entries room.js and
# console.js, which name the chunks they import, and forum.css) is revalidated on every load
# (a 304 while unchanged), so a page never runs an old entry whose chunks a build removed.
STATIC_CHUNKS = "/static/chunks/"
# a white leaf on the brand green, 16, 32 and 48 pixels; package data, so an installed
# server has it whatever STATIC_DIR says
FAVICON = Path(__file__).with_name("favicon.ico")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def favicon(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(FAVICON, headers={"Content-Type": "image/x-icon",
                                              "Cache-Control": "public, max-age=86400"})


def static_root(app: web.Application) -> Path:
    settings = app[SETTINGS]
    root = Path(settings.static_dir) if settings.static_dir else SOURCE_ROOT / "static" / "dist"
    root.mkdir(parents=True, exist_ok=True)
    return root


async def static_cache_headers(request: web.Request, response: web.StreamResponse) -> None:
    if not request.path.startswith("/static/") or response.status >= 400:
        return
    response.headers["Cache-Control"] = ("public, max-age=31536000, immutable"
                                         if request.path.startswith(STATIC_CHUNKS) else "no-cache")


def setup_assets(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_static("/static/", static_root(app))
    app.on_response_prepare.append(static_cache_headers)
