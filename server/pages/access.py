"""Who may open a theme's pages (its members) and a gathering's (members of its theme; some
pages only its runners): resolvers for `@resolved` (server/pages/resolving.py)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from facilitation import GatheringState, Phase, Role
from facilitation.roles import runs_gathering
from rooms.directory import role_in_theme, theme_by_slug
from rooms.models import Gathering, Person, Theme
from rooms.summaries import Summaries
from server.i18n import gettext as _
from server.keys import SESSIONS, STORE
from server.pages.auth import error_page, see_other, signed_in


@dataclass(frozen=True)
class InTheme:
    """The signed-in person and their role in a theme."""

    person: Person
    role: Role

    @property
    def runs(self) -> bool:
        """A facilitator of the theme, or the programme lead."""
        return runs_gathering(self.role)


@dataclass(frozen=True)
class Access(InTheme):
    """In the theme of the URL's gathering."""

    gathering: Gathering


@dataclass(frozen=True)
class ThemeMember(InTheme):
    """In the theme of the URL."""

    theme: Theme


async def gathering_access(request: web.Request, *, runners_only: bool = False
                           ) -> Access | web.Response:
    """The gathering of the URL and the signed-in person's role in it, or the page to show
    instead (sign in, not found, access denied)."""
    person = signed_in(request)
    if person is None:
        return see_other("/")
    gathering = await request.app[STORE].gathering(request.match_info["gathering"])
    if gathering is None:
        return error_page(request, 404, _("There is no gathering at this address."))
    role = await role_in_theme(request.app[SESSIONS], person, gathering.theme_id)
    if role is None:
        return error_page(request, 403, _("This gathering belongs to a theme you are not a "
                                          "member of."))
    if runners_only and not runs_gathering(role):
        return error_page(request, 403, _("Only the facilitator of this theme and the "
                                          "programme lead can do this."))
    return Access(person, role, gathering)


async def runner_access(request: web.Request) -> Access | web.Response:
    """As `gathering_access`, for the gathering's runners only."""
    return await gathering_access(request, runners_only=True)


async def theme_member(request: web.Request) -> ThemeMember | web.Response:
    """The signed-in person and the theme of the URL, if they are in it; or the page to show
    instead (sign in, not found, access denied)."""
    person = signed_in(request)
    if person is None:
        return see_other("/")
    theme = await theme_by_slug(request.app[SESSIONS], request.match_info["slug"])
    if theme is None:
        return error_page(request, 404, _("There is no theme at this address."))
    role = await role_in_theme(request.app[SESSIONS], person, theme.id)
    if role is None:
        return error_page(request, 403, _("You are not a member of this theme."))
    return ThemeMember(person, role, theme)


async def published_summary(request: web.Request, state: GatheringState) -> str | None:
    """The address of the gathering's summary, for its members: once the gathering has ended
    and the summary is published; None before (a draft is for the runners' own link)."""
    if state.phase is not Phase.ENDED:
        return None
    gathering_id = state.gathering_id
    summaries = Summaries(request.app[SESSIONS], request.app[STORE])
    published = await summaries.published_of([gathering_id])
    return f"/g/{gathering_id}/summary" if gathering_id in published else None
