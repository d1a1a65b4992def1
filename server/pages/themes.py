"""A theme's page (`/themes/{slug}`): the year's gatherings as one thread, with the
published summaries of each, and the theme's calendar feed."""

from __future__ import annotations

from itertools import groupby

from aiohttp import web

from facilitation.roles import runs_gathering
from rooms.directory import gatherings_of, role_in_theme, theme_by_slug
from server.i18n import gettext as _
from server.keys import SESSIONS, SETTINGS
from server.pages.auth import error_page, render, see_other, signed_in
from server.pages.calendar import feed_url
from server.pages.schedule import notices_of
from server.pages.summary import paragraphs, summaries


async def theme_page(request: web.Request) -> web.Response:
    person = signed_in(request)
    if person is None:
        return see_other("/")
    sessions = request.app[SESSIONS]
    theme = await theme_by_slug(sessions, request.match_info["slug"])
    if theme is None:
        return error_page(request, 404, _("There is no theme at this address."))
    role = await role_in_theme(sessions, person, theme.id)
    if role is None:
        return error_page(request, 403, _("You are not a member of this theme."))
    gatherings = await gatherings_of(sessions, theme.id)
    published = await summaries(request.app).published_of([g.id for g in gatherings])
    years = [(year, list(items)) for year, items in groupby(gatherings, key=lambda g: g.year)]
    return render(request, "pages/theme.html", {
        "theme": theme, "role": role, "runs": runs_gathering(role),
        "years": years, "published": published, "paragraphs": paragraphs,
        "feed_url": feed_url(request.app[SETTINGS], person.id, theme.slug),
        "notices": await notices_of(request, [theme.id])})


def setup_themes(app: web.Application) -> None:
    app.router.add_get("/themes/{slug}", theme_page)
