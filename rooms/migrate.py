"""Alembic migrations, run programmatically on an async engine."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from rooms.search import outside_models


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "rooms:migrations")
    return config


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """Schema comparisons (autogenerate, tests) leave the archive's full-text table and
    index be: they are not models (rooms/search.py)."""
    return not (reflected and compare_to is None and outside_models(name))


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)
