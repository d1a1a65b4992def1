"""`forum import FILE`: the grant list's dry run, or with --apply the import itself."""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from rooms.grant_import import FIELDS, MAX_BYTES, FileProblem, Plan
from server.settings import Settings

EPILOG = (
    "The file is .xlsx or .csv (semicolons or commas; UTF-8, with or without a BOM, or "
    "Windows-1252). A header row in Norwegian or English names the columns: kommune/"
    "municipality, fylke/county, prosjekttittel/project title, tiltakskategori/tema/theme, "
    "tilskuddsår/grant year, tilsagn/beløp/amount, kontaktperson/contact name, e-post/e-mail. "
    "Without --apply nothing changes. Importing the same file again changes nothing.")


def add_import_command(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "import", help="import the grant list (.xlsx or .csv): a dry run unless --apply",
        description="Read the Environment Agency's grant list and show what importing it "
                    "would do: projects to create, to update, rows unchanged, and every "
                    "broken row with its line and why. --apply imports the good rows, all "
                    "in one transaction.", epilog=EPILOG)
    command.add_argument("file", type=Path, help="the grant list, .xlsx or .csv")
    command.add_argument("--mapping", help="a saved column mapping to read the headers by")
    command.add_argument("--column", action="append", default=[], metavar="FIELD=HEADER",
                         help=f"read FIELD from the column headed HEADER (over the saved "
                              f"mapping); FIELD is one of {', '.join(FIELDS)}")
    command.add_argument("--save-mapping", metavar="NAME",
                         help="save the mapping (--mapping with the --column given) as NAME")
    command.add_argument("--apply", action="store_true", help="import, not just a dry run")
    command.set_defaults(handler=_import)


def _columns(given: list[str]) -> dict[str, str]:
    columns = {}
    for pair in given:
        name, _, header = pair.partition("=")
        if name not in FIELDS or not header.strip():
            raise SystemExit(f"forum import: --column {pair!r}: give FIELD=HEADER, FIELD one "
                             f"of {', '.join(FIELDS)}")
        columns[name] = header.strip()
    return columns


def _import(settings: Settings, args: argparse.Namespace) -> Coroutine[Any, Any, None]:
    path: Path = args.file
    try:
        if path.stat().st_size > MAX_BYTES:
            raise SystemExit(f"forum import: {path}: larger than {MAX_BYTES // 2**20} MB")
        data = path.read_bytes()
    except OSError as error:
        raise SystemExit(f"forum import: {error}") from None
    return _run(settings, args, path, data)


async def _run(settings: Settings, args: argparse.Namespace, path: Path, data: bytes) -> None:
    from rooms.db import create_engine, sessionmaker
    from rooms.grant_store import NoStages, UnknownMapping, import_grants, save_mapping
    from rooms.grant_store import saved_mapping as read_mapping
    from server.pages.imports import file_problem_text

    engine = create_engine(settings.database_url)
    try:
        sessions = sessionmaker(engine)
        try:
            mapping = await read_mapping(sessions, args.mapping) if args.mapping else {}
            mapping = {**mapping, **_columns(args.column)}
            plan = await import_grants(sessions, data, mapping=mapping, apply=args.apply)
        except (UnknownMapping, NoStages) as error:
            raise SystemExit(f"forum import: {error}") from None
        except FileProblem as problem:
            raise SystemExit(f"forum import: {path}: {file_problem_text(problem, str)}") from None
        if args.save_mapping:
            await save_mapping(sessions, args.save_mapping, mapping)
    finally:
        await engine.dispose()
    report(plan, applied=args.apply)


def report(plan: Plan, *, applied: bool) -> None:
    from server.pages.imports import CHANGES, problem_text

    counts = plan.counts
    if plan.columns is not None:
        read = ", ".join(f"{f}={h!r}" for f, h in plan.columns.headers.items())
        print(f"header row: line {plan.columns.header_line} ({read})")
    verb = ("created", "updated") if applied else ("to create", "to update")
    print(f"{counts['create']} {verb[0]}, {counts['update']} {verb[1]}, "
          f"{counts['skip']} unchanged, {counts['broken']} broken")
    for step in plan.of("update"):
        changes = ", ".join(CHANGES[c] for c in step.changes)
        print(f"  line {step.row.line}: update {step.row.title!r}: {changes}")
    for row in plan.broken:
        why = "; ".join(problem_text(p, str) for p in row.problems)
        print(f"  line {row.line}: broken: {why}")
    if not applied and counts["create"] + counts["update"]:
        print("dry run: nothing changed; --apply imports")
