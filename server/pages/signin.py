"""Signing in by invitation: the landing page, a link by e-mail, the confirm page that
redeems a link, and signing out."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from aiohttp import web

from rooms.accounts import (
    create_invitation,
    end_session,
    invitations_since,
    person_by_email,
    redeem_invitation,
    start_session,
)
from rooms.models import Person
from server.i18n import current_locale
from server.keys import POSTBOX, SESSIONS, SETTINGS
from server.pages.auth import (
    clear_session_cookie,
    render,
    see_other,
    set_session_cookie,
    sign_in_url,
    signed_in,
)
from server.settings import SESSION_COOKIE

TOKEN = r"{token:[A-Za-z0-9_-]{20,100}}"
LINKS_PER_HOUR = 3  # per address: nobody can flood a person's inbox through this form
log = logging.getLogger(__name__)


async def landing(request: web.Request) -> web.Response:
    if signed_in(request):
        return see_other("/gatherings")
    return render(request, "pages/landing.html")


async def confirm_sign_in(request: web.Request) -> web.Response:
    # No redemption on GET: mail scanners follow links.
    return render(request, "pages/signin.html", {"token": request.match_info["token"]})


async def sign_in(request: web.Request) -> web.Response:
    settings, sessions = request.app[SETTINGS], request.app[SESSIONS]
    person = await redeem_invitation(sessions, request.match_info["token"])
    if person is None:
        return render(request, "pages/link_invalid.html", status=410)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        await end_session(sessions, previous)
    token = await start_session(sessions, person.id, days=settings.session_days)
    response = see_other("/gatherings")
    set_session_cookie(response, settings, token)
    return response


async def _may_send_link(request: web.Request, person: Person) -> bool:
    since = datetime.now(UTC) - timedelta(hours=1)
    if await invitations_since(request.app[SESSIONS], person.id, since) < LINKS_PER_HOUR:
        return True
    log.warning("sign-in link for person %s not sent: %s links in the last hour",
                person.id, LINKS_PER_HOUR)
    return False


async def request_link(request: web.Request) -> web.Response:
    settings, sessions = request.app[SETTINGS], request.app[SESSIONS]
    email = str((await request.post()).get("email", "")).strip()
    person = await person_by_email(sessions, email) if 3 <= len(email) <= 320 else None
    if person is not None and await _may_send_link(request, person):
        token = await create_invitation(sessions, person.id, days=settings.invitation_days)
        request.app[POSTBOX].post_sign_in_link(person.email, sign_in_url(settings, token),
                                               language=person.language or current_locale())
    # The same answer whether or not the address is known: no account enumeration.
    return render(request, "pages/link_sent.html", {"days": settings.invitation_days})


async def sign_out(request: web.Request) -> web.Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await end_session(request.app[SESSIONS], token)
    response = see_other("/")
    clear_session_cookie(response)
    return response


def setup_signin(app: web.Application) -> None:
    app.router.add_get("/", landing)
    app.router.add_post("/signin/request", request_link)
    app.router.add_get(f"/signin/{TOKEN}", confirm_sign_in)
    app.router.add_post(f"/signin/{TOKEN}", sign_in)
    app.router.add_post("/signout", sign_out)
