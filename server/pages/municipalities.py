"""The programme lead edits and deletes a municipality: `/municipalities/{id}/edit` (the
form, and the deletion with its confirmation) and `/municipalities/{id}/delete`. Adding one
is on `/municipalities` (server/pages/projects.py); the rules are in rooms/municipalities.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import ValidationError

from rooms.models import Municipality, Person
from rooms.municipalities import (
    InUse,
    NameTaken,
    delete_municipality,
    municipality,
    municipality_use,
    update_municipality,
)
from server.i18n import gettext as _
from server.i18n import ngettext
from server.keys import SESSIONS
from server.pages.auth import error_page, render, see_other
from server.pages.projects import MunicipalityForm
from server.pages.resolving import resolved, the_programme_lead

MAX_FIELD = 400  # a posted field longer than this is cut before it is shown again


def _in_use(people: int, projects: int) -> str:
    return _("The municipality cannot be deleted while people or projects belong to it: "
             "%(people)s and %(projects)s. Move them to another municipality first.") % {
        "people": ngettext("%(count)s person", "%(count)s people", people) % {"count": people},
        "projects": ngettext("%(count)s project", "%(count)s projects", projects) % {
            "count": projects}}


async def _place(request: web.Request) -> tuple[Person, Municipality] | web.Response:
    lead = await the_programme_lead(request)
    if isinstance(lead, web.Response):
        return lead
    place = await municipality(request.app[SESSIONS], int(request.match_info["id"]))
    if place is None:
        return error_page(request, 404, _("There is no municipality at this address."))
    return lead, place


@resolved(_place)
async def edit_page(request: web.Request, found: tuple[Person, Municipality], *,
                    form: dict[str, Any] | None = None, error: str | None = None,
                    delete_error: str | None = None, status: int = 200) -> web.Response:
    _lead, place = found
    use = await municipality_use(request.app[SESSIONS], place.id)
    shown = form if form is not None else {
        "name": place.name, "county": "1" if place.county else "",
        "county_name": place.county_name}
    return render(request, "pages/municipality_edit.html", {
        "place": place, "form": shown, "error": error, "delete_error": delete_error,
        "in_use": _in_use(use.people, use.projects) if use.used else None,
        "saved": request.query.get("saved"),
    }, status=status)


@dataclass(frozen=True)
class _Posted:
    """A form posted about a municipality, by the programme lead."""

    lead: Person
    place: Municipality
    form: MultiDictProxy[Any]


async def _posted(request: web.Request) -> _Posted | web.Response:
    found = await _place(request)
    if isinstance(found, web.Response):
        return found
    return _Posted(*found, await request.post())


@resolved(_posted)
async def save(request: web.Request, posted: _Posted) -> web.Response:
    lead, place = posted.lead, posted.place
    data = {k: str(posted.form.get(k, ""))[:MAX_FIELD]
            for k in ("name", "county", "county_name")}
    try:
        form = MunicipalityForm.model_validate({**data, "county": data["county"] == "1"})
        await update_municipality(request.app[SESSIONS], lead, place.id, name=form.name,
                                  county=form.county, county_name=form.county_name)
    except ValidationError:
        return await edit_page(request, form=data, status=400, error=_(
            "Give the municipality's name (2 to 200 characters) and a county of at most "
            "200 characters."))
    except NameTaken as taken:
        return await edit_page(request, form=data, status=400, error=_(
            "Another municipality already has that name: %(name)s.") % {"name": taken.other})
    return see_other(f"/municipalities/{place.id}/edit?saved=1")


@resolved(_posted)
async def delete(request: web.Request, posted: _Posted) -> web.Response:
    lead, place = posted.lead, posted.place
    if posted.form.get("confirm") != "yes":
        return await edit_page(request, status=400, delete_error=_(
            "Tick the box to confirm that the municipality is to be deleted."))
    try:
        await delete_municipality(request.app[SESSIONS], lead, place.id)
    except InUse as used:
        return await edit_page(request, status=400, delete_error=_in_use(
            used.use.people, used.use.projects))
    return see_other("/municipalities?deleted=1")


def setup_municipalities(app: web.Application) -> None:
    app.router.add_get(r"/municipalities/{id:\d{1,9}}/edit", edit_page)
    app.router.add_post(r"/municipalities/{id:\d{1,9}}/edit", save)
    app.router.add_post(r"/municipalities/{id:\d{1,9}}/delete", delete)
