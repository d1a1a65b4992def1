"""`forum backup` / `forum restore`: a backup made while the forum writes, restored into an
empty database and recordings folder, holds every gathering, agenda item, note and
recording (row and file), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from recordings.backup import MANIFEST, BackupError, Manifest, backup, restore
from rooms.db import create_engine, sessionmaker
from rooms.migrate import upgrade
from rooms.models import (
    AgendaItem,
    Base,
    Gathering,
    GatheringEvent,
    NoteUpdate,
    Recording,
)
from server.cli.main import main
from tests.conftest import PG_ADMIN_URL, WAIT, missing, service_missing
from tests.factories import World, build_world

READY_BYTES = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40


@pytest.fixture(params=["sqlite", "postgresql"])
async def databases(request: pytest.FixtureRequest,
                    tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """(the forum's database, a new empty one of the same kind to restore into)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'forum.db'}", f"sqlite:///{tmp_path / 'new' / 'forum.db'}"
        return
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        missing("pg_dump and pg_restore (postgresql-client)")
    names = [f"forum_backup_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    try:
        admin = await asyncpg.connect(PG_ADMIN_URL, timeout=WAIT)
    except (OSError, asyncpg.PostgresError) as error:
        service_missing("PostgreSQL", error)
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def forum(databases: tuple[str, str]) -> AsyncIterator[async_sessionmaker]:
    engine = create_engine(databases[0])
    await upgrade(engine)
    yield sessionmaker(engine)
    await engine.dispose()


def recording(gathering_id: str, status: str) -> Recording:
    now = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    return Recording(id=uuid.uuid4().hex, gathering_id=gathering_id, item_id=None,
                     person_id=None, person_name="Eva Ekspert", consent_at=now,
                     started_by=None, started_at=now, ended_at=now if status != "recording"
                     else None, seconds=12.5, size_bytes=len(READY_BYTES), streams="audio",
                     status=status)


async def fill(sessions: async_sessionmaker, recordings_dir: Path) -> dict[str, str]:
    """Notes in both gatherings and recordings in every state; {state: recording id}."""
    world: World = await build_world(sessions)
    await asyncio.to_thread(recordings_dir.mkdir, parents=True, exist_ok=True)
    made = {}
    async with sessions() as session:
        for gathering in (world.gathering, world.other_gathering):
            session.add_all(NoteUpdate(gathering_id=gathering.id, note_id="plenary", seq=seq,
                                       kind="seed" if seq == 1 else "update",
                                       data=bytes([seq, 0, 255]) * seq, at=1.5 + seq,
                                       person_id=world.alice.id) for seq in (1, 2, 3))
        for state in ("ready", "recording", "failed", "missing"):
            row = recording(world.gathering.id, "ready" if state == "missing" else state)
            session.add(row)
            made[state] = row.id
        await session.commit()
    (recordings_dir / f"{made['ready']}.mp4").write_bytes(READY_BYTES)
    (recordings_dir / f"{made['recording']}.mp4").write_bytes(b"half written")
    made["stray"] = uuid.uuid4().hex  # a file whose row came after the snapshot
    (recordings_dir / f"{made['stray']}.mp4").write_bytes(b"no row")
    return made


async def everything(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the forum has, in a stable order."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = {}
            for table in Base.metadata.sorted_tables:
                result = await connection.execute(select(table).order_by(*table.primary_key))
                rows[table.name] = [tuple(row) for row in result]
            revision = await connection.execute(text("SELECT version_num FROM alembic_version"))
            rows["alembic_version"] = [tuple(row) for row in revision]
    finally:
        await engine.dispose()
    return rows


async def test_a_restore_into_an_empty_database_finds_everything(
        databases: tuple[str, str], forum: async_sessionmaker, tmp_path: Path) -> None:
    source_url, target_url = databases
    live_dir, restored_dir = tmp_path / "recordings", tmp_path / "restored-recordings"
    made = await fill(forum, live_dir)
    (live_dir / f"{made['missing']}.mp4").unlink(missing_ok=True)

    manifest = await backup(source_url, live_dir, tmp_path / "backup")
    assert manifest.recordings == [made["ready"]]
    assert manifest.missing_recordings == [made["missing"]]
    assert sorted(manifest.skipped_recordings) == sorted([made["recording"], made["failed"]])
    assert manifest.alembic_revision
    written = json.loads((tmp_path / "backup" / MANIFEST).read_text())
    assert written["versions"]["forum"] and written["database"]["kind"] in source_url
    assert set(written["files"]) == {manifest.database["file"],
                                     f"recordings/{made['ready']}.mp4"}

    restored = await restore(tmp_path / "backup", target_url, restored_dir)
    assert restored.recordings == 1

    before, after = await everything(source_url), await everything(target_url)
    assert after == before
    for table, model in (("gatherings", Gathering), ("agenda_items", AgendaItem),
                         ("note_updates", NoteUpdate), ("recordings", Recording)):
        assert after[table], f"no {model.__name__} to compare"
    assert len(after["note_updates"]) == 6 and len(after["recordings"]) == 4
    assert [p.name for p in restored_dir.iterdir()] == [f"{made['ready']}.mp4"]
    assert (restored_dir / f"{made['ready']}.mp4").read_bytes() == READY_BYTES

    # the restored forum reads its gatherings, agenda and notes through its own models
    engine = create_engine(target_url)
    try:
        async with sessionmaker(engine)() as session:
            gatherings = list(await session.scalars(select(Gathering)))
            assert sorted(len(g.items) for g in gatherings) == [4, 4]
            ready = await session.get(Recording, made["ready"])
            assert ready is not None and ready.status == "ready"
        await upgrade(engine)  # `forum db upgrade` after a restore is a no-op at head
    finally:
        await engine.dispose()


async def test_restore_refuses_a_database_or_folder_that_is_not_empty_unless_forced(
        databases: tuple[str, str], forum: async_sessionmaker, tmp_path: Path) -> None:
    source_url, target_url = databases
    live_dir = tmp_path / "recordings"
    made = await fill(forum, live_dir)
    await backup(source_url, live_dir, tmp_path / "backup")

    with pytest.raises(BackupError, match="not empty"):
        await restore(tmp_path / "backup", source_url, tmp_path / "other")
    with pytest.raises(BackupError, match="already holds"):
        await restore(tmp_path / "backup", target_url, live_dir)
    with pytest.raises(BackupError, match="not empty"):
        await backup(source_url, live_dir, tmp_path / "backup")

    # forced over the live database: the same rows again, nothing doubled
    async with forum() as session:
        await session.execute(text("DELETE FROM note_updates"))
        await session.commit()
    await restore(tmp_path / "backup", source_url, live_dir, force=True)
    after = await everything(source_url)
    assert len(after["note_updates"]) == 6 and len(after["gatherings"]) == 2
    assert (live_dir / f"{made['ready']}.mp4").read_bytes() == READY_BYTES


async def test_a_damaged_or_newer_backup_is_refused_before_anything_is_written(
        databases: tuple[str, str], forum: async_sessionmaker, tmp_path: Path) -> None:
    source_url, target_url = databases
    made = await fill(forum, tmp_path / "recordings")
    manifest = await backup(source_url, tmp_path / "recordings", tmp_path / "backup")

    copy = tmp_path / "backup" / "recordings" / f"{made['ready']}.mp4"
    copy.write_bytes(copy.read_bytes()[:-1] + b"!")
    with pytest.raises(BackupError, match="checksum"):
        await restore(tmp_path / "backup", target_url, tmp_path / "restored")
    copy.write_bytes(READY_BYTES)

    newer = {**manifest.as_json(), "alembic_revision": "9999_from_the_future"}
    (tmp_path / "backup" / MANIFEST).write_text(json.dumps(newer))
    with pytest.raises(BackupError, match="unknown to this version"):
        await restore(tmp_path / "backup", target_url, tmp_path / "restored")
    assert (await everything(source_url))["gatherings"]  # the source is untouched
    assert not list((tmp_path / "restored").glob("*.mp4")) \
        if (tmp_path / "restored").exists() else True

    (tmp_path / "backup" / MANIFEST).unlink()
    with pytest.raises(BackupError, match="not a complete backup"):
        Manifest.read(tmp_path / "backup")


async def test_a_backup_while_the_forum_writes_is_one_consistent_moment(
        databases: tuple[str, str], forum: async_sessionmaker, tmp_path: Path) -> None:
    """Events keep arriving during the backup: the restored log is a prefix of the live one,
    with no gap (one snapshot, not table by table)."""
    source_url, target_url = databases
    await fill(forum, tmp_path / "recordings")
    async with forum() as session:
        gathering_id = (await session.scalars(select(Gathering.id))).first()
    writing = True

    async def write_events() -> int:
        seq = 0
        while writing or seq < 5:
            seq += 1
            async with forum() as session:
                session.add(GatheringEvent(gathering_id=gathering_id, seq=seq, type="chat.sent",
                                           data={"n": seq}, at=float(seq)))
                await session.commit()
            await asyncio.sleep(0)
        return seq

    writer = asyncio.create_task(write_events())
    await asyncio.sleep(0.05)
    await backup(source_url, tmp_path / "recordings", tmp_path / "backup")
    writing = False
    written = await writer

    await restore(tmp_path / "backup", target_url, tmp_path / "restored")
    seqs = [row[0] for row in await _event_seqs(target_url)]
    assert seqs and seqs == list(range(1, len(seqs) + 1)) and len(seqs) <= written


async def _event_seqs(url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return [tuple(r) for r in await connection.execute(
                select(GatheringEvent.seq).order_by(GatheringEvent.seq))]
    finally:
        await engine.dispose()


def test_forum_backup_and_restore_commands(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The commands as an operator types them, with DATABASE_URL and RECORDINGS_DIR."""
    live = f"sqlite:///{tmp_path / 'forum.db'}"
    monkeypatch.setenv("DATABASE_URL", live)
    monkeypatch.setenv("RECORDINGS_DIR", str(tmp_path / "recordings"))
    main(["db", "upgrade"])
    engine = create_engine(live)
    try:
        made = asyncio.run(_filled(engine, tmp_path / "recordings"))
    finally:
        asyncio.run(engine.dispose())
    main(["backup", str(tmp_path / "backup")])
    assert "and 1 recordings into" in capsys.readouterr().out

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'restored.db'}")
    monkeypatch.setenv("RECORDINGS_DIR", str(tmp_path / "restored"))
    main(["restore", str(tmp_path / "backup")])
    assert "forum db upgrade" in capsys.readouterr().out
    assert (tmp_path / "restored" / f"{made['ready']}.mp4").read_bytes() == READY_BYTES
    with pytest.raises(SystemExit, match="forum restore: the database is not empty"):
        main(["restore", str(tmp_path / "backup")])


async def _filled(engine: Any, directory: Path) -> dict[str, str]:
    return await fill(sessionmaker(engine), directory)
