"""(being built: the theme forum's experts pages)"""

from __future__ import annotations

from aiohttp import web


def setup_experts(app: web.Application) -> None:
    pass
