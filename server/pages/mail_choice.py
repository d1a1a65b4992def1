"""A person's choice of non-essential mail (notices of rescheduled and cancelled
gatherings), from the signed link in each such mail: GET shows the choice and a form,
POST stops or resumes the notices. A mail provider's one-click POST (RFC 8058: the body
`List-Unsubscribe=One-Click`, no cookies) stops them without a session; auth.py lets it past
the CSRF check, as the signed token in the URL is its proof. Sign-in links and invitations
always go."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from facilitation.digest import Choice
from rooms.forum_home import set_choices
from rooms.mailing import person_by_id, set_mail_opt_out
from rooms.models import Person
from server.i18n import gettext as _
from server.keys import SESSIONS, SETTINGS
from server.mail.tokens import TOKEN_PATTERN, person_of_token, unsubscribe_token
from server.pages.auth import ONE_CLICK_FIELD, error_page, render, see_other
from server.pages.notifications import NotifyForm, choice_labels
from server.pages.resolving import person_signed_in, resolved

ONE_CLICK = "One-Click"


class ChoiceForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    notices: Literal["off", "on"]


def _not_valid(request: web.Request) -> web.Response:
    return error_page(request, 404, _(
        "This link to your e-mail choices is not valid. Use the link in the newest e-mail "
        "from Klimasats-forum."))


async def show_choice(request: web.Request, *, error: str | None = None,
                      status: int = 200) -> web.Response:
    token = request.match_info["token"]
    person_id = person_of_token(request.app[SETTINGS], token)
    person = await person_by_id(request.app[SESSIONS], person_id) if person_id else None
    if person is None:
        return _not_valid(request)
    return render(request, "pages/mail_choice.html", {
        "token": token, "address": person.email, "opted_out": person.mail_opt_out,
        "notify": "never" if person.mail_opt_out else person.notify, "choices": choice_labels(),
        "saved": request.query.get("saved") == "1", "error": error}, status=status)


async def save_choice(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    person_id = person_of_token(request.app[SETTINGS], token)
    if person_id is None:
        return _not_valid(request)
    form = await request.post()
    if form.get(ONE_CLICK_FIELD) == ONE_CLICK:
        opt_out = True
    elif "notify" in form:  # the forum-mail choice (server/pages/notifications.py)
        try:
            notify = NotifyForm.model_validate(dict(form)).notify
        except ValidationError:
            return await show_choice(request, error=_("Choose one of the buttons."), status=400)
        if not await set_choices(request.app[SESSIONS], person_id, notify=Choice(notify)):
            return _not_valid(request)
        return see_other(f"/mail/unsubscribe/{token}?saved=1")
    else:
        try:
            opt_out = ChoiceForm.model_validate(dict(form)).notices == "off"
        except ValidationError:
            return await show_choice(request, error=_("Choose one of the buttons."), status=400)
    if not await set_mail_opt_out(request.app[SESSIONS], person_id, opt_out):
        return _not_valid(request)
    return see_other(f"/mail/unsubscribe/{token}?saved=1")


@resolved(person_signed_in)
async def my_choice(request: web.Request, person: Person) -> web.Response:
    """The signed-in person's own choice page (no mail needed to turn notices back on)."""
    return see_other(f"/mail/unsubscribe/{unsubscribe_token(request.app[SETTINGS], person.id)}")


def setup_mail_choice(app: web.Application) -> None:
    path = f"/mail/unsubscribe/{{token:{TOKEN_PATTERN}}}"
    app.router.add_get("/mail", my_choice)
    app.router.add_get(path, show_choice)
    app.router.add_post(path, save_choice)
