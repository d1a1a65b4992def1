"""The pages' Jinja templates: gettext in them, and the filters that show dates and roles
as people read them."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from rooms.privacy import DELETED_NAME
from server.formatting import clock, date_time, iso, long_date, number, role_label
from server.i18n import client_catalog, current_locale, gettext, locale_middleware, ngettext


def shown(value: Any) -> Any:
    """What `{{ value }}` prints: an erased person's marker as the page's words for it."""
    return gettext("deleted participant") if value == DELETED_NAME else value


def setup_templates(app: web.Application) -> jinja2.Environment:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("server", "templates"),
        extensions=["jinja2.ext.i18n"],
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=shown,
    )
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["current_locale"] = current_locale
    env.globals["client_catalog"] = lambda: client_catalog(current_locale())
    env.filters.update(long_date=long_date, clock=clock, iso=iso, role_label=role_label,
                       date_time=date_time, number=number, shown=shown)
    app.middlewares.append(locale_middleware)
    return env
