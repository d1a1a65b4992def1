"""The `forum demo`, `forum invite` and `forum gatherings` commands, and the demo data."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from yarl import URL

from rooms.db import create_engine, sessionmaker
from rooms.migrate import upgrade
from rooms.models import Gathering, Membership, Municipality, Person, Project, Theme
from server.app import create_app
from server.cli.demo import load_demo
from server.cli.main import main
from server.settings import Settings
from tests.server.browsing import Browser

LINK = re.compile(r"http://127\.0\.0\.1:8080/signin/[A-Za-z0-9_-]{40,}")
AGENDA_KINDS = {"welcome", "expert_talk", "qa", "breakout", "plenary", "break", "wrap_up"}


async def forum(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the `forum` command as the shell would (it runs its own event loop)."""
    capsys.readouterr()
    await asyncio.to_thread(main, list(argv))
    return capsys.readouterr().out


async def counts(sessions: async_sessionmaker) -> dict[str, int]:
    async with sessions() as session:
        return {model.__name__: int(await session.scalar(select(func.count()).select_from(model))
                                    or 0)
                for model in (Theme, Gathering, Person, Membership, Municipality, Project)}


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> str:
    for name in ("PUBLIC_URL", "HOST", "PORT", "SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    return sqlite_url


async def test_forum_demo_twice_loads_once_and_always_prints_links(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    first = await forum(capsys, "demo")  # also migrates a fresh database
    engine = create_engine(cli_env)
    try:
        before = await counts(sessionmaker(engine))
        second = await forum(capsys, "demo")
        after = await counts(sessionmaker(engine))
    finally:
        await engine.dispose()
    assert before == after
    assert before["Theme"] == 3 and before["Gathering"] == 12
    for output in (first, second):
        links = LINK.findall(output)
        assert len(links) == 4 and len(set(links)) == 4
        assert "temaleder.mat@example.org" in output and "prosjektleder@example.org" in output
    assert set(LINK.findall(first)).isdisjoint(LINK.findall(second)), "links are fresh"


async def test_demo_data_looks_real(sessions: async_sessionmaker) -> None:
    assert await load_demo(sessions, year=2030)
    async with sessions() as session:
        themes = {t.slug: t for t in await session.scalars(select(Theme))}
        gatherings = list(await session.scalars(select(Gathering)))
        people = list(await session.scalars(select(Person)))
        projects = list(await session.scalars(select(Project)))
        memberships = list(await session.scalars(select(Membership)))
        municipalities = list(await session.scalars(select(Municipality)))
    assert set(themes) == {"mat", "sirkular", "areal"}
    assert sorted(g.number for g in gatherings) == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert {g.year for g in gatherings} == {2030}
    for gathering in gatherings:
        assert {i.kind for i in gathering.items} == AGENDA_KINDS
        assert sum(i.planned_minutes for i in gathering.items) == gathering.planned_minutes
    assert len(municipalities) >= 12 and any(m.county for m in municipalities)
    for theme in themes.values():
        assert {p.stage for p in projects if p.theme_id == theme.id} == {
            "oppstart", "gjennomforing", "videreforing"}
        roles = Counter(m.role for m in memberships if m.theme_id == theme.id)
        assert roles["facilitator"] == 1 and roles["participant"] >= 3 and roles["expert"] >= 1
    assert all(p.email.endswith("@example.org") for p in people)
    assert sum(p.is_programme_lead for p in people) == 1
    assert len({m.person_id for m in memberships if m.role == "expert"}) == 2
    assert not await load_demo(sessions), "a forum with themes is left alone"


async def test_forum_invite_creates_a_person_with_a_working_link(
        cli_env: str, capsys: pytest.CaptureFixture[str], settings: Settings) -> None:
    await forum(capsys, "demo")
    output = await forum(capsys, "invite", "--theme", "areal", "--role", "participant",
                         "--email", "Ny.Deltaker@Example.org", "--name", "Nora Ny")
    links = LINK.findall(output)
    assert len(links) == 1
    engine = create_engine(cli_env)
    try:
        async with sessionmaker(engine)() as session:
            nora = await session.scalar(
                select(Person).where(Person.email == "ny.deltaker@example.org"))
            assert nora is not None and nora.name == "Nora Ny"
            role = await session.scalar(select(Membership.role).where(
                Membership.person_id == nora.id))
        assert role == "participant"
    finally:
        await engine.dispose()

    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        async with Browser(server) as nora_browser:
            token = URL(links[0]).path.rsplit("/", 1)[1]
            assert (await nora_browser.sign_in(token)).status == 303
            status, page, _ = await nora_browser.get("/gatherings")
            assert status == 200 and "Nora Ny" in page and "Arealplanlegging" in page
            assert "Mat og matsvinn" not in page
        async with Browser(server) as again:  # single-use unless --reusable
            status, _, _ = await again.submit(f"/signin/{token}", f"/signin/{token}")
            assert status == 410
    finally:
        await server.close()


async def test_forum_invite_programme_lead_and_unknown_theme(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    await forum(capsys, "demo")
    await forum(capsys, "invite", "--theme", "mat", "--role", "programme_lead",
                "--email", "ny.leder@example.org", "--reusable")
    engine = create_engine(cli_env)
    try:
        async with sessionmaker(engine)() as session:
            lead = await session.scalar(
                select(Person).where(Person.email == "ny.leder@example.org"))
        assert lead is not None and lead.is_programme_lead
    finally:
        await engine.dispose()
    with pytest.raises(SystemExit, match="no theme 'skog'"):
        await forum(capsys, "invite", "--theme", "skog", "--role", "participant",
                    "--email", "x@example.org")


async def test_forum_gatherings_lists_ids_as_json_and_table(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = create_engine(cli_env)
    await upgrade(engine)
    await engine.dispose()
    assert json.loads(await forum(capsys, "gatherings", "--json")) == []
    await forum(capsys, "demo")
    listed = json.loads(await forum(capsys, "gatherings", "--json"))
    engine = create_engine(cli_env)
    try:
        async with sessionmaker(engine)() as session:
            ids = set(await session.scalars(select(Gathering.id)))
    finally:
        await engine.dispose()
    assert {g["id"] for g in listed} == ids and len(ids) == 12
    assert set(listed[0]) == {"id", "theme", "year", "number", "title", "starts_at"}
    mat = json.loads(await forum(capsys, "gatherings", "--theme", "mat", "--json"))
    assert [(g["theme"], g["number"]) for g in mat] == [("mat", n) for n in (1, 2, 3, 4)]
    table = await forum(capsys, "gatherings", "--theme", "mat")
    assert all(g["id"] in table for g in mat)
