"""The `forum` command."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable

from server.settings import Settings, describe


async def _db_upgrade(settings: Settings, args: argparse.Namespace) -> None:
    from rooms.db import create_engine
    from rooms.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    print("database is up to date")


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    from aiohttp import web

    from server.app import create_app

    # Python's cyclic GC stalled broadcasts 110-400 ms at 1000+ clients; collect less often.
    gc.set_threshold(50_000, 20, 100)
    web.run_app(create_app(settings), host=settings.host, port=settings.port,
                access_log=None, print=lambda message: print(message, flush=True))


Command = Callable[[Settings, argparse.Namespace], Awaitable[None] | None]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="forum", description="Klimasats-forum server")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="serve the forum", epilog=describe(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--host", help="address to listen on (overrides HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (overrides PORT)")
    serve.set_defaults(handler=_serve)

    db = commands.add_parser("db", help="database tasks")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply migrations (Alembic)").set_defaults(
        handler=_db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    overrides = {k: v for k in ("host", "port") if (v := getattr(args, k, None)) is not None}
    settings = Settings.from_env(**overrides)
    result = args.handler(settings, args)
    if asyncio.iscoroutine(result):
        asyncio.run(result)


if __name__ == "__main__":
    main()
