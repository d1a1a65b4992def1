"""(being built: the theme forum's notifications pages)"""

from __future__ import annotations

from aiohttp import web


def setup_notifications(app: web.Application) -> None:
    pass
