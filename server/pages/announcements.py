"""(being built: the theme forum's announcements pages)"""

from __future__ import annotations

from aiohttp import web


def setup_announcements(app: web.Application) -> None:
    pass
