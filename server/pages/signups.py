"""(being built: the theme forum's signups pages)"""

from __future__ import annotations

from aiohttp import web


def setup_signups(app: web.Application) -> None:
    pass
