"""A person's gatherings (`/gatherings`), a gathering's room (`/g/{id}`) and the
facilitator console (`/g/{id}/console`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from facilitation import Role
from facilitation.roles import runs_gathering
from rooms.directory import gatherings_of, stage_names, visible_themes
from rooms.models import Gathering, Person, Theme
from rooms.summaries import Summaries
from server.i18n import current_locale
from server.i18n import gettext as _
from server.keys import LIVE, SESSIONS, STORE
from server.pages.access import gathering_access, published_summary
from server.pages.auth import error_page, render
from server.pages.resolving import person_signed_in, resolved
from server.pages.schedule import notices_of

SCHEDULERS = (Role.PROGRAMME_LEAD, Role.FACILITATOR)  # who plan the year's gatherings


@dataclass(frozen=True)
class ThemeView:
    theme: Theme
    role: Role
    runs: bool
    gatherings: list[Gathering]


@resolved(person_signed_in)
async def my_gatherings(request: web.Request, person: Person) -> web.Response:
    sessions = request.app[SESSIONS]
    themes = [ThemeView(theme, role, runs_gathering(role), await gatherings_of(sessions, theme.id))
              for theme, role in await visible_themes(sessions, person)]
    published = await Summaries(sessions, request.app[STORE]).published_of(
        [g.id for view in themes for g in view.gatherings])
    return render(request, "pages/gatherings.html", {
        "themes": themes, "published": published,
        "schedules": any(view.role in SCHEDULERS for view in themes),
        "notices": await notices_of(request, [view.theme.id for view in themes])})


async def _room(request: web.Request, template: str, *, console: bool) -> web.Response:
    access = await gathering_access(request, runners_only=console)
    if isinstance(access, web.Response):
        return access
    if access.gathering.cancelled_at is not None:  # its room is never opened
        return error_page(request, 410, _("This gathering was cancelled."))
    stages = await stage_names(request.app[SESSIONS])
    state = await request.app[LIVE].state(access.gathering.id)
    return render(request, template, {
        **room_context(access.gathering, access.person, access.role, stages),
        "summary_url": await published_summary(request, state)})


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


def setup_gatherings(app: web.Application) -> None:
    """After the calendar's routes: `/g/{gathering}` would take `/g/{id}.ics` too."""
    app.router.add_get("/gatherings", my_gatherings)
    app.router.add_get("/g/{gathering}", room)
    app.router.add_get("/g/{gathering}/console", console)
