"""(being built: the theme forum's follow ups pages)"""

from __future__ import annotations

from aiohttp import web


def setup_follow_ups(app: web.Application) -> None:
    pass
