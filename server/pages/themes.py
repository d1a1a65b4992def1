"""A theme's page (`/themes/{slug}`): the theme's home between gatherings. What is next (the
next gathering, its agenda draft, the questions asked for it, who is coming), what is new
since the reader's last visit (marked, then the visit recorded), the open follow-ups and
help requests, the latest announcements, and the year's thread of gatherings with their
published summaries and the theme's calendar feed.

Plain server-rendered pages that a reload refreshes, no live stream: between gatherings a
theme sees a few posts a day, the page must work without JavaScript and by keyboard, and
what is unread is computed at each visit from `ThemeVisit.seen_at` (rooms/forum_home.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import groupby

import aiohttp_jinja2
from aiohttp import web

from facilitation.digest import ItemKind, first_visit_since, unread
from rooms import forum_home
from rooms.directory import gatherings_of
from server.i18n import gettext as _
from server.keys import SESSIONS, SETTINGS
from server.pages.access import ThemeMember, theme_member
from server.pages.auth import render
from server.pages.calendar import feed_url
from server.pages.planning import kind_labels
from server.pages.resolving import resolved
from server.pages.schedule import notices_of
from server.pages.summary import paragraphs, summaries


def kind_label(kind: ItemKind) -> str:
    """What a new item is, in the page's language."""
    return {ItemKind.ANNOUNCEMENT: _("Announcement"), ItemKind.REPLY: _("Reply to announcement"),
            ItemKind.HELP: _("Help request"), ItemKind.ANSWER: _("Answer to help request"),
            ItemKind.FOLLOW_UP: _("Follow-up")}[kind]


def clear_unread(request: web.Request, slug: str) -> None:
    """The navigation's count for the theme just visited is 0 from this page on."""
    context = request.get(aiohttp_jinja2.REQUEST_CONTEXT_KEY) or {}
    counts = context.get("forum_unread")
    if counts:
        context["forum_unread"] = [
            forum_home.Unread(u.slug, u.name, 0) if u.slug == slug else u for u in counts]


@resolved(theme_member)
async def theme_page(request: web.Request, member: ThemeMember) -> web.Response:
    person, theme, role, sessions = member.person, member.theme, member.role, request.app[SESSIONS]
    now = datetime.now(UTC)
    reader = await forum_home.reader_of(sessions, person)
    previous = await forum_home.mark_seen(sessions, person.id, theme.id, now)
    since = previous or first_visit_since(now)
    news = unread(reader, await forum_home.items_between(sessions, since, now, [theme.id]),
                  previous, now)
    clear_unread(request, theme.slug)
    gatherings = await gatherings_of(sessions, theme.id)
    published = await summaries(request.app).published_of([g.id for g in gatherings])
    years = [(year, list(items)) for year, items in groupby(gatherings, key=lambda g: g.year)]
    return render(request, "pages/theme.html", {
        "theme": theme, "role": role, "runs": member.runs,
        "next": await forum_home.next_gathering(sessions, theme.id, now),
        "news": list(reversed(news)), "first_visit": previous is None,
        "kind_label": kind_label, "place": forum_home.place, "agenda_kinds": kind_labels(),
        "statuses": {"open": _("Open"), "doing": _("Under way")},
        "follow_ups": await forum_home.open_follow_ups(sessions, theme.id,
                                                       person.municipality_id),
        "help_requests": await forum_home.open_help_requests(sessions, theme.id),
        "announcements": await forum_home.latest_announcements(sessions, theme.id, reader),
        "now": now, "years": years, "published": published, "paragraphs": paragraphs,
        "feed_url": feed_url(request.app[SETTINGS], person.id, theme.slug),
        "notices": await notices_of(request, [theme.id])})


def setup_themes(app: web.Application) -> None:
    app.router.add_get("/themes/{slug}", theme_page)
