"""HTTP pages. (The full set is being written; /healthz first.)"""

from aiohttp import web


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def setup_pages(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
