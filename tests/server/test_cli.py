"""The `forum demo`, `forum invite` and `forum gatherings` commands, and the demo data."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from yarl import URL

from rooms.db import create_engine, sessionmaker
from rooms.forum_models import Announcement, FollowUp, HelpAnswer, HelpRequest
from rooms.migrate import upgrade
from rooms.models import (
    Gathering,
    Membership,
    Municipality,
    Person,
    Project,
    ProjectStage,
    Theme,
)
from rooms.search import search
from server.app import create_app
from server.cli.demo import load_demo
from server.cli.main import main
from server.settings import Settings
from tests.server.browsing import Browser

ROOT = Path(__file__).resolve().parents[2]
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


async def test_a_new_forum_gets_the_programmes_themes_and_stages_once(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    first = await forum(capsys, "programme")  # also migrates a fresh database
    second = await forum(capsys, "programme")
    engine = create_engine(cli_env)
    try:
        async with sessionmaker(engine)() as session:
            themes = set(await session.scalars(select(Theme.slug)))
            stages = list(await session.scalars(
                select(ProjectStage.slug).order_by(ProjectStage.position)))
    finally:
        await engine.dispose()
    assert themes == {"mat", "sirkular", "areal"}
    assert stages == ["oppstart", "gjennomforing", "videreforing"]
    assert "added theme mat (Mat og matsvinn)" in first and "added stage oppstart" in first
    assert "are all there" in second and "added" not in second


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


async def test_invite_links_use_public_url_else_the_servers_host_and_port(
        cli_env: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    await forum(capsys, "demo")
    invite = ("invite", "--theme", "mat", "--role", "participant", "--email", "a@example.org")
    monkeypatch.setenv("PORT", "9123")  # the environment `forum serve` runs with
    await asyncio.to_thread(main, list(invite))
    printed = capsys.readouterr()
    assert re.fullmatch(r"http://127\.0\.0\.1:9123/signin/[\w-]{40,}\n", printed.out)
    assert "PUBLIC_URL is not set: links are for a server at http://127.0.0.1:9123" in printed.err
    # a server started with --host and --port: the same options here
    output = await forum(capsys, *invite, "--host", "forum.lan", "--port", "9200")
    assert output.startswith("http://forum.lan:9200/signin/")
    monkeypatch.setenv("PUBLIC_URL", "https://forum.example.org")
    await asyncio.to_thread(main, [*invite, "--port", "9200"])
    printed = capsys.readouterr()
    assert printed.out.startswith("https://forum.example.org/signin/")
    assert "PUBLIC_URL" not in printed.err
    with pytest.raises(SystemExit):
        await forum(capsys, "invite", "--help")
    assert "Sign-in links use PUBLIC_URL. Without it they use http://HOST:PORT" in " ".join(
        capsys.readouterr().out.split())


async def municipality_of(url: str, email: str) -> tuple[str, str | None]:
    engine = create_engine(url)
    try:
        async with sessionmaker(engine)() as session:
            person = await session.scalar(select(Person).where(Person.email == email))
            assert person is not None
            return person.name, person.municipality.name if person.municipality else None
    finally:
        await engine.dispose()


async def test_invite_sets_the_name_and_municipality_also_of_someone_already_there(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    await forum(capsys, "demo")
    invite = ("invite", "--theme", "mat", "--role", "participant", "--email", "ola@example.org")
    await forum(capsys, *invite)
    assert await municipality_of(cli_env, "ola@example.org") == ("ola", None)
    await forum(capsys, *invite, "--name", "Ola Nordmann", "--municipality", "  solåsen  KOMMUNE")
    assert await municipality_of(cli_env, "ola@example.org") == (
        "Ola Nordmann", "Solåsen kommune")
    await forum(capsys, *invite, "--municipality", "Vestkyst fylkeskommune")
    assert await municipality_of(cli_env, "ola@example.org") == (
        "Ola Nordmann", "Vestkyst fylkeskommune")

    # a typo is refused, with the names that come close; nothing changes
    with pytest.raises(SystemExit, match="no municipality 'Solosen'; did you mean "
                                         "'Solåsen kommune'"):
        await forum(capsys, *invite, "--municipality", "Solosen")
    # a municipality the forum does not have yet, created when the operator says so
    with pytest.raises(SystemExit, match="--new-municipality creates it"):
        await forum(capsys, *invite, "--municipality", "Nyby kommune")
    engine = create_engine(cli_env)
    try:
        before = (await counts(sessionmaker(engine)))["Municipality"]
        await forum(capsys, *invite, "--municipality", "Nyby  kommune", "--new-municipality")
        await forum(capsys, *invite, "--municipality", "nyby", "--new-municipality")
        assert (await counts(sessionmaker(engine)))["Municipality"] == before + 1
    finally:
        await engine.dispose()
    assert await municipality_of(cli_env, "ola@example.org") == ("Ola Nordmann", "Nyby kommune")


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


def test_the_package_declares_every_folder_and_file_it_needs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`pip install` packs what setup.cfg declares. Setuptools warns about a folder with
    files that is no listed package (templates, catalogues, migration versions), and leaves
    out a data file that no package_data pattern names: the installed server would miss it."""
    from setuptools.config.setupcfg import read_configuration

    monkeypatch.chdir(ROOT)
    options = read_configuration("setup.cfg")["options"]
    packages, patterns = set(options["packages"]), options["package_data"]
    for top in ("facilitation", "rooms", "signaling", "recordings", "server"):
        for path in (ROOT / top).rglob("*"):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix in {".pyc", ".mo"}:
                continue
            package = ".".join(path.parent.relative_to(ROOT).parts)
            assert package in packages, f"{path.parent} is not a package in setup.cfg"
            data = [*patterns.get("", []), *patterns.get(package, [])]  # "" is "*" there
            assert path.suffix == ".py" or any(fnmatch(path.name, p) for p in data), path
    assert {"server.templates.room", "server.locale.nb.LC_MESSAGES",
            "rooms.migrations.versions"} <= packages


async def test_the_demo_forum_has_news_a_help_request_and_follow_ups(
        sessions: async_sessionmaker) -> None:
    """Loaded in a year whose gatherings are all held: the theme's forum has something in
    each of its places, and the archive finds it."""
    assert await load_demo(sessions, year=2025)
    async with sessions() as session:
        announcement = await session.scalar(select(Announcement))
        requests = list(await session.scalars(select(HelpRequest)))
        answers = list(await session.scalars(select(HelpAnswer)))
        follow_ups = list(await session.scalars(select(FollowUp)))
        lead = await session.scalar(select(Person).where(Person.is_programme_lead))
    assert announcement is not None and len(requests) == 1 and len(answers) == 1
    assert len(follow_ups) == 2
    assert lead is not None
    [hit] = await search(sessions, lead, "kjøkkenvekt regneark")
    assert hit.kind == "answer"
