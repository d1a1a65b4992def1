"""HTTP pages: sign-in by invitation, my gatherings, the room and the facilitator console."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from babel.dates import format_date, format_time

from facilitation import Role
from facilitation.roles import runs_gathering
from rooms.accounts import (
    create_invitation,
    end_session,
    invitations_since,
    person_by_email,
    redeem_invitation,
    start_session,
)
from rooms.directory import gatherings_of, stage_names, visible_themes
from rooms.models import Gathering, Person, Theme
from rooms.summaries import Summaries
from server.access import gathering_access
from server.app import SESSIONS, SETTINGS, SOURCE_ROOT, STORE
from server.auth import (
    clear_session_cookie,
    render,
    see_other,
    set_session_cookie,
    setup_auth,
    sign_in_url,
    signed_in,
)
from server.i18n import current_locale, setup_templates
from server.i18n import gettext as _
from server.mail import Postbox
from server.projects import setup_projects
from server.sockets import SESSION_COOKIE

POSTBOX = web.AppKey("postbox", Postbox)
TOKEN = r"{token:[A-Za-z0-9_-]{20,100}}"
log = logging.getLogger(__name__)


def local_zone() -> ZoneInfo:
    try:
        return ZoneInfo("Europe/Oslo")
    except ZoneInfoNotFoundError:  # no tz database on this machine: install `tzdata`
        return ZoneInfo("UTC")


def _local(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite gives naive UTC
    return aware.astimezone(local_zone())


def long_date(moment: datetime) -> str:
    return format_date(_local(moment), format="full", locale=current_locale())


def clock(moment: datetime) -> str:
    return format_time(_local(moment), "HH:mm", locale=current_locale())


def iso(moment: datetime) -> str:
    return _local(moment).isoformat()


def role_label(role: Role | str) -> str:
    labels = {Role.PROGRAMME_LEAD: _("Programme lead"), Role.FACILITATOR: _("Facilitator"),
              Role.EXPERT: _("Expert"), Role.PARTICIPANT: _("Participant"),
              Role.OBSERVER: _("Observer")}
    return labels[Role(role)]


@dataclass(frozen=True)
class ThemeView:
    theme: Theme
    role: Role
    runs: bool
    gatherings: list[Gathering]


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


LINKS_PER_HOUR = 3  # per address: nobody can flood a person's inbox through this form


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
        request.app[POSTBOX].post_sign_in_link(person.email, sign_in_url(settings, token))
    # The same answer whether or not the address is known: no account enumeration.
    return render(request, "pages/link_sent.html", {"days": settings.invitation_days})


async def sign_out(request: web.Request) -> web.Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await end_session(request.app[SESSIONS], token)
    response = see_other("/")
    clear_session_cookie(response)
    return response


async def my_gatherings(request: web.Request) -> web.Response:
    person = signed_in(request)
    if person is None:
        return see_other("/")
    sessions = request.app[SESSIONS]
    themes = [ThemeView(theme, role, runs_gathering(role), await gatherings_of(sessions, theme.id))
              for theme, role in await visible_themes(sessions, person)]
    published = await Summaries(sessions, request.app[STORE]).published_of(
        [g.id for view in themes for g in view.gatherings])
    return render(request, "pages/gatherings.html", {"themes": themes, "published": published})


async def _room(request: web.Request, template: str, *, console: bool) -> web.Response:
    access = await gathering_access(request, runners_only=console)
    if isinstance(access, web.Response):
        return access
    stages = await stage_names(request.app[SESSIONS])
    return render(request, template,
                  room_context(access.gathering, access.person, access.role, stages))


def room_context(gathering: Gathering, person: Person, role: Role,
                 stages: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    # stages: [slug, display name] in stage order, for showing each person's project stage
    boot = {"gathering": gathering.id, "person_id": person.id, "role": role.value,
            "locale": current_locale(), "stages": [list(s) for s in stages]}
    return {"gathering": gathering, "theme": gathering.theme, "person": person,
            "role": role.value, "boot": boot}


async def room(request: web.Request) -> web.Response:
    return await _room(request, "room/room.html", console=False)


async def console(request: web.Request) -> web.Response:
    return await _room(request, "room/console.html", console=True)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def static_root(app: web.Application) -> Path:
    settings = app[SETTINGS]
    root = Path(settings.static_dir) if settings.static_dir else SOURCE_ROOT / "static" / "dist"
    root.mkdir(parents=True, exist_ok=True)
    return root


# The browser bundle's chunks (static/build.mjs) are named by their content, so they never
# change: cached for good. Everything else under /static/ (the entries room.js and
# console.js, which name the chunks they import, and forum.css) is revalidated on every load
# (a 304 while unchanged), so a page never runs an old entry whose chunks a build removed.
STATIC_CHUNKS = "/static/chunks/"


async def static_cache_headers(request: web.Request, response: web.StreamResponse) -> None:
    if not request.path.startswith("/static/") or response.status >= 400:
        return
    response.headers["Cache-Control"] = ("public, max-age=31536000, immutable"
                                         if request.path.startswith(STATIC_CHUNKS) else "no-cache")


def setup_pages(app: web.Application) -> None:
    env = setup_templates(app)
    env.filters.update(long_date=long_date, clock=clock, iso=iso, role_label=role_label)
    setup_auth(app)
    app[POSTBOX] = Postbox(app[SETTINGS])

    async def postbox(app: web.Application) -> AsyncIterator[None]:
        yield
        await app[POSTBOX].close()

    app.cleanup_ctx.append(postbox)
    app.router.add_get("/", landing)
    app.router.add_post("/signin/request", request_link)
    app.router.add_get(f"/signin/{TOKEN}", confirm_sign_in)
    app.router.add_post(f"/signin/{TOKEN}", sign_in)
    app.router.add_post("/signout", sign_out)
    app.router.add_get("/gatherings", my_gatherings)
    from server.calendar import setup_calendar  # these import this module's helpers
    from server.planning import setup_planning
    from server.recordings import setup_recordings
    from server.summary import setup_summaries

    setup_calendar(app)  # before /g/{gathering}, which would take /g/{id}.ics too
    setup_planning(app)
    setup_summaries(app)
    setup_recordings(app)
    app.router.add_get("/g/{gathering}", room)
    app.router.add_get("/g/{gathering}/console", console)
    app.router.add_get("/healthz", healthz)
    setup_projects(app)
    app.router.add_static("/static/", static_root(app))
    app.on_response_prepare.append(static_cache_headers)
