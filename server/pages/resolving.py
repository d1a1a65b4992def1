"""What a page finds before it does anything: the signed-in person, the theme or gathering
of its URL, ... or the page to show instead (the sign-in page, 403, 404).

A resolver answers either; `@resolved(resolver)` calls it and hands its value to the
handler, or returns its Response:

    @resolved(theme_member)
    async def list_page(request: web.Request, member: ThemeMember) -> web.Response: ...

The handler is then called with the request alone (and its own keyword arguments, such as
the `error=` of a page shown again with what was typed); each call resolves again. Also here:
what a posted form holds, and its fields' messages for a ValidationError."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from aiohttp import web
from pydantic import ValidationError

from rooms.models import Person
from server.i18n import gettext as _
from server.pages.auth import programme_lead, see_other, signed_in

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R", bound=web.StreamResponse)
Resolver = Callable[[web.Request], Awaitable[T | web.Response]]
Resolving = Callable[Concatenate[web.Request, T, P], Awaitable[R]]
Page = Callable[Concatenate[web.Request, P], Awaitable[R | web.Response]]


def resolved(resolver: Resolver[T]) -> Callable[[Resolving[T, P, R]], Page[P, R]]:
    """The handler, called with what `resolver` found (or the resolver's page instead)."""

    def decorate(handler: Resolving[T, P, R]) -> Page[P, R]:
        @functools.wraps(handler)
        async def page(request: web.Request, *args: P.args,
                       **kwargs: P.kwargs) -> R | web.Response:
            found = await resolver(request)
            if isinstance(found, web.Response):
                return found
            return await handler(request, found, *args, **kwargs)

        return page

    return decorate


async def person_signed_in(request: web.Request) -> Person | web.Response:
    """The signed-in person, or the front page to sign in on."""
    person = signed_in(request)
    return see_other("/") if person is None else person


async def the_programme_lead(request: web.Request) -> Person | web.Response:
    """The signed-in programme lead, or the page to show instead (sign in; 403 to anyone
    else)."""
    return programme_lead(request, _("Only the programme lead can do this."))


def form_texts(posted: Mapping[str, Any]) -> dict[str, str]:
    """A posted form's text fields, with the browser's line ends made "\\n"."""
    return {k: v.replace("\r\n", "\n") for k, v in posted.items() if isinstance(v, str)}


def cut_texts(posted: Mapping[str, Any], limit: int) -> dict[str, str]:
    """A posted form's fields (the CSRF token left out) as the form shows them again, each
    cut at `limit` characters."""
    return {k: str(v)[:limit] for k, v in posted.items() if k != "csrf_token"}


def field_errors(error: ValidationError, messages: Mapping[str, str]) -> dict[str, str]:
    """The message of each field the error names, in the order of `messages`."""
    fields = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
    return {f: messages[f] for f in messages if f in fields}
