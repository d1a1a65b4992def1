"""A theme's people (`/themes/{slug}/people`), for its facilitators and the programme lead:
who has signed in and who has not, a new link or taking the links back, and inviting a
pasted list of people in one go (rooms/invitations.py)."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from facilitation import Role
from rooms.invitations import (
    FACILITATOR_INVITES,
    LEAD_INVITES,
    Invited,
    LineError,
    invite_people,
    may_invite,
    member_role,
    parse_people,
    people_status,
    resend,
    revoke,
)
from rooms.models import Person, Theme
from server.i18n import gettext as _
from server.keys import POSTBOX, SESSIONS, SETTINGS
from server.pages.access import theme_member
from server.pages.auth import error_page, render, see_other, sign_in_url

MAX_LIST_CHARS = 100_000


class InviteForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    people: Annotated[str, StringConstraints(min_length=1, max_length=MAX_LIST_CHARS)]
    role: Role


def _reason(error: LineError) -> str:
    reasons = {
        "format": _("write it as “Name <e-mail>; Municipality” or “name;e-mail;municipality”"),
        "email": _("the e-mail address is not valid"),
        "name": _("the name must be 1 to 200 characters, the municipality at most 200"),
        "duplicate": _("this e-mail address is already on an earlier line"),
        "municipality": _("there is no such municipality (the programme lead adds it)"),
        "too-many": _("at most 500 people at a time"),
    }
    return reasons[error.reason]


async def _managed_theme(request: web.Request) -> tuple[Person, Theme, Role] | web.Response:
    member = await theme_member(request)
    if isinstance(member, web.Response):
        return member
    if member.role not in (Role.PROGRAMME_LEAD, Role.FACILITATOR):
        return error_page(request, 403, _("Only the facilitator of this theme and the "
                                          "programme lead can do this."))
    return member.person, member.theme, member.role


async def people_page(request: web.Request, *, form: dict[str, str] | None = None,
                      errors: list[tuple[int, str, str]] | None = None,
                      status: int = 200) -> web.Response:
    managed = await _managed_theme(request)
    if isinstance(managed, web.Response):
        return managed
    person, theme, _role = managed
    roles = LEAD_INVITES if person.is_programme_lead else FACILITATOR_INVITES
    return render(request, "pages/people.html", {
        "theme": theme, "people": await people_status(request.app[SESSIONS], theme.id),
        "roles": [r for r in Role if r in roles], "form": form or {}, "errors": errors,
        "invited": request.query.get("invited"), "done": request.query.get("done"),
    }, status=status)


def _mail(request: web.Request, invited: list[Invited]) -> None:
    settings, postbox = request.app[SETTINGS], request.app[POSTBOX]
    for one in invited:
        postbox.post_sign_in_link(one.email, sign_in_url(settings, one.token),
                                  language=one.language)


async def invite(request: web.Request) -> web.Response:
    managed = await _managed_theme(request)
    if isinstance(managed, web.Response):
        return managed
    person, theme, role = managed
    posted = await request.post()
    data = {k: v for k, v in posted.items() if isinstance(v, str)}
    try:
        form = InviteForm.model_validate(data)
    except ValidationError:
        return await people_page(request, form=data, status=400, errors=[
            (0, "", _("Paste at least one person, at most 100,000 characters, and choose a "
                      "role."))])
    if not may_invite(person, role, form.role):
        return error_page(request, 403, _("You cannot give that role."))
    sessions = request.app[SESSIONS]
    people, errors = parse_people(form.people)
    invited: list[Invited] = []
    if not errors:
        invited, errors = await invite_people(sessions, theme.id, form.role, people,
                                              days=request.app[SETTINGS].invitation_days)
    if errors or not invited:
        return await people_page(request, form=data, status=400, errors=[
            (e.line, e.text, _reason(e)) for e in errors] or [
            (0, "", _("Paste at least one person."))])
    _mail(request, invited)
    return see_other(f"/themes/{theme.slug}/people?invited={len(invited)}")


async def _member_action(request: web.Request, action: str) -> web.Response:
    managed = await _managed_theme(request)
    if isinstance(managed, web.Response):
        return managed
    _person, theme, _role = managed
    sessions = request.app[SESSIONS]
    person_id = int(request.match_info["person"])
    if await member_role(sessions, theme.id, person_id) is None:
        return error_page(request, 404, _("This person is not a member of this theme."))
    if action == "resend":
        _mail(request, [await resend(sessions, person_id,
                                     days=request.app[SETTINGS].invitation_days)])
    else:
        await revoke(sessions, person_id)
    return see_other(f"/themes/{theme.slug}/people?done={action}")


async def resend_link(request: web.Request) -> web.Response:
    return await _member_action(request, "resend")


async def revoke_links(request: web.Request) -> web.Response:
    return await _member_action(request, "revoke")


def setup_invitations(app: web.Application) -> None:
    app.router.add_get("/themes/{slug}/people", people_page)
    app.router.add_post("/themes/{slug}/people", invite)
    app.router.add_post(r"/themes/{slug}/people/{person:\d{1,9}}/resend", resend_link)
    app.router.add_post(r"/themes/{slug}/people/{person:\d{1,9}}/revoke", revoke_links)
