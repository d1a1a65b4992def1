"""The pages' Jinja templates: gettext in them, and the filters that show dates and roles
as people read them."""

from __future__ import annotations

import aiohttp_jinja2
import jinja2
from aiohttp import web

from server.formatting import clock, iso, long_date, role_label
from server.i18n import client_catalog, current_locale, gettext, locale_middleware, ngettext


def setup_templates(app: web.Application) -> jinja2.Environment:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("server", "templates"),
        extensions=["jinja2.ext.i18n"],
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["current_locale"] = current_locale
    env.globals["client_catalog"] = lambda: client_catalog(current_locale())
    env.filters.update(long_date=long_date, clock=clock, iso=iso, role_label=role_label)
    app.middlewares.append(locale_middleware)
    return env
