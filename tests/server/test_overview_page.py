"""The programme lead's overview over real HTTP: only the lead opens it; its tables, charts
and CSV files; counts per municipality and no names but in one gathering's view."""

from __future__ import annotations

import csv
import io
import re

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import Role
from rooms.models import Person
from server.keys import STORE
from server.pages.overview import Table, csv_text
from tests.factories import World
from tests.rooms.test_overview import hold
from tests.server.browsing import Browser, PageOutline
from tests.server.test_pages import signed_in

NAMES = ("Alice Askvik", "Bjørn Brekke", "Frida Fasilitator", "Eva Ekspert")


async def held(server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    """Frida opens the theme's gathering; Alice and Bjørn come."""
    async with sessions() as s:
        people = [(await s.get(Person, p.id), role) for p, role in [
            (world.facilitator, Role.FACILITATOR), (world.alice, Role.PARTICIPANT),
            (world.bjorn, Role.PARTICIPANT)]]
    await hold(server.app[STORE], world.gathering.id,
               [(p, role) for p, role in people if p is not None])


def paths(world: World) -> list[str]:
    gid = world.gathering.id
    return ["/overview", "/overview/gatherings.csv", "/overview/municipalities.csv",
            "/overview/stages.csv", "/overview/stages-now.csv", f"/overview/g/{gid}",
            f"/overview/g/{gid}.csv"]


@pytest.mark.parametrize(("who", "status"), [
    ("alice", 403), ("facilitator", 403), ("expert", 403), ("outsider", 403), ("lead", 200)])
async def test_only_the_programme_lead_opens_the_overview(
        server: TestServer, sessions: async_sessionmaker, world: World, who: str,
        status: int) -> None:
    async with await signed_in(server, sessions, getattr(world, who)) as browser:
        for path in paths(world):
            got, page, _ = await browser.get(path)
            assert got == status, (path, page)
            if status == 403:
                assert PageOutline(page).all("h1"), "error pages are pages too"


async def test_signed_out_visitors_are_sent_to_the_front_page(server: TestServer,
                                                              world: World) -> None:
    async with Browser(server) as visitor:
        for path in paths(world):
            _, _, response = await visitor.get(path, allow_redirects=False)
            assert (response.status, response.headers["Location"]) == (303, "/")


async def test_unknown_tables_and_gatherings(server: TestServer, sessions: async_sessionmaker,
                                             world: World) -> None:
    async with await signed_in(server, sessions, world.lead) as lead:
        for path in ("/overview/people.csv", "/overview/g/0123456789abcdef.csv",
                     "/overview/g/0123456789abcdef"):
            assert (await lead.get(path))[0] == 404, path
        # a year it does not know, or no year at all: this year's gatherings
        for year in ("1999", "abc", "9" * 5000, "-2026"):
            status, page, _ = await lead.get(f"/overview?year={year}")
            assert status == 200 and "Programoversikt 2026" in page, year


async def test_the_lead_finds_the_overview_from_the_gatherings_page(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    async with await signed_in(server, sessions, world.lead) as lead:
        _, page, _ = await lead.get("/gatherings")
    assert 'href="/overview"' in page
    async with await signed_in(server, sessions, world.facilitator) as frida:
        _, page, _ = await frida.get("/gatherings")
    assert 'href="/overview"' not in page


def cells(html: str, table_id: str) -> list[list[str]]:
    """The table's rows as text, head row first."""
    found = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert found, f"no table {table_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", found.group(0), re.S)
    return [[" ".join(re.sub(r"<[^>]+>", " ", c).split()).replace("– ikke holdt", "–")
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows]


async def test_the_overview_counts_municipalities_and_names_nobody(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    await held(server, sessions, world)
    async with await signed_in(server, sessions, world.lead) as lead:
        status, page, _ = await lead.get("/overview?year=2026")
    assert status == 200, page
    main = page.split('<main id="main"', 1)[1]  # the header names the lead: that is them
    for name in NAMES:
        assert name not in main
    assert cells(page, "table-gatherings")[1:] == [
        ["Arealplanlegging", "Samling 1: Samling 1", "3. des. 2026", "Ikke holdt ennå", "1",
         "–", "–", "0", "Nei", "0"],
        ["Mat og matsvinn", "Samling 1: Samling 1", "3. des. 2026", "Holdt", "2", "2", "3",
         "0", "Nei", "0"]]
    assert cells(page, "table-municipalities") == [
        ["Tema", "Kommune", "Deltakere registrert", "Samling 1"],
        ["Arealplanlegging", "Brekke kommune", "1", "–"],
        ["Mat og matsvinn", "Askvik kommune", "1", "1"],
        ["Mat og matsvinn", "Brekke kommune", "1", "1"]]
    assert cells(page, "table-stages-now")[0] == [
        "Tema", "Oppstart", "Gjennomføring", "Videreføring", "Totalt"]

    outline = PageOutline(page)
    # every chart: a figure with a caption, an SVG image named and described by its own parts
    figures = outline.all("figure")
    svgs = outline.all("svg")
    assert len(figures) == len(svgs) == 3  # attendance, and stages for each of two themes
    ids = {attrs.get("id") for _, attrs in outline.tags}
    for svg in svgs:
        assert svg["role"] == "img"
        assert svg["aria-labelledby"] in ids and svg["aria-describedby"] in ids
    assert len(outline.all("figcaption")) == 3
    assert len(outline.all("caption")) == 4
    assert all(th.get("scope") in ("col", "row") for th in outline.all("th"))
    # drawn here, fetched from nowhere
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<script" not in main


async def test_one_gatherings_view_names_those_present(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    await held(server, sessions, world)
    gid = world.gathering.id
    async with await signed_in(server, sessions, world.lead) as lead:
        _, overview_page, _ = await lead.get("/overview")
        assert f'href="/overview/g/{gid}"' in overview_page
        status, page, _ = await lead.get(f"/overview/g/{gid}")
        assert status == 200, page
        _, text, response = await lead.get(f"/overview/g/{gid}.csv")
    assert cells(page, "table-present") == [
        ["Kommune", "Personer til stede", "Navn"],
        ["Askvik kommune", "1", "Alice Askvik"], ["Brekke kommune", "1", "Bjørn Brekke"],
        ["Uten kommune", "1", "Frida Fasilitator"]]
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="klimasats-forum-mat-2026-1-present.csv"')
    assert list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))[1] == [
        "Askvik kommune", "1", "Alice Askvik"]


async def test_each_table_downloads_as_csv_for_norwegian_excel(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    await held(server, sessions, world)
    async with await signed_in(server, sessions, world.lead) as lead:
        _, page, _ = await lead.get("/overview")
        links = re.findall(r'href="(/overview/[a-z-]+\.csv\?year=2026)" download', page)
        assert len(links) == 4
        files = {}
        for link in links:
            async with lead.http.get(lead.url(link)) as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
                assert response.headers["Content-Disposition"].startswith("attachment;")
                files[link.split("/")[-1].split(".")[0]] = await response.read()
    for name, body in files.items():
        assert body.startswith(b"\xef\xbb\xbf"), name
        text = body.decode("utf-8").removeprefix("\ufeff")
        assert "\r\n" in text and text.splitlines()[0].count(";") >= 2, name
        for person in NAMES:
            assert person not in text
    rows = list(csv.reader(io.StringIO(files["municipalities"].decode("utf-8-sig")),
                           delimiter=";"))
    assert rows == [["Tema", "Kommune", "Deltakere registrert", "Samling 1"],
                    ["Arealplanlegging", "Brekke kommune", "1", ""],
                    ["Mat og matsvinn", "Askvik kommune", "1", "1"],
                    ["Mat og matsvinn", "Brekke kommune", "1", "1"]]
    stages = list(csv.reader(io.StringIO(files["stages"].decode("utf-8-sig")), delimiter=";"))
    assert stages[0] == ["Tema", "Måned", "Oppstart", "Gjennomføring", "Videreføring", "Totalt"]


def test_csv_cells_never_run_as_formulas_and_keep_semicolons() -> None:
    table = Table("t", "T", ["Kommune", "Antall"],
                  [["=HYPERLINK(\"x\")", 1], ["Ås; Vestby", None], ["-Minus", -2]])
    text = csv_text(table)
    assert text == ('\ufeffKommune;Antall\r\n"\'=HYPERLINK(""x"")";1\r\n"Ås; Vestby";\r\n'
                    "'-Minus;-2\r\n")
