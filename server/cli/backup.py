"""`forum backup DIR` and `forum restore DIR` (the work is in recordings/backup.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from server.settings import Settings

BACKUP_HELP = (
    "Back up the database (DATABASE_URL) and the recordings (RECORDINGS_DIR) into DIR, a new "
    "or empty folder, while the forum runs: the database in one snapshot (PostgreSQL: "
    "pg_dump; SQLite: the online backup API), then the files of the recordings that "
    "snapshot holds as ready, then manifest.json (versions, schema revision, checksums).")
RESTORE_HELP = (
    "Restore a backup made by `forum backup` into the database of DATABASE_URL and the "
    "folder RECORDINGS_DIR. Both must be empty (a new database: `createdb`, or a new SQLite "
    "path) unless --force. Stop the workers first, and run `forum db upgrade` afterwards if "
    "this version of the forum is newer than the backup's.")


async def _backup(settings: Settings, args: argparse.Namespace) -> None:
    from recordings.backup import BackupError, backup

    try:
        manifest = await backup(settings.database_url, settings.recordings_path,
                                Path(args.directory))
    except BackupError as error:
        raise SystemExit(f"forum backup: {error}") from None
    print(f"backed up the {manifest.database['kind']} database (schema "
          f"{manifest.alembic_revision}) and {len(manifest.recordings)} recordings "
          f"into {args.directory}")
    if manifest.missing_recordings:
        print(f"{len(manifest.missing_recordings)} recordings were deleted while the backup "
              "ran; their rows are in the backup without a file", file=sys.stderr)


async def _restore(settings: Settings, args: argparse.Namespace) -> None:
    from recordings.backup import BackupError, restore

    try:
        restored = await restore(Path(args.directory), settings.database_url,
                                 settings.recordings_path, force=args.force)
    except BackupError as error:
        raise SystemExit(f"forum restore: {error}") from None
    manifest = restored.manifest
    print(f"restored the backup of {manifest.created_at} (schema "
          f"{manifest.alembic_revision}) and {restored.recordings} recordings; "
          "run `forum db upgrade` before starting the forum")


def add_backup_commands(
        commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    made = commands.add_parser("backup", help="back up the database and recordings to DIR",
                               description=BACKUP_HELP)
    made.add_argument("directory", metavar="DIR", help="a new or empty folder")
    made.set_defaults(handler=_backup)

    back = commands.add_parser("restore", help="restore a backup into an empty database",
                               description=RESTORE_HELP)
    back.add_argument("directory", metavar="DIR", help="a folder made by `forum backup`")
    back.add_argument("--force", action="store_true",
                      help="replace what a non-empty database holds and overwrite recordings")
    back.set_defaults(handler=_restore)
