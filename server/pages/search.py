"""(being built: the theme forum's search pages)"""

from __future__ import annotations

from aiohttp import web


def setup_search(app: web.Application) -> None:
    pass
