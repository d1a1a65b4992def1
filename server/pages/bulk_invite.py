"""Inviting everyone in a theme who is waiting for a sign-in link, in one go (a button on
the theme's people page, for its facilitators and the programme lead; rooms/bulk_invite.py).
The links are made in one transaction and e-mailed after it."""

from __future__ import annotations

from aiohttp import web

from rooms.bulk_invite import invite_waiting
from server.keys import SESSIONS, SETTINGS
from server.pages.auth import see_other
from server.pages.invitations import _mail, _managed_theme


async def invite_everyone_waiting(request: web.Request) -> web.Response:
    managed = await _managed_theme(request)
    if isinstance(managed, web.Response):
        return managed
    _person, theme, _role = managed
    invited = await invite_waiting(request.app[SESSIONS], theme.id,
                                   days=request.app[SETTINGS].invitation_days)
    _mail(request, invited)
    if not invited:
        return see_other(f"/themes/{theme.slug}/people?done=nobody-waiting")
    return see_other(f"/themes/{theme.slug}/people?invited={len(invited)}")


def setup_bulk_invite(app: web.Application) -> None:
    app.router.add_post("/themes/{slug}/people/invite-waiting", invite_everyone_waiting)
