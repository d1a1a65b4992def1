"""The `forum` command."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import Role
from server.settings import Settings, describe


@asynccontextmanager
async def _database(settings: Settings, *,
                    migrate: bool = False) -> AsyncIterator[async_sessionmaker]:
    from rooms.db import create_engine, sessionmaker

    engine = create_engine(settings.database_url)
    try:
        if migrate:
            from rooms.migrate import upgrade

            await upgrade(engine)
        yield sessionmaker(engine)
    finally:
        await engine.dispose()


async def _db_upgrade(settings: Settings, args: argparse.Namespace) -> None:
    from rooms.db import create_engine
    from rooms.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    print("database is up to date")


async def _demo(settings: Settings, args: argparse.Namespace) -> None:
    from server.cli.demo import demo_sign_ins, load_demo
    from server.pages.auth import sign_in_url

    async with _database(settings, migrate=True) as sessions:
        loaded = await load_demo(sessions)
        links = await demo_sign_ins(sessions, days=settings.invitation_days)
    print("demo data loaded" if loaded else "the forum already has themes; demo data not loaded")
    _links_from(settings)
    print(f"sign-in links (reusable for {settings.invitation_days} days):")
    for link in links:
        print(f"  {link.label:<24} {link.name} <{link.email}>")
        print(f"    {sign_in_url(settings, link.token)}")


async def _programme(settings: Settings, args: argparse.Namespace) -> None:
    from rooms.programme import ensure_programme

    async with _database(settings, migrate=True) as sessions, sessions() as session:
        _, added = await ensure_programme(session)
        await session.commit()
    print("\n".join(f"added {what}" for what in added) or "the programme's themes and stages "
          "are all there")


# the address in printed sign-in links, said in the --help of the commands that print them
LINKS_HELP = (
    "Sign-in links use PUBLIC_URL. Without it they use http://HOST:PORT from this "
    "environment: the address `forum serve` listens on when it runs with the same "
    "environment (--host and --port override HOST and PORT here as they do there). A server "
    "on another port, or behind a proxy, needs PUBLIC_URL set here too.")


def _link_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--host", help="the server's address in links without PUBLIC_URL "
                                        "(overrides HOST)")
    command.add_argument("--port", type=int, help="the server's port in links without "
                                                  "PUBLIC_URL (overrides PORT)")


def _links_from(settings: Settings) -> None:
    if not settings.public_url:
        print(f"PUBLIC_URL is not set: links are for a server at {settings.origin} "
              "(HOST and PORT, or --host and --port)", file=sys.stderr)


async def _invite(settings: Settings, args: argparse.Namespace) -> None:
    from rooms.accounts import create_invitation
    from rooms.roster import enrol
    from server.pages.auth import sign_in_url

    async with _database(settings) as sessions:
        try:
            person = await enrol(sessions, theme_slug=args.theme, role=Role(args.role),
                                 email=args.email, name=args.name,
                                 municipality=args.municipality,
                                 new_municipality=args.new_municipality)
        except LookupError as error:  # no such theme or municipality
            raise SystemExit(f"forum invite: {error}") from None
        token = await create_invitation(sessions, person.id, days=settings.invitation_days,
                                        reusable=args.reusable)
    kind = "reusable" if args.reusable else "single-use"
    place = f", {person.municipality.name}" if person.municipality else ""
    print(f"{kind} sign-in link for {person.name} <{person.email}>{place} ({args.role}, "
          f"{args.theme}), valid {settings.invitation_days} days:", file=sys.stderr)
    _links_from(settings)
    print(sign_in_url(settings, token))


async def _gatherings(settings: Settings, args: argparse.Namespace) -> None:
    from rooms.roster import UnknownTheme, gathering_rows

    async with _database(settings) as sessions:
        try:
            rows = await gathering_rows(sessions, args.theme)
        except UnknownTheme as error:
            raise SystemExit(f"forum gatherings: {error}") from None
    if args.json:
        print(json.dumps([row.as_json() for row in rows], ensure_ascii=False, indent=2))
        return
    print(f"{'id':<32}  {'theme':<10} {'year':>4} {'no':>2}  {'starts (UTC)':<16}  title")
    for row in rows:
        print(f"{row.id:<32}  {row.theme:<10} {row.year:>4} {row.number:>2}  "
              f"{row.starts_at:%Y-%m-%d %H:%M}  {row.title}")


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    from aiohttp import web

    from server.app import create_app

    if not settings.public_url and settings.host not in {"127.0.0.1", "localhost", "::1"}:
        logging.getLogger("server").warning(
            "PUBLIC_URL is not set: sign-in links and the accepted origin will be %s, "
            "which browsers elsewhere cannot use", settings.origin)
    app = create_app(settings)
    # What start-up made lives as long as the process: never scan it again. And Python's
    # cyclic GC stalled broadcasts 110-400 ms at 1000+ clients: collect less often (the
    # app collects everything every GARBAGE_SECONDS, server/app.py).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    web.run_app(app, host=settings.host, port=settings.port, loop=_event_loop(),
                access_log=None, print=lambda message: print(message, flush=True))


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (Linux and macOS): its sockets and thread wake-ups cost
    about half of asyncio's, which a join storm of a thousand people is mostly made of."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


Command = Callable[[Settings, argparse.Namespace], Awaitable[None] | None]


async def _search_reindex(settings: Settings, args: argparse.Namespace) -> None:
    from rooms.harvest import reharvest
    from rooms.notes import NoteBook
    from rooms.store import GatheringStore
    from rooms.summaries import Summaries

    async def no_template(gathering_id: str, note_id: str) -> str:
        return ""  # only read here: no note is started

    async with _database(settings) as sessions:
        summaries = Summaries(sessions, GatheringStore(sessions), NoteBook(sessions, no_template))
        count = await reharvest(sessions, summaries)
    print(f"the archive holds the harvest of {count} published summaries again")


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

    demo = commands.add_parser(
        "demo", help="load demo data into an empty forum and print demo sign-in links",
        epilog=LINKS_HELP)
    _link_options(demo)
    demo.set_defaults(handler=_demo)

    commands.add_parser(
        "programme", help="add the programme's three themes and its project stages where "
                          "missing (a new forum's first step; idempotent)").set_defaults(
        handler=_programme)

    invite = commands.add_parser(
        "invite", help="give a person a role in a theme (creating them if new); print a link",
        description="Give a person a role in a theme, creating them if new, and print a "
                    "sign-in link. The name and municipality given are set also for a person "
                    "who is already there.", epilog=LINKS_HELP)
    invite.add_argument("--theme", required=True, help="theme slug, e.g. mat")
    invite.add_argument("--role", required=True,
                        choices=[r.value for r in Role if r is not Role.SYSTEM])
    invite.add_argument("--email", required=True, help="the person's e-mail address")
    invite.add_argument("--name", help="display name (default for a new person: the "
                                       "address's local part)")
    invite.add_argument("--municipality",
                        help="the person's municipality, one the forum has: its name without "
                             "regard to case, spacing or a trailing 'kommune' ('askvik' is "
                             "'Askvik kommune'). An unknown name is refused, with the names "
                             "that come close")
    invite.add_argument("--new-municipality", action="store_true",
                        help="create the municipality, named as written, when none matches "
                             "(a county's name ends in 'fylkeskommune')")
    _link_options(invite)
    invite.add_argument("--reusable", action="store_true",
                        help="the link works until it expires, not just once")
    invite.set_defaults(handler=_invite)

    gatherings = commands.add_parser(
        "gatherings", help="list gatherings with their ids; add, edit or cancel one")
    gatherings.add_argument("--theme", help="only this theme (slug)")
    gatherings.add_argument("--json", action="store_true", help="a JSON list instead of a table")
    gatherings.set_defaults(handler=_gatherings)

    from server.cli.gatherings import add_gathering_commands

    add_gathering_commands(gatherings)

    from server.cli.imports import add_import_command

    add_import_command(commands)

    search = commands.add_parser("search", help="the archive's search")
    search_commands = search.add_subparsers(dest="search_command", required=True)
    search_commands.add_parser(
        "reindex", help="rebuild the archive's harvest of the gatherings (published "
                        "summaries, their notes, questions and recordings) and, on SQLite, "
                        "the full-text table").set_defaults(handler=_search_reindex)

    from server.cli.backup import add_backup_commands

    add_backup_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # noise at INFO
    args = build_parser().parse_args(argv)
    overrides = {k: v for k in ("host", "port") if (v := getattr(args, k, None)) is not None}
    settings = Settings.from_env(**overrides)
    result = args.handler(settings, args)
    if asyncio.iscoroutine(result):
        asyncio.run(result)


if __name__ == "__main__":
    main()
