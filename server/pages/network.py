"""(being built: the theme forum's network pages)"""

from __future__ import annotations

from aiohttp import web


def setup_network(app: web.Application) -> None:
    pass
