"""`forum backup DIR` / `forum restore DIR`: the database and the recordings together.

A backup is a folder:

    manifest.json         written last: a folder without it is not a backup
    database.pgdump       PostgreSQL: `pg_dump --format=custom`
    database.sqlite3      SQLite: a copy made with sqlite3's online backup API
    recordings/<id>.mp4   the files of the recordings the dump lists as ready

Consistent while the workers run:

- The database is copied in one snapshot. PostgreSQL: a read-only REPEATABLE READ
  transaction exports its snapshot, `pg_dump --snapshot` dumps exactly that snapshot, and the
  recordings rows and the Alembic revision are read in the same transaction. SQLite: the
  online backup API copies the whole database as of one moment; rows are then read from
  the copy.
- Recordings are copied after the dump, and only the files of rows the dump holds with
  status `ready`. A ready file is complete and never written again (the archive finishes the
  file before it marks the row ready, recordings/archive.py), so copying it later gives the
  same bytes. A file whose row is not in the dump (a recording that started after the
  snapshot) is not copied: restored, it would be a file without a row, which the forum
  never lists nor deletes. A row still `recording` in the dump has a file being written:
  not copied (its worker is the one that would have finished it; after a restore the row
  stays unfinished and the retention sweep removes it). A ready row whose file was deleted
  between the dump and the copy (the facilitator deleted it) is noted as `missing` in the
  manifest: restored, it is a row without a file, which the forum treats as harmless (the
  archive deletes files before rows for the same reason) and the facilitator can delete.
  Copying files first and dumping after would be the unsafe order: a recording finished in
  between would be restored as ready with a half-written file.

Restore goes into an empty database (no tables) and an empty recordings folder, and refuses
anything else unless forced. Every checksum is verified before anything is written.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from recordings.storage import SUFFIX, data_directory, is_recording_id

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP_FILE = "database.pgdump"
SQLITE_FILE = "database.sqlite3"
RECORDINGS = "recordings"
READY = "ready"  # recordings.archive.READY; that module imports PyAV, not needed here
CHUNK = 1 << 20


class BackupError(Exception):
    """Something the operator must fix; the message says what."""


@dataclass
class Manifest:
    created_at: str
    database: dict[str, Any]
    alembic_revision: str | None
    versions: dict[str, str]
    files: dict[str, dict[str, Any]]  # relative path -> {"sha256", "bytes"}
    recordings: list[str]  # ids whose file is in the backup
    missing_recordings: list[str] = field(default_factory=list)
    skipped_recordings: list[str] = field(default_factory=list)  # not ready at the dump
    format: int = FORMAT

    def as_json(self) -> dict[str, Any]:
        return {"format": self.format, "created_at": self.created_at,
                "database": self.database, "alembic_revision": self.alembic_revision,
                "versions": self.versions, "files": self.files,
                "recordings": self.recordings, "missing_recordings": self.missing_recordings,
                "skipped_recordings": self.skipped_recordings}

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BackupError(f"{directory} is not a complete backup: no {MANIFEST}") from None
        except (OSError, ValueError) as error:
            raise BackupError(f"cannot read {path}: {error}") from None
        if data.get("format") != FORMAT:
            raise BackupError(f"{path}: backup format {data.get('format')!r}, this forum "
                              f"reads format {FORMAT}")
        return cls(created_at=data["created_at"], database=data["database"],
                   alembic_revision=data["alembic_revision"], versions=data["versions"],
                   files=data["files"], recordings=data["recordings"],
                   missing_recordings=data.get("missing_recordings", []),
                   skipped_recordings=data.get("skipped_recordings", []))


# --- helpers ----------------------------------------------------------------------------

def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_checked(source: Path, target: Path) -> dict[str, Any]:
    """Copy through a temporary name, then rename: a target is whole or absent."""
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as reading, partial.open("wb") as writing:
        while chunk := reading.read(CHUNK):
            digest.update(chunk)
            writing.write(chunk)
            size += len(chunk)
        writing.flush()
        os.fsync(writing.fileno())
    partial.replace(target)
    return {"sha256": digest.hexdigest(), "bytes": size}


def _record(path: Path) -> dict[str, Any]:
    return {"sha256": sha256_of(path), "bytes": path.stat().st_size}


def _forum_version() -> str:
    try:
        return version("klimasats-forum")
    except PackageNotFoundError:
        return "unknown"


def database_kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise BackupError(f"cannot back up a {backend} database")
    return backend


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI (for pg_dump, pg_restore) without the password, and the environment
    that carries it (PGPASSWORD), so it never shows in a process list."""
    parsed: URL = make_url(url)
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _run(*command: str, env: dict[str, str] | None = None) -> str:
    try:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(env or {})})
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: apt-get install "
                          "postgresql-client)") from None
    out, err = await process.communicate()
    if process.returncode != 0:
        raise BackupError(f"{command[0]} failed ({process.returncode}): "
                          f"{err.decode(errors='replace').strip()}")
    return out.decode(errors="replace").strip()


