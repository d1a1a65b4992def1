"""(being built: the theme forum's take home pages)"""

from __future__ import annotations

from aiohttp import web


def setup_take_home(app: web.Application) -> None:
    pass
