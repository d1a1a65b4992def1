"""Who is signed in, and proof that a form came from our own pages.

Sessions: the `forum_session` cookie holds a token whose hash is a WebSession row.
CSRF: a double-submit cookie (`forum_csrf`, random) and a hidden form field holding
the cookie's HMAC under SECRET_KEY; every unsafe request is checked by one middleware,
which also refuses a foreign `Origin`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from rooms.accounts import person_for_session
from rooms.models import Person
from server.i18n import current_locale
from server.i18n import gettext as _
from server.keys import SESSIONS, SETTINGS
from server.settings import SESSION_COOKIE, Settings

CSRF_COOKIE = "forum_csrf"
CSRF_FIELD = "csrf_token"
PERSON = web.RequestKey("person", Person)
FRESH_CSRF = web.RequestKey("fresh_csrf", str)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Paths that are not pages: no person to load, no forms to check.
NOT_PAGES = ("/static/", "/socket.io/", "/healthz", "/favicon.ico")
# RFC 8058 one-click unsubscribe: a mail provider POSTs this field without cookies; the
# signed token in the path is the proof (server/pages/mail_choice.py)
ONE_CLICK_PATH, ONE_CLICK_FIELD = "/mail/unsubscribe/", "List-Unsubscribe"
# Forms whose address holds a secret token of their own (an expert's booking link,
# server/pages/experts.py): the token is the proof a CSRF token would give, since another
# site cannot know it; the Origin check still applies. They work without cookies too.
TOKEN_FORM_PATHS = ("/experts/",)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def signed_in(request: web.Request) -> Person | None:
    return request.get(PERSON)


def sign_in_url(settings: Settings, token: str) -> str:
    return str(settings.base_url / "signin" / token)


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def set_session_cookie(response: web.StreamResponse, settings: Settings, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.session_days * 86400, path="/",
                        httponly=True, samesite="Lax", secure=settings.secure_cookies)
    response.del_cookie(CSRF_COOKIE, path="/")  # a fresh form token for the new session


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")
    response.del_cookie(CSRF_COOKIE, path="/")


def _signature(settings: Settings, secret: str) -> str:
    return hmac.new(settings.secret_key.encode(), secret.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: web.Request) -> str:
    """The hidden-field value for this page's forms; issues the cookie if it is missing."""
    secret = request.cookies.get(CSRF_COOKIE) or request.get(FRESH_CSRF)
    if not secret:
        secret = request[FRESH_CSRF] = secrets.token_urlsafe(32)
    return _signature(request.app[SETTINGS], secret)


async def _csrf_valid(request: web.Request) -> bool:
    settings = request.app[SETTINGS]
    if request.path.startswith(ONE_CLICK_PATH) and set((await request.post()).keys()) == {
            ONE_CLICK_FIELD}:
        return True
    origin = request.headers.get("Origin")
    if origin is not None and origin != settings.origin:
        return False
    if request.path.startswith(TOKEN_FORM_PATHS):
        return True
    secret = request.cookies.get(CSRF_COOKIE)
    submitted = (await request.post()).get(CSRF_FIELD)
    if not secret or not isinstance(submitted, str):
        return False
    return hmac.compare_digest(_signature(settings, secret), submitted)


def render(request: web.Request, template: str, context: Mapping[str, Any] | None = None,
           *, status: int = 200) -> web.Response:
    """A page, with who is signed in and the form token for its forms."""
    page = {"person": signed_in(request), "csrf_token": csrf_token(request),
            "locale": current_locale(), **(context or {})}
    response = aiohttp_jinja2.render_template(template, request, page, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    titles = {403: _("Access denied"), 404: _("Page not found")}
    return render(request, "pages/error.html",
                  {"heading": titles.get(status, _("Something went wrong")), "message": message},
                  status=status)


def programme_lead(request: web.Request, refusal: str) -> Person | web.Response:
    """The signed-in programme lead, or the page to show instead: the sign-in page, or
    `refusal` to anyone else."""
    person = signed_in(request)
    if person is None:
        return see_other("/")
    if not person.is_programme_lead:
        return error_page(request, 403, refusal)
    return person


@web.middleware
async def signed_in_person(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(NOT_PAGES):
        person = await person_for_session(request.app[SESSIONS],
                                          request.cookies.get(SESSION_COOKIE))
        if person is not None:
            request[PERSON] = person
    return await handler(request)


@web.middleware
async def csrf_protection(request: web.Request, handler: Handler) -> web.StreamResponse:
    if (request.method in UNSAFE_METHODS and not request.path.startswith(NOT_PAGES)
            and not await _csrf_valid(request)):
        response: web.StreamResponse = error_page(request, 403, _(
            "This form was out of date or came from another site. "
            "Go back, reload the page and try again."))
    else:
        response = await handler(request)
    fresh = request.get(FRESH_CSRF)
    if fresh is not None:
        settings = request.app[SETTINGS]
        response.set_cookie(CSRF_COOKIE, fresh, max_age=settings.session_days * 86400, path="/",
                            httponly=True, samesite="Strict", secure=settings.secure_cookies)
    return response


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if not request.path.startswith("/socket.io/"):
        # Sign-in URLs carry a token: never leak them to other sites in a Referer.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
                                    "form-action 'self'")
    return response


def setup_auth(app: web.Application) -> None:
    """After the locale middleware, so error pages speak the visitor's language."""
    app.middlewares.extend([security_headers, signed_in_person, csrf_protection])