def _empty_or_new(directory: Path) -> None:
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory} is not empty: back up into a new folder")
    directory.mkdir(parents=True, exist_ok=True)


# --- backup -----------------------------------------------------------------------------

@dataclass
class Snapshot:
    """What was read inside the database's snapshot."""
    revision: str | None
    recordings: list[tuple[str, str]]  # (id, status)
    database: dict[str, Any]


async def _dump_postgresql(url: str, target: Path) -> Snapshot:
    import asyncpg

    uri, env = libpq(url)
    tool = await _run("pg_dump", "--version")
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        transaction = connection.transaction(isolation="repeatable_read", readonly=True)
        await transaction.start()
        try:
            snapshot = await connection.fetchval("SELECT pg_export_snapshot()")
            server = await connection.fetchval("SHOW server_version")
            revision = await connection.fetchval(
                "SELECT version_num FROM alembic_version LIMIT 1") \
                if await connection.fetchval("SELECT to_regclass('alembic_version')") else None
            rows = await connection.fetch("SELECT id, status FROM recordings") \
                if await connection.fetchval("SELECT to_regclass('recordings')") else []
            # the exported snapshot lives as long as this transaction: dump it meanwhile
            await _run("pg_dump", "--format=custom", f"--snapshot={snapshot}",
                       f"--file={target}", f"--dbname={uri}", env=env)
        finally:
            await transaction.rollback()
    finally:
        await connection.close()
    return Snapshot(revision, [(r["id"], r["status"]) for r in rows],
                    {"kind": "postgresql", "file": PG_DUMP_FILE, "server_version": server,
                     "dump_tool": tool})


def _read_sqlite(path: Path) -> tuple[str | None, list[tuple[str, str]]]:
    with sqlite3.connect(path) as copy:
        tables = {name for (name,) in copy.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        revision = None
        if "alembic_version" in tables:
            row = copy.execute("SELECT version_num FROM alembic_version LIMIT 1").fetchone()
            revision = row[0] if row else None
        rows = copy.execute("SELECT id, status FROM recordings").fetchall() \
            if "recordings" in tables else []
    copy.close()
    return revision, [(str(i), str(s)) for i, s in rows]


def _dump_sqlite(url: str, target: Path) -> Snapshot:
    source_path = sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"no SQLite database at {source_path}")
    # read-only URI: the backup never creates or changes the live file
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy)  # one consistent copy, even while workers write
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
    finally:
        copy.close()
        source.close()
    revision, rows = _read_sqlite(target)
    return Snapshot(revision, rows, {"kind": "sqlite", "file": SQLITE_FILE,
                                     "sqlite_version": sqlite3.sqlite_version})


