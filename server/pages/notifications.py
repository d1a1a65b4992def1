"""Notifications: the unread counts in the site's navigation, a person's choices
(`/settings/notifications`: forum mail at once, as a weekly digest or never, and whether
peers see their address), and the scheduled forum mail (instant mail each minute, the
weekly digest on Monday morning), each mail claimed once across workers (rooms/once.py).

The same three choices are offered without signing in on the one-click page every
non-essential mail links to (server/pages/mail_choice.py), which reuses this module's form.
What is new for whom is the pure rule in facilitation/digest.py."""

from __future__ import annotations

import logging
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp_jinja2
from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from facilitation.digest import (
    INSTANT_WINDOW,
    Choice,
    Item,
    by_theme,
    digest_due,
    digest_items,
    instant_items,
)
from rooms import forum_home
from rooms.models import Person
from rooms.network import unread_messages
from rooms.once import claim
from server.i18n import gettext as _
from server.i18n import using_locale
from server.keys import POSTBOX, SESSIONS
from server.mail.compose import FORUM_NEWS, WEEKLY_DIGEST, absolute
from server.mail.jobs import JOBS
from server.pages.auth import NOT_PAGES, Handler, render, see_other, signed_in
from server.pages.resolving import person_signed_in, resolved
from server.settings import Settings

log = logging.getLogger("server.pages.notifications")

SETTINGS_PATH = "/settings/notifications"
#: paths whose answers are not pages with the navigation (feeds, files): no unread count
NOT_NAVIGATED = (".ics", ".json", ".md", ".js", ".css", ".txt")
#: the count shown in the navigation stops here ("99+")
SHOWN_MAX = 99


def choice_labels() -> list[tuple[str, str, str]]:
    """The three choices of forum mail: (value, label, what it means)."""
    return [
        (Choice.INSTANT.value, _("At once"),
         _("A mail for each new announcement, reply, help request, answer and follow-up.")),
        (Choice.WEEKLY.value, _("Weekly digest"),
         _("One mail on Monday morning with what came the week before, if anything did.")),
        (Choice.NEVER.value, _("Never"),
         _("No mail about new posts; you see them marked new in the forum.")),
    ]


class NotifyForm(BaseModel):
    """The forum-mail choice (also posted from the one-click page)."""

    model_config = ConfigDict(extra="ignore")
    notify: Literal["instant", "weekly", "never"]


class SettingsForm(NotifyForm):
    show_email: Literal["yes", "no"] = "no"


# --- the unread counts in the navigation ------------------------------------------------

@web.middleware
async def unread_in_navigation(request: web.Request, handler: Handler) -> web.StreamResponse:
    """For a signed-in person's page views (GET of a page, not a feed or a file): the
    themes with their unread counts (one query) and the unread messages (another), for
    base.html's navigation."""
    person = signed_in(request)
    if (person is not None and request.method == "GET"
            and not request.path.startswith(NOT_PAGES)
            and not request.path.endswith(NOT_NAVIGATED)):
        counts = await forum_home.unread_counts(request.app[SESSIONS], person,
                                                datetime.now(UTC))
        with warnings.catch_warnings():  # aiohttp_jinja2's key is a string, not a RequestKey
            warnings.simplefilter("ignore", web.NotAppKeyWarning)
            context = request.setdefault(aiohttp_jinja2.REQUEST_CONTEXT_KEY, {})
        context["forum_unread"] = counts
        context["unread_max"] = SHOWN_MAX
        context["messages_unread"] = await unread_messages(request.app[SESSIONS], person)
    return await handler(request)


# --- the settings page -----------------------------------------------------------------

@resolved(person_signed_in)
async def show_settings(request: web.Request, person: Person, *, error: str | None = None,
                        typed: dict[str, Any] | None = None, status: int = 200) -> web.Response:
    typed = typed or {}
    return render(request, "pages/notifications.html", {
        "choices": choice_labels(),
        "notify": typed.get("notify", "never" if person.mail_opt_out else person.notify),
        "show_email": typed.get("show_email", "yes" if person.show_email else "no") == "yes",
        "opted_out": person.mail_opt_out,
        "saved": request.query.get("saved") == "1", "error": error}, status=status)


