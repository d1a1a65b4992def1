"""`forum gatherings add|edit|cancel`: the year's gatherings from a script, by the same rules
as the schedule pages (rooms/schedule.py). The operator may change every theme's gatherings.
Each prints the gathering's id and its page; a reschedule or a cancellation tells the
theme's members as the pages do (a notice in the forum, and e-mail)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import async_sessionmaker

from server.settings import Settings

if TYPE_CHECKING:
    from rooms.schedule import Change

WHEN_FORMAT = "%Y-%m-%d %H:%M"


def oslo_time(text: str) -> datetime:
    """`--starts`: "YYYY-MM-DD HH:MM", Norwegian time."""
    try:
        moment = datetime.strptime(text.strip(), WHEN_FORMAT)
        if not 2000 <= moment.year <= 2100:
            raise ValueError(moment)
        return moment
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time like '2027-03-04 09:00' (Norwegian time)") from None


@asynccontextmanager
async def _sessions(settings: Settings) -> AsyncIterator[async_sessionmaker]:
    from rooms.db import create_engine, sessionmaker

    engine = create_engine(settings.database_url)
    try:
        yield sessionmaker(engine)
    finally:
        await engine.dispose()


def _fail(command: str, error: Exception) -> SystemExit:
    from rooms.schedule import ScheduleError

    reasons = {"not_found": "there is no such gathering", "no_theme": "there is no such theme",
               "cancelled": "the gathering is cancelled", "live": "the gathering's room is open",
               "ended": "the gathering has ended"}
    code = error.code if isinstance(error, ScheduleError) else ""
    return SystemExit(f"forum gatherings {command}: {reasons.get(code, str(error))}")


def _printed(settings: Settings, gathering_id: str, what: str) -> None:
    print(f"{gathering_id}\t{settings.base_url / 'g' / gathering_id}")
    print(what, file=sys.stderr)


async def _tell(settings: Settings, sessions: async_sessionmaker, change: Change,
                kind: str) -> None:
    """E-mail the theme's members, as the pages do; the command waits until it is sent."""
    from server.mail import Postbox
    from server.pages.schedule import notify_members

    postbox = Postbox(settings, sessions)
    try:
        count = await notify_members(postbox, change, kind)
    finally:
        await postbox.close()
    print(f"told the theme's members: {count} e-mails", file=sys.stderr)


async def _add(settings: Settings, args: argparse.Namespace) -> None:
    from rooms.directory import theme_by_slug
    from rooms.schedule import ScheduleError, create_gathering, template_minutes

    async with _sessions(settings) as sessions:
        theme = await theme_by_slug(sessions, args.theme)
        if theme is None:
            raise SystemExit(f"forum gatherings add: there is no theme {args.theme!r}")
        try:
            gathering = await create_gathering(
                sessions, None, theme_id=theme.id, number=args.number, title=args.title,
                starts_local=args.starts,
                minutes=args.minutes or template_minutes(args.template) or 120,
                template=args.template)
        except ScheduleError as error:
            raise _fail("add", error) from None
    _printed(settings, gathering.id, f"gathering {gathering.number} of {args.theme} "
                                     f"{gathering.year} created")


async def _edit(settings: Settings, args: argparse.Namespace) -> None:
    from rooms.schedule import RESCHEDULED, ScheduleError, edit_gathering

    async with _sessions(settings) as sessions:
        try:
            change = await edit_gathering(sessions, None, args.id, title=args.title,
                                          number=args.number, starts_local=args.starts,
                                          minutes=args.minutes)
        except ScheduleError as error:
            raise _fail("edit", error) from None
        if change.rescheduled:
            await _tell(settings, sessions, change, RESCHEDULED)
    what = "rescheduled" if change.rescheduled else "saved" if change.changed else "unchanged"
    _printed(settings, change.gathering.id, f"gathering {what}")


async def _cancel(settings: Settings, args: argparse.Namespace) -> None:
    from rooms.schedule import CANCELLED, ScheduleError, cancel_gathering

    async with _sessions(settings) as sessions:
        try:
            change = await cancel_gathering(sessions, None, args.id)
        except ScheduleError as error:
            raise _fail("cancel", error) from None
        if change.changed:
            await _tell(settings, sessions, change, CANCELLED)
    _printed(settings, change.gathering.id,
             "gathering cancelled" if change.changed else "gathering was already cancelled")


def add_gathering_commands(gatherings: argparse.ArgumentParser) -> None:
    """`add`, `edit` and `cancel` under `forum gatherings` (which alone lists them)."""
    from facilitation.planning import TEMPLATES

    commands = gatherings.add_subparsers(dest="gatherings_command", metavar="{add,edit,cancel}")
    starts_help = "start, Norwegian time: 'YYYY-MM-DD HH:MM'"
    add = commands.add_parser("add", help="create a gathering")
    add.add_argument("--theme", required=True, help="theme slug, e.g. mat")
    add.add_argument("--number", type=int, required=True, help="its number in the year, 1-4")
    add.add_argument("--title", required=True)
    add.add_argument("--starts", type=oslo_time, required=True, help=starts_help)
    add.add_argument("--minutes", type=int, help="planned length (default: the template's)")
    add.add_argument("--template", default="standard", choices=[*TEMPLATES, ""],
                     help="the agenda to start from ('' for an empty agenda)")
    add.set_defaults(handler=_add)

    edit = commands.add_parser("edit", help="change a gathering; a new start or length "
                                            "reschedules it and tells the theme's members")
    edit.add_argument("id", help="the gathering's id (forum gatherings lists them)")
    edit.add_argument("--title")
    edit.add_argument("--number", type=int)
    edit.add_argument("--starts", type=oslo_time, help=starts_help)
    edit.add_argument("--minutes", type=int)
    edit.set_defaults(handler=_edit)

    cancel = commands.add_parser("cancel", help="cancel a gathering and tell the theme's "
                                                "members")
    cancel.add_argument("id", help="the gathering's id")
    cancel.set_defaults(handler=_cancel)