async def backup(database_url: str, recordings_dir: Path, directory: Path) -> Manifest:
    """Back up the database and its recordings into `directory` (new or empty)."""
    kind = database_kind(database_url)
    _empty_or_new(directory)
    if kind == "postgresql":
        snapshot = await _dump_postgresql(database_url, directory / PG_DUMP_FILE)
    else:
        snapshot = await asyncio.to_thread(_dump_sqlite, database_url, directory / SQLITE_FILE)
    files = {snapshot.database["file"]: _record(directory / snapshot.database["file"])}

    # after the dump: only the files of rows the snapshot holds as ready
    (directory / RECORDINGS).mkdir()
    copied, missing, skipped = [], [], []
    for recording_id, status in sorted(snapshot.recordings):
        if not is_recording_id(recording_id):
            continue
        if status != READY:
            skipped.append(recording_id)
            continue
        name = f"{recording_id}{SUFFIX}"
        source = recordings_dir / name
        try:
            files[f"{RECORDINGS}/{name}"] = await asyncio.to_thread(
                _copy_checked, source, directory / RECORDINGS / name)
        except FileNotFoundError:  # deleted after the snapshot
            missing.append(recording_id)
            continue
        copied.append(recording_id)

    manifest = Manifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        database=snapshot.database, alembic_revision=snapshot.revision,
        versions={"forum": _forum_version(), "python": platform.python_version(),
                  "sqlite": sqlite3.sqlite_version},
        files=files, recordings=copied, missing_recordings=missing,
        skipped_recordings=skipped)
    partial = directory / (MANIFEST + ".partial")
    partial.write_text(json.dumps(manifest.as_json(), indent=2, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    partial.replace(directory / MANIFEST)
    return manifest


# --- restore ----------------------------------------------------------------------------

def verify(directory: Path, manifest: Manifest) -> None:
    """Every file the manifest lists is there with its checksum; nothing outside the
    backup folder is named."""
    for relative, expected in manifest.files.items():
        path = (directory / relative).resolve()
        if directory.resolve() not in path.parents:
            raise BackupError(f"manifest names a file outside the backup: {relative}")
        if not path.is_file():
            raise BackupError(f"{relative} is missing from the backup")
        if sha256_of(path) != expected["sha256"]:
            raise BackupError(f"{relative} does not match its checksum: the backup is damaged")
    for recording_id in manifest.recordings:
        if not is_recording_id(recording_id) or \
                f"{RECORDINGS}/{recording_id}{SUFFIX}" not in manifest.files:
            raise BackupError(f"manifest lists recording {recording_id!r} without its file")


def known_revision(revision: str | None) -> None:
    """Refuse a backup made by a newer forum: this code cannot run that schema."""
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    from rooms.migrate import alembic_config

    if revision is None:
        return
    try:
        found = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        found = None
    if found is None:
        raise BackupError(f"the backup's schema revision {revision} is unknown to this "
                          "version of the forum: restore it with the version that made it "
                          "(or a newer one)")


async def postgresql_tables(url: str) -> list[str]:
    import asyncpg

    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch(
            "SELECT schemaname || '.' || tablename AS name FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
    finally:
        await connection.close()
    return [r["name"] for r in rows]


def sqlite_tables(path: Path) -> list[str]:
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        names = [n for (n,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY 1")]
    connection.close()
    return names


def _restore_sqlite(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    reading = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    writing = sqlite3.connect(target, timeout=30)
    try:
        with writing:
            reading.backup(writing)  # replaces the whole target database in one step
        writing.execute("PRAGMA journal_mode=WAL")  # as the forum runs it (rooms/db.py)
    finally:
        writing.close()
        reading.close()


@dataclass
class Restored:
    manifest: Manifest
    recordings: int


async def restore(directory: Path, database_url: str, recordings_dir: Path, *,
                  force: bool = False) -> Restored:
    """Restore the backup in `directory` into an empty database and recordings folder.
    `force`: replace what a non-empty database holds and overwrite recording files."""
    manifest = Manifest.read(directory)
    kind = database_kind(database_url)
    if manifest.database["kind"] != kind:
        raise BackupError(f"the backup is of a {manifest.database['kind']} database; "
                          f"DATABASE_URL is {kind}")
    await asyncio.to_thread(verify, directory, manifest)
    known_revision(manifest.alembic_revision)

    tables = await postgresql_tables(database_url) if kind == "postgresql" \
        else sqlite_tables(sqlite_path(database_url))
    if tables and not force:
        raise BackupError(f"the database is not empty ({len(tables)} tables, e.g. "
                          f"{', '.join(tables[:3])}): restore into a new, empty database, or "
                          "add --force to replace its contents")
    target_dir = data_directory(recordings_dir)
    present = sorted(p.name for p in target_dir.glob(f"*{SUFFIX}"))
    if present and not force:
        raise BackupError(f"the recordings folder {target_dir} already holds {len(present)} "
                          "recordings: use an empty folder, or add --force")

    if kind == "postgresql":
        uri, env = libpq(database_url)
        options = ["--clean", "--if-exists"] if tables else []
        await _run("pg_restore", "--single-transaction", "--exit-on-error", "--no-owner",
                   "--no-privileges", *options, f"--dbname={uri}",
                   str(directory / PG_DUMP_FILE), env=env)
    else:
        await asyncio.to_thread(_restore_sqlite, directory / SQLITE_FILE,
                                sqlite_path(database_url))

    for recording_id in manifest.recordings:
        name = f"{recording_id}{SUFFIX}"
        copied = await asyncio.to_thread(_copy_checked, directory / RECORDINGS / name,
                                         target_dir / name)
        if copied["sha256"] != manifest.files[f"{RECORDINGS}/{name}"]["sha256"]:
            raise BackupError(f"{name} changed while it was restored")
        os.chmod(target_dir / name, 0o600)
    return Restored(manifest, len(manifest.recordings))
