"""Calendars: a gathering as an iCalendar event (`/g/{id}.ics`) and each theme's feed of
its gatherings (`/themes/{slug}/calendar.ics`).

Both are for the theme's members. A browser sends its session cookie; a calendar app
cannot, so the theme page also offers a private feed address whose `token` is an HMAC of
(person, theme) under SECRET_KEY. Membership is checked on every fetch, so a person who
leaves the theme loses the feed; the tokens themselves can only be revoked all at once,
by changing SECRET_KEY."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from aiohttp import web
from icalendar import Calendar
from icalendar import Event as CalendarEvent
from yarl import URL

from facilitation.planning import planned_clock
from rooms.directory import gatherings_of, role_in_theme, theme_by_slug
from rooms.models import Gathering, Person, Theme
from server.formatting import clock, long_date
from server.i18n import gettext as _
from server.keys import LIVE, SESSIONS, SETTINGS
from server.pages.access import Access, gathering_access
from server.pages.auth import error_page, signed_in
from server.pages.resolving import resolved
from server.settings import Settings

PRODID = "-//Klimasats-forum//forum//NB"


def feed_token(settings: Settings, person_id: int, theme_slug: str) -> str:
    message = f"calendar-feed:{person_id}:{theme_slug}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()[:40]


def feed_url(settings: Settings, person_id: int, theme_slug: str) -> str:
    url = settings.base_url / "themes" / theme_slug / "calendar.ics"
    return str(url.with_query(person=str(person_id),
                              token=feed_token(settings, person_id, theme_slug)))


def _calendar(name: str, method: str = "PUBLISH") -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    return calendar


async def _event(app: web.Application, gathering: Gathering, now: datetime) -> CalendarEvent:
    base: URL = app[SETTINGS].base_url
    state = await app[LIVE].state(gathering.id)
    plan = planned_clock(state.agenda, gathering.starts_at, gathering.planned_minutes)
    starts = gathering.starts_at.astimezone(UTC)
    lines = [f"{long_date(gathering.starts_at)}", ""]
    lines += [f"{clock(item.starts_at)} {item.slot.title} ({item.slot.planned_minutes} min)"
              for item in plan.items]
    room = str(base / "g" / gathering.id)
    lines += ["", _("The room: %(url)s") % {"url": room}]
    event = CalendarEvent()
    event.add("uid", f"{gathering.id}@{base.host or 'klimasats-forum'}")
    event.add("dtstamp", now)
    event.add("dtstart", starts)
    event.add("dtend", starts + timedelta(minutes=gathering.planned_minutes))
    summary = f"{gathering.theme.name}: {gathering.title}"
    event.add("summary", _("Cancelled: %(title)s") % {"title": summary}
              if gathering.cancelled_at else summary)
    event.add("description", "\n".join(lines))
    event.add("location", room)
    event.add("url", room)
    # grows with every reschedule, cancellation or new title (Gathering.sequence) and
    # whenever the gathering's log does (the agenda in the description)
    event.add("sequence", gathering.sequence + state.version)
    event.add("status", "CANCELLED" if gathering.cancelled_at else "CONFIRMED")
    if gathering.updated_at is not None:
        event.add("last-modified", gathering.updated_at)
    return event


def ics_response(body: bytes, filename: str) -> web.Response:
    """A calendar file to download."""
    return web.Response(body=body, content_type="text/calendar", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "Cache-Control": "private, no-cache"})


@resolved(gathering_access)
async def gathering_ics(request: web.Request, access: Access) -> web.Response:
    gathering = access.gathering
    return ics_response(await ics_of(request.app, gathering, datetime.now(UTC)),
                ics_filename(gathering))


def ics_filename(gathering: Gathering) -> str:
    return f"samling-{gathering.year}-{gathering.number}.ics"


async def ics_of(app: web.Application, gathering: Gathering, now: datetime) -> bytes:
    """The gathering as an iCalendar file (the one `/g/{id}.ics` serves), e.g. to attach to
    a mail; in the current locale. A cancelled gathering's own file cancels it in the
    calendar it was added to."""
    calendar = _calendar(f"{gathering.theme.name}: {gathering.title}",
                         "CANCEL" if gathering.cancelled_at else "PUBLISH")
    calendar.add_component(await _event(app, gathering, now))
    return bytes(calendar.to_ical())


async def _feed_reader(request: web.Request, theme: Theme) -> Person | None:
    """The signed-in person, or the one a valid private feed address names."""
    person = signed_in(request)
    if person is not None:
        return person
    person_id, token = request.query.get("person", ""), request.query.get("token", "")
    if not person_id.isdigit() or len(person_id) > 12 or not token:
        return None
    expected = feed_token(request.app[SETTINGS], int(person_id), theme.slug)
    if not hmac.compare_digest(expected, token):
        return None
    async with request.app[SESSIONS]() as session:
        return await session.get(Person, int(person_id))


async def theme_feed(request: web.Request) -> web.Response:
    sessions = request.app[SESSIONS]
    theme = await theme_by_slug(sessions, request.match_info["slug"])
    if theme is None:
        return error_page(request, 404, _("There is no theme at this address."))
    person = await _feed_reader(request, theme)
    if person is None or await role_in_theme(sessions, person, theme.id) is None:
        return error_page(request, 403, _("This calendar is for the theme's members."))
    calendar = _calendar(f"Klimasats-forum: {theme.name}")
    now = datetime.now(UTC)
    for gathering in await gatherings_of(sessions, theme.id):
        calendar.add_component(await _event(request.app, gathering, now))
    return ics_response(calendar.to_ical(), f"{theme.slug}.ics")


def setup_calendar(app: web.Application) -> None:
    """Before the room's route: `/g/{gathering}` would take `/g/{id}.ics` too."""
    app.router.add_get("/g/{gathering:[0-9A-Za-z]{1,64}}.ics", gathering_ics)
    app.router.add_get("/themes/{slug}/calendar.ics", theme_feed)
