"""Gettext catalogues (Babel) for pages and browser code.

msgids are English; `nb` (bokmål) is the default locale, `nn` (nynorsk) the other. Two domains:
`messages` (Python and the general pages) and `room` (the room and console templates
and the browser code, whose strings reach the page as a JSON catalogue). Catalogues are
read from the .po files at start-up, so there is no compile step to forget."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import io
from collections.abc import Iterator
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAINS = ("messages", "room")
DEFAULT_LOCALE = "nb"
LOCALES = ("nb", "nn", "en")  # "en" is the msgid language and needs no catalogue
# What the language switch offers (server/pages/language.py), each named in itself.
LANGUAGES = {"nb": "Bokmål", "nn": "Nynorsk"}
LOCALE_COOKIE = "forum_lang"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT_LOCALE)


def _load_domain(locale: str, domain: str) -> Translations | None:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{domain}.po"
    if not path.exists():
        return None
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=domain)


@functools.cache
def translations(locale: str) -> NullTranslations:
    loaded = [t for d in DOMAINS if (t := _load_domain(locale, d)) is not None]
    if not loaded:
        return NullTranslations()
    merged = loaded[0]
    for extra in loaded[1:]:
        merged.merge(extra)
    return merged


@functools.cache
def client_catalog(locale: str) -> dict[str, str | list[str]]:
    """The `room` domain for the browser's gettext() and ngettext() (static/src/i18n.js):
    msgid -> translation, and for a plural entry its singular msgid -> [singular, plural]."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "room.po"
    if not path.exists():
        return {}
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale, domain="room")
    entries: dict[str, str | list[str]] = {}
    for m in catalog:
        if not m.id or not m.string:
            continue
        if m.pluralizable:
            entries[str(m.id[0])] = [str(form) for form in m.string]
        else:
            entries[str(m.id)] = str(m.string)
    return entries


def current_locale() -> str:
    return _current.get()


@contextlib.contextmanager
def using_locale(locale: str) -> Iterator[str]:
    """Speak `locale` within the block (an e-mail in its recipient's language, whatever the
    request's): one of LOCALES, else the default. Yields the locale in effect."""
    token = _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale()).ngettext(singular, plural, n)


def pick_locale(request: web.Request) -> str:
    chosen = request.cookies.get(LOCALE_COOKIE, DEFAULT_LOCALE)
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


@web.middleware
async def locale_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    token = _current.set(pick_locale(request))
    try:
        return await handler(request)
    finally:
        _current.reset(token)
