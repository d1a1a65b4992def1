"""Recordings on the web: the authorised download (`/g/{id}/recordings/{rec}`) and the
facilitator's delete. The files are in RECORDINGS_DIR, never under a static route; a URL's
recording id only ever selects a row of its own gathering, and the path comes from that
row's id (recordings/storage.py). Retention is recordings/retention.py."""

from __future__ import annotations

from aiohttp import web

from recordings.archive import READY
from rooms.models import Recording
from server.i18n import gettext as _
from server.keys import RECORDINGS
from server.pages.access import Access, gathering_access
from server.pages.auth import error_page, see_other
from server.pages.resolving import resolved

Found = tuple[Access, Recording]


async def _recording(request: web.Request, *, runners_only: bool = False
                     ) -> Found | web.Response:
    access = await gathering_access(request, runners_only=runners_only)
    if isinstance(access, web.Response):
        return access
    recording = await request.app[RECORDINGS].get(access.gathering.id,
                                                  request.match_info["recording"])
    if recording is None:
        return error_page(request, 404, _("There is no such recording."))
    return access, recording


async def _runners_recording(request: web.Request) -> Found | web.Response:
    return await _recording(request, runners_only=True)


@resolved(_recording)
async def download(request: web.Request, found: Found) -> web.StreamResponse:
    """Members of the theme only; the file streams with its name from the gathering."""
    access, recording = found
    path = request.app[RECORDINGS].path(recording)
    if recording.status != READY or not path.is_file():
        return error_page(request, 404, _("This recording is not available."))
    name = f"opptak-{access.gathering.year}-{access.gathering.number}-{recording.id[:8]}.mp4"
    return web.FileResponse(path, headers={
        "Content-Type": "video/mp4",
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store"})


@resolved(_runners_recording)
async def delete(request: web.Request, found: Found) -> web.Response:
    access, recording = found
    await request.app[RECORDINGS].delete(recording)
    return see_other(f"/g/{access.gathering.id}/summary#recordings")


def setup_recordings(app: web.Application) -> None:
    app.router.add_get("/g/{gathering}/recordings/{recording}", download)
    app.router.add_post("/g/{gathering}/recordings/{recording}/delete", delete)
