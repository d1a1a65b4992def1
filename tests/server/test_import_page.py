"""The grant list's upload page (programme lead only): dry run, then import, then result;
and `forum import` from the shell."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import create_invitation
from rooms.grant_store import save_mapping
from rooms.models import Membership, Municipality, Person, Project, Theme
from server.cli.main import main
from tests.factories import World
from tests.server.browsing import Browser, csrf_of

DATA = Path(__file__).resolve().parents[1] / "data"
CONFIRM = re.compile(r'action="(/import/[A-Za-z0-9_-]{22})"')


@pytest.fixture
async def circular(world: World, sessions: async_sessionmaker) -> None:
    """The example lists name all three pilot themes; the test world has two."""
    async with sessions() as s:
        s.add(Theme(slug="sirkular", name="Sirkulærøkonomi"))
        await s.commit()


async def browser_of(server: TestServer, sessions: async_sessionmaker, person: Person) -> Browser:
    browser = Browser(server)
    await browser.sign_in(await create_invitation(sessions, person.id, days=1))
    return browser


async def upload(browser: Browser, name: str, data: bytes | None = None,
                 mapping: str = "") -> tuple[int, str]:
    _, page, _ = await browser.get("/import")
    form = aiohttp.FormData()
    form.add_field("csrf_token", csrf_of(page))
    form.add_field("mapping", mapping)
    form.add_field("file", data if data is not None else (DATA / name).read_bytes(),
                   filename=name, content_type="application/octet-stream")
    async with browser.http.post(browser.url("/import"), data=form) as response:
        return response.status, await response.text()


async def projects(sessions: async_sessionmaker) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Project)) or 0)


async def test_the_lead_uploads_sees_the_dry_run_and_imports(
        world: World, circular: None, server: TestServer,
        sessions: async_sessionmaker) -> None:
    async with await browser_of(server, sessions, world.lead) as lead:
        status, html, _ = await lead.get("/gatherings")
        assert 'href="/import"' in html
        status, html, _ = await lead.get("/import")
        assert status == 200 and 'enctype="multipart/form-data"' in html
        status, html = await upload(lead, "tilskudd_2026.xlsx")
        assert status == 200, html
        assert "10 prosjekter opprettes" in html
        assert "Matsvinnfrie sykehjem – forprosjekt" in html
        assert await projects(sessions) == 0  # only a dry run
        action = CONFIRM.search(html)
        assert action is not None
        status, done, _ = await lead.post(action.group(1), {
            "csrf_token": csrf_of(html), "mapping": ""})
        assert status == 200, done
        assert "10 prosjekter opprettet" in done
        assert await projects(sessions) == 10
        # the upload is gone: confirming twice imports nothing twice
        status, again, _ = await lead.post(action.group(1), {"csrf_token": csrf_of(html)})
        assert status == 400 and 'role="alert"' in again
        # the same list again: everything unchanged, and nothing to confirm
        status, html = await upload(lead, "tilskudd_2026.csv")
        assert "10 rader uendret" in html
        assert CONFIRM.search(html) is None
    assert await projects(sessions) == 10


async def test_broken_rows_are_listed_with_line_and_why(
        world: World, circular: None, server: TestServer,
        sessions: async_sessionmaker) -> None:
    async with await browser_of(server, sessions, world.lead) as lead:
        status, html = await upload(lead, "tilskudd_feil.csv")
        assert status == 200
        assert "12 rader med feil, importeres ikke" in html
        broken = html[html.index('id="broken-rows"'):]
        for line, why in [(4, "kommune mangler"), (8, "ingen tema passer til kategorien "
                                                       "«Transport»"),
                          (9, "«tjuetjueseks» er ikke et tilskuddsår"),
                          (11, "«femti tusen» er ikke et beløp i kroner"),
                          (12, "«erik.dahl(at)example.org» er ikke en e-postadresse"),
                          (15, "samme prosjekt som på linje 2")]:
            assert re.search(rf"<th scope=\"row\">{line}</th>.*?{re.escape(why)}", broken,
                             re.DOTALL), (line, why)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "Filen er tom."),
    (b"Navn;Adresse\nOla;Gata 1\n", "Ingen overskriftsrad"),
    (b"PK\x03\x04 nope", "kunne ikke leses"),
    (b"x" * (5 * 1024 * 1024 + 1), "større enn 5 MB"),
])
async def test_files_that_cannot_be_read_say_why(
        data: bytes, message: str, world: World, server: TestServer,
        sessions: async_sessionmaker) -> None:
    async with await browser_of(server, sessions, world.lead) as lead:
        status, html = await upload(lead, "liste.csv", data)
        assert status == 400
        assert 'role="alert"' in html and message in html


async def test_a_file_far_too_large_is_refused_before_it_is_read(
        world: World, server: TestServer, sessions: async_sessionmaker) -> None:
    async with await browser_of(server, sessions, world.lead) as lead:
        status, html = await upload(lead, "stor.csv", b"x" * (6 * 1024 * 1024))
        assert status == 413 and "større enn 5 MB" in html


async def test_a_saved_mapping_is_offered_and_used(
        world: World, server: TestServer, sessions: async_sessionmaker) -> None:
    await save_mapping(sessions, "Miljødirektoratet 2026", {
        "municipality": "Søker", "theme": "Innsatsområde", "grant_year": "Vedtaksår"})
    data = "Søker;Tiltak;Innsatsområde;Vedtaksår\nAskvik;Skolemat;Mat;2026\n".encode()
    async with await browser_of(server, sessions, world.lead) as lead:
        _, html, _ = await lead.get("/import")
        assert "Lagret oppsett: Miljødirektoratet 2026" in html
        status, html = await upload(lead, "liste.csv", data)
        assert status == 400 and "Ingen overskriftsrad" in html
        status, html = await upload(lead, "liste.csv", data, mapping="Miljødirektoratet 2026")
        assert status == 200 and "1 prosjekt opprettes" in html
        status, html = await upload(lead, "liste.csv", data, mapping="finnes ikke")
        assert status == 400


@pytest.mark.parametrize("who", ["facilitator", "alice"])
async def test_only_the_programme_lead_imports(
        who: str, world: World, server: TestServer, sessions: async_sessionmaker) -> None:
    async with await browser_of(server, sessions, getattr(world, who)) as person:
        status, html, _ = await person.get("/gatherings")
        assert 'href="/import"' not in html
        status, _, _ = await person.get("/import")
        assert status == 403
        form = aiohttp.FormData({"csrf_token": csrf_of(html)})
        form.add_field("file", (DATA / "tilskudd_2026.csv").read_bytes(), filename="x.csv")
        async with person.http.post(person.url("/import"), data=form) as response:
            assert response.status == 403
    assert await projects(sessions) == 0
    anonymous = Browser(server)
    async with anonymous:
        status, _, response = await anonymous.get("/import", allow_redirects=False)
        assert status == 303


async def test_an_upload_is_only_for_who_uploaded_it(
        world: World, circular: None, server: TestServer,
        sessions: async_sessionmaker) -> None:
    async with sessions() as s:
        other = Person(email="lead2@example.org", name="Lise Leder", is_programme_lead=True)
        s.add(other)
        await s.commit()
    async with await browser_of(server, sessions, world.lead) as lead:
        _, html = await upload(lead, "tilskudd_2026.csv")
        action = CONFIRM.search(html)
        assert action is not None
    async with await browser_of(server, sessions, other) as second:
        _, page, _ = await second.get("/import")
        status, _, _ = await second.post(action.group(1), {"csrf_token": csrf_of(page)})
        assert status == 400
    assert await projects(sessions) == 0


# --- forum import -----------------------------------------------------------------------

async def forum(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    await asyncio.to_thread(main, list(argv))
    return capsys.readouterr().out


async def test_forum_import_dry_run_then_apply_then_nothing_to_do(
        world: World, circular: None, sqlite_url: str, sessions: async_sessionmaker,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    out = await forum(capsys, "import", str(DATA / "tilskudd_feil.csv"))
    assert "2 to create, 0 to update, 0 unchanged, 12 broken" in out
    assert "line 8: broken: no theme matches the category “Transport”" in out
    assert "line 15: broken: the same project as on line 2" in out
    assert "dry run: nothing changed" in out
    assert await projects(sessions) == 0
    out = await forum(capsys, "import", str(DATA / "tilskudd_2026.csv"), "--apply")
    assert "10 created, 0 updated, 0 unchanged, 0 broken" in out
    out = await forum(capsys, "import", str(DATA / "tilskudd_2026.xlsx"), "--apply")
    assert "0 created, 0 updated, 10 unchanged, 0 broken" in out
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Membership).where(
            Membership.role == "participant")) == 3 + 10  # the world's and the contacts'
        county = await s.scalar(select(Municipality).where(
            Municipality.name == "Innlandsdal fylkeskommune"))
        assert county is not None and county.county


async def test_forum_import_mappings_and_errors(
        world: World, sqlite_url: str, sessions: async_sessionmaker, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    sheet = tmp_path / "liste.csv"
    sheet.write_text("Organisasjon,Tiltak,Innsatsområde,Vedtaksår\nAskvik,Skolemat,Mat,2026\n",
                     encoding="cp1252")
    with pytest.raises(SystemExit, match="No header row names these columns: municipality, "
                                         "theme or measure category, grant year"):
        await forum(capsys, "import", str(sheet))
    out = await forum(capsys, "import", str(sheet), "--column", "municipality=Organisasjon",
                      "--column", "theme=Innsatsområde", "--column", "grant_year=Vedtaksår",
                      "--save-mapping", "direktoratet")
    assert "1 to create" in out
    out = await forum(capsys, "import", str(sheet), "--mapping", "direktoratet", "--apply")
    assert "1 created" in out
    with pytest.raises(SystemExit, match="no saved mapping 'ukjent'; saved: direktoratet"):
        await forum(capsys, "import", str(sheet), "--mapping", "ukjent")
    with pytest.raises(SystemExit, match="FIELD=HEADER"):
        await forum(capsys, "import", str(sheet), "--column", "kommune=Søker")
    with pytest.raises(SystemExit, match="No such file"):
        await forum(capsys, "import", str(tmp_path / "mangler.xlsx"))
