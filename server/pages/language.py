"""The language switch on every page (templates/pages/_language_switch.html, in base.html):
bokmål or nynorsk. `POST /language` keeps the choice in the LOCALE_COOKIE for everyone and,
for a signed-in person, in Person.language (rooms/language.py), which their e-mail follows.
A signed-in person's saved language wins on every device, a new one included: the middleware
here speaks it and puts it in the device's cookie, so it stays after signing out."""

from __future__ import annotations

import contextvars
import re
from typing import Literal

import aiohttp_jinja2
from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from rooms.language import save_language
from rooms.models import Person
from server.i18n import LANGUAGES, LOCALE_COOKIE, using_locale
from server.i18n import gettext as _
from server.keys import SESSIONS, SETTINGS
from server.pages.auth import NOT_PAGES, Handler, error_page, see_other, signed_in

COOKIE_DAYS = 400  # the longest a browser keeps a cookie
# Back to a page of this site only: a path, never `//host` or a scheme.
MAX_NEXT = 2000
LOCAL_PATH = re.compile(r"/(?![/\\])[^\s\\]*")
_here: contextvars.ContextVar[str] = contextvars.ContextVar("here", default="/")


class LanguageChoice(BaseModel):
    model_config = ConfigDict(extra="ignore")
    language: Literal["nb", "nn"]
    next: str = "/"

    @field_validator("next")
    @classmethod
    def local_only(cls, value: str) -> str:
        return value if len(value) <= MAX_NEXT and LOCAL_PATH.fullmatch(value) else "/"


def here() -> str:
    """The page being shown, for the switch to come back to."""
    return _here.get()


def remember(response: web.StreamResponse, request: web.Request, language: str) -> None:
    response.set_cookie(LOCALE_COOKIE, language, max_age=COOKIE_DAYS * 86400, path="/",
                        httponly=True, samesite="Lax",
                        secure=request.app[SETTINGS].secure_cookies)


async def switch_language(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        choice = LanguageChoice.model_validate({k: form[k] for k in ("language", "next")
                                                if isinstance(form.get(k), str)})
    except ValidationError:
        return error_page(request, 400, _("Choose bokmål or nynorsk."))
    person = signed_in(request)
    if person is not None and person.language != choice.language:
        await save_language(request.app[SESSIONS], person.id, choice.language)
    response = see_other(choice.next)
    remember(response, request, choice.language)
    return response


@web.middleware
async def person_language(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pages in the signed-in person's saved language (after signed_in_person), and the
    device's cookie brought in line with it."""
    if request.path.startswith(NOT_PAGES):
        return await handler(request)
    token = _here.set(request.path_qs if request.method == "GET" else "/")
    try:
        person = signed_in(request)
        if person is not None and person.language is None:
            await _keep_the_devices_choice(request, person)
        if person is None or person.language not in LANGUAGES:
            return await handler(request)
        with using_locale(person.language):
            response = await handler(request)
        if (request.cookies.get(LOCALE_COOKIE) != person.language
                and LOCALE_COOKIE not in response.cookies and not response.prepared):
            remember(response, request, person.language)
        return response
    finally:
        _here.reset(token)


async def _keep_the_devices_choice(request: web.Request, person: Person) -> None:
    """Someone who never chose a language keeps the one this device chose (before they
    signed in, say) as their own."""
    chosen = request.cookies.get(LOCALE_COOKIE)
    if chosen in LANGUAGES:
        await save_language(request.app[SESSIONS], person.id, chosen)
        person.language = chosen


def setup_language(app: web.Application) -> None:
    """After setup_templates and setup_auth: the middleware needs the signed-in person."""
    app.middlewares.append(person_language)
    env = aiohttp_jinja2.get_env(app)
    env.globals.update(here=here, languages=LANGUAGES)
    app.router.add_post("/language", switch_language)