@resolved(person_signed_in)
async def save_settings(request: web.Request, person: Person) -> web.Response:
    data = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    try:
        form = SettingsForm.model_validate(data)
    except ValidationError:
        return await show_settings(request, error=_("Choose how you want to hear of new posts."),
                                   typed=data, status=400)
    await forum_home.set_choices(request.app[SESSIONS], person.id, notify=Choice(form.notify),
                                 show_email=form.show_email == "yes")
    return see_other(f"{SETTINGS_PATH}?saved=1")


# --- the scheduled mail ----------------------------------------------------------------

Names = dict[int, tuple[str, str]]  # theme id -> (slug, name)


def _theme_name(names: Names, theme_id: int | None, person: Person) -> str:
    """The theme's name; for an item to every theme, words for that in the person's
    language (the jobs run outside any request's language)."""
    if theme_id is None:
        with using_locale(person.language or "nb"):
            return _("All themes")
    return names.get(theme_id, ("", ""))[1]


def _slug_for(person_themes: frozenset[int], names: Names) -> str:
    """The theme a to-every-theme item's link opens in for this reader: their first (for
    the programme lead, who may be in none: the first of all)."""
    mine = sorted(t for t in person_themes if t in names) or sorted(names)
    return names[mine[0]][0] if mine else ""


async def instant_mail(app: web.Application, now: datetime) -> None:
    """Each minute: a mail per new item to each person who chose instant mail."""
    sessions = app[SESSIONS]
    people = await forum_home.readers(sessions, Choice.INSTANT)
    if not people:
        return
    items = await forum_home.items_between(sessions, now - INSTANT_WINDOW, now)
    wanted = [(person, reader, item) for person, reader in people
              for item in instant_items(reader, items, now)]
    if not wanted:
        return
    done = await forum_home.claimed(sessions, FORUM_NEWS,
                                    {f"{p.id}:{i.key}" for p, _r, i in wanted})
    names = await forum_home.theme_names(sessions)
    for person, reader, item in wanted:
        key = f"{person.id}:{item.key}"
        if key in done or not await claim(sessions, FORUM_NEWS, key, now):
            continue
        app[POSTBOX].post(FORUM_NEWS, person, theme=_theme_name(names, item.theme_id, person),
                          item_kind=item.kind.value,
                          title=item.title,
                          url=forum_home.place(item.url, _slug_for(reader.themes, names)))


async def weekly_digest(app: web.Application, now: datetime) -> None:
    """From Monday 07:00 in Oslo: each person who chose the digest gets one for the week,
    if anything new came in their themes. The week's (person, week) is claimed whether or
    not there was anything, so the job looks at each person once a week."""
    week = digest_due(now)
    if week is None:
        return
    sessions = app[SESSIONS]
    people = await forum_home.readers(sessions, Choice.WEEKLY)
    keys = {person.id: f"{person.id}:{week.key}" for person, _r in people}
    done = await forum_home.claimed(sessions, WEEKLY_DIGEST, keys.values())
    todo = [(person, reader) for person, reader in people if keys[person.id] not in done]
    if not todo:
        return
    start, end = week.covers
    items = await forum_home.items_between(sessions, start - timedelta(microseconds=1), end)
    names = await forum_home.theme_names(sessions)
    settings = app[POSTBOX].settings
    for person, reader in todo:
        listed = digest_items(reader, items, week)
        if not await claim(sessions, WEEKLY_DIGEST, keys[person.id], now) or not listed:
            continue
        app[POSTBOX].post(WEEKLY_DIGEST, person, week=int(week.key.rsplit("W", 1)[1]),
                          settings_url=absolute(settings, SETTINGS_PATH),
                          themes=_digest_themes(listed, person, reader.themes, names,
                                                settings))


def _digest_themes(listed: list[Item], person: Person, themes: frozenset[int], names: Names,
                   settings: Settings) -> list[tuple[str, list[dict[str, str]]]]:
    slug = _slug_for(themes, names)
    return [(_theme_name(names, theme_id, person),
             [{"kind": item.kind.value, "title": item.title,
               "url": absolute(settings, forum_home.place(item.url, slug))} for item in items])
            for theme_id, items in by_theme(listed).items()]


def setup_notifications(app: web.Application) -> None:
    """After setup_auth: the navigation's counts need the signed-in person."""
    app.middlewares.append(unread_in_navigation)
    app.router.add_get(SETTINGS_PATH, show_settings)
    app.router.add_post(SETTINGS_PATH, save_settings)


JOBS.append(instant_mail)
JOBS.append(weekly_digest)
