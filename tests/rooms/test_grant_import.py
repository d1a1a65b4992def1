"""The grant list importer: its pure rules as tables, and the import against SQLite and
PostgreSQL (the `database_url` fixture runs those twice)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

import rooms.grant_store
from rooms import models
from rooms.grant_import import (
    MAX_ROWS,
    Columns,
    FileProblem,
    GrantRow,
    Known,
    decode,
    find_columns,
    header_key,
    is_county,
    make_plan,
    municipality_key,
    municipality_name,
    parse_amount,
    parse_email,
    parse_rows,
    parse_year,
    plan_rows,
    read_table,
    sniff_delimiter,
)
from rooms.grant_store import NoStages, import_grants, save_mapping, saved_mapping
from tests.conftest import migrated

DATA = Path(__file__).resolve().parents[1] / "data"
THEMES = {"mat": "Mat og matsvinn", "sirkular": "Sirkulærøkonomi", "areal": "Arealplanlegging"}
HEADER = ("Kommune;Fylke;Prosjekttittel;Tiltakskategori;Tilskuddsår;Tilsagn (kr);"
          "Kontaktperson;E-post")


def known() -> Known:
    return Known(themes=dict(THEMES))


def sheet(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


# --- values -----------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "kroner"), [
    ("1 250 000", 1250000), ("1\u00a0250\u00a0000", 1250000), ("1\u202f250\u202f000", 1250000),
    ("1.250.000,00", 1250000), ("1.250.000", 1250000), ("1,250,000.00", 1250000),
    ("1,250,000", 1250000), ("kr 50 000", 50000), ("50 000,-", 50000), ("NOK 50000", 50000),
    ("50000 kr", 50000), ("1250,50", 1251), ("1250.4", 1250), ("", None), (None, None),
    (50000, 50000), (49999.6, 50000),
])
def test_amounts_as_norwegian_offices_write_them(written: Any, kroner: int | None) -> None:
    assert parse_amount(written) == kroner


@pytest.mark.parametrize("written", ["femti tusen", "-5000", -5, "1.2.3,4,5", "12,34,56",
                                     "5000 euro", True, "1.250,000.5"])
def test_what_is_not_an_amount(written: Any) -> None:
    with pytest.raises(ValueError):
        parse_amount(written)


@pytest.mark.parametrize(("written", "year"), [("2026", 2026), (2025, 2025), (2025.0, 2025),
                                               (" 2016 ", 2016)])
def test_grant_years(written: Any, year: int) -> None:
    assert parse_year(written) == year


@pytest.mark.parametrize("written", ["2015", "2012", "26", "tjuetjueseks", "2026/27", "",
                                     2101, 2026.5])
def test_what_is_not_a_grant_year(written: Any) -> None:
    with pytest.raises(ValueError):
        parse_year(written)


@pytest.mark.parametrize(("written", "ok"), [
    ("Ola.Nordmann@Example.org", "ola.nordmann@example.org"),
    ("mailto:kari@kommune.no", "kari@kommune.no"), ("ola(at)example.org", None),
    ("ola@example", None), ("ola @example.org", None), ("a@b@example.org", None),
    ("ola@example.org; kari@example.org", None),
])
def test_email_addresses(written: str, ok: str | None) -> None:
    if ok is None:
        with pytest.raises(ValueError):
            parse_email(written)
    else:
        assert parse_email(written) == ok


@pytest.mark.parametrize(("a", "b"), [
    ("Askvik", "Askvik kommune"), ("askvik  KOMMUNE", "Askvik kommune"),
    (" Askvik ", "ASKVIK"), ("Nord-Fron kommune", "nord-fron"),
])
def test_municipality_names_match_without_case_spacing_or_kommune(a: str, b: str) -> None:
    assert municipality_key(a) == municipality_key(b)


def test_a_county_municipality_keeps_its_word() -> None:
    assert municipality_key("Vestkyst fylkeskommune") != municipality_key("Vestkyst")
    assert is_county("Vestkyst  Fylkeskommune") and not is_county("Vestkyst kommune")
    assert municipality_name("Solåsen") == "Solåsen kommune"
    assert municipality_name("Vestkyst  fylkeskommune") == "Vestkyst fylkeskommune"


# --- reading files ----------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "text"), [
    ("Kommune;Tilskuddsår\nSolåsen;2026".encode(), "Kommune;Tilskuddsår\nSolåsen;2026"),
    ("\ufeffKommune;Tilskuddsår".encode(), "Kommune;Tilskuddsår"),
    ("Kommune;Tilskuddsår;Beløp\nSolåsen;2026;kr 5 000 – forprosjekt".encode("cp1252"),
     "Kommune;Tilskuddsår;Beløp\nSolåsen;2026;kr 5 000 – forprosjekt"),
])
def test_encodings(raw: bytes, text: str) -> None:
    assert decode(raw) == text


@pytest.mark.parametrize(("text", "delimiter"), [
    ("Kommune;Prosjekt;Tema\nA;B;C", ";"), ("Kommune,Prosjekt,Tema\nA,B,C", ","),
    ("Kommune\tProsjekt\tTema", "\t"),
    ('Tilskudd 2026\nKommune;Prosjekt;Beløp\nA;"B, C";"1 250 000,00"', ";"),
])
def test_delimiters_are_sniffed(text: str, delimiter: str) -> None:
    assert sniff_delimiter(text) == delimiter


def test_a_comma_separated_list_with_quoted_amounts() -> None:
    data = ('Municipality,County,Project title,Measure category,Grant year,Amount,'
            'Contact name,E-mail\n'
            'Solåsen,Innlandsdal,"Skolemat, forprosjekt",Food waste,2026,"1,250,000",'
            'Hilde Moen,hilde@example.org\n').encode()
    plan = make_plan(data, known())
    (step,) = plan.rows
    assert (step.row.title, step.row.theme, step.row.amount) == (
        "Skolemat, forprosjekt", "mat", 1250000)


def test_an_xlsx_with_a_title_above_the_header_and_numbers_as_numbers() -> None:
    book = openpyxl.Workbook()
    rows = book.active
    rows.append(["Tilsagn 2026"])
    rows.append([])
    rows.append(["Kommune", "Prosjekt", "Tema", "År", "Beløp"])
    rows.append(["Solåsen", "Skolemat", "mat", 2026, 1250000.0])
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_table(buffer.getvalue())
    assert [line for line, _ in table] == [1, 3, 4]
    plan = make_plan(buffer.getvalue(), known())
    assert plan.columns is not None and plan.columns.header_line == 3
    assert [(r.row.line, r.row.grant_year, r.row.amount) for r in plan.rows] == [
        (4, 2026, 1250000)]


@pytest.mark.parametrize(("data", "kind"), [
    (b"", "empty"), (b"  \n\n", "empty"),
    (b"Navn;Adresse\nOla;Gata 1\n", "missing_columns"),
    (b"PK\x03\x04not really a zip", "unreadable"),
    (b"x" * (5 * 1024 * 1024 + 1), "too_large"),
    (("Kommune;Prosjekt;Tema;År\n" + "A;B;mat;2026\n" * (MAX_ROWS + 20)).encode(),
     "too_many_rows"),
])
def test_files_that_cannot_be_read_at_all(data: bytes, kind: str) -> None:
    with pytest.raises(FileProblem) as caught:
        make_plan(data, known())
    assert caught.value.kind == kind


def test_the_missing_columns_are_named() -> None:
    with pytest.raises(FileProblem) as caught:
        make_plan(b"Kommune;Prosjekt\nA;B\n", known())
    assert caught.value.detail == "theme, grant_year"


# --- columns ----------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "field"), [
    ("Kommune", "municipality"), ("Kommunenavn", "municipality"), ("Municipality", "municipality"),
    ("Fylke", "county"), ("County", "county"), ("Prosjekttittel", "title"),
    ("Prosjekt", "title"), ("Project title", "title"), ("Tiltakskategori", "theme"),
    ("Tema", "theme"), ("Measure category", "theme"), ("Tilskuddsår", "grant_year"),
    ("År", "grant_year"), ("Grant year", "grant_year"), ("Beløp (kr)", "amount"),
    ("Tilsagn", "amount"), ("Amount", "amount"), ("Kontaktperson", "contact_name"),
    ("Contact name", "contact_name"), ("E-post", "contact_email"), ("E-mail", "contact_email"),
    ("Epost:", "contact_email"),
])
def test_header_words_in_norwegian_and_english(header: str, field: str) -> None:
    others = ["Kommune", "Prosjekt", "Tema", "År"]
    cells = [header, *[o for o in others if header_key(o) != header_key(header)]]
    columns = find_columns([(1, cells)] if field in {"municipality", "title", "theme",
                                                     "grant_year"}
                           else [(1, [*others, header])])
    assert field in columns.index
    assert columns.headers[field] == header


def test_a_saved_mapping_overrides_the_known_words() -> None:
    rows: list[tuple[int, list[Any]]] = [
        (1, ["Kommune", "Søkers navn", "Tiltak", "Innsatsområde", "Vedtaksår", "År"])]
    with pytest.raises(FileProblem):
        find_columns(rows)
    columns = find_columns(rows, {"municipality": "Søkers navn", "theme": "Innsatsområde",
                                  "grant_year": "vedtaksår", "bogus": "Kommune"})
    assert columns.index == {"municipality": 1, "theme": 3, "grant_year": 4, "title": 2}


# --- rows -------------------------------------------------------------------------------

GOOD = "Solåsen;Innlandsdal;Skolemat;Mat;2026;1 250 000;Hilde Moen;hilde@example.org"


@pytest.mark.parametrize(("row", "problems"), [
    (";X;Skolemat;Mat;2026;;;", [("missing", "municipality", "")]),
    ("Solåsen;X;;Mat;2026;;;", [("missing", "title", "")]),
    ("Solåsen;X;Skolemat;;2026;;;", [("missing", "theme", "")]),
    ("Solåsen;X;Skolemat;Mat;;;;", [("missing", "grant_year", "")]),
    ("Solåsen;X;Skolemat;Transport;2026;;;", [("unknown_theme", "theme", "Transport")]),
    ("Solåsen;X;Skolemat;Mat;2015;;;", [("bad_year", "grant_year", "2015")]),
    ("Solåsen;X;Skolemat;Mat;i fjor;;;", [("bad_year", "grant_year", "i fjor")]),
    ("Solåsen;X;Skolemat;Mat;2026;mye;;", [("bad_amount", "amount", "mye")]),
    ("Solåsen;X;Skolemat;Mat;2026;;Hilde;hilde.example.org",
     [("bad_email", "contact_email", "hilde.example.org")]),
    ("Solåsen;X;Skolemat;Mat;2026;;Hilde;", [("missing", "contact_email", "")]),
    ("Solåsen;X;" + "x" * 301 + ";Mat;2026;;;", [("too_long", "title", "300")]),
    (";X;;Transport;1999;mye;;", [("missing", "municipality", ""), ("missing", "title", ""),
                                  ("unknown_theme", "theme", "Transport"),
                                  ("bad_year", "grant_year", "1999"),
                                  ("bad_amount", "amount", "mye")]),
])
def test_every_kind_of_broken_row(row: str, problems: list[tuple[str, str, str]]) -> None:
    plan = make_plan(sheet(GOOD, row), known())
    assert [r.row.line for r in plan.rows] == [2]
    (broken,) = plan.broken
    assert broken.line == 3
    assert [(p.kind, p.field, p.value) for p in broken.problems] == problems


def test_a_project_twice_in_the_file_is_a_duplicate_row() -> None:
    again = "SOLÅSEN KOMMUNE;Innlandsdal;Skolemat ;mat og matsvinn;2025;;;"
    other_theme = "Solåsen;Innlandsdal;Skolemat;Areal;2026;;;"
    plan = make_plan(sheet(GOOD, "", again, other_theme), known())
    assert [r.row.line for r in plan.rows] == [2, 5]
    (broken,) = plan.broken
    assert (broken.line, [(p.kind, p.value) for p in broken.problems]) == (4, [("duplicate",
                                                                                   "2")])


@pytest.mark.parametrize(("category", "slug"), [
    ("Matsvinn", "mat"), ("MAT", "mat"), ("Mat og matsvinn", "mat"), ("food waste", "mat"),
    ("Sirkulærøkonomi", "sirkular"), ("Sirkulær økonomi", "sirkular"), ("Ombruk", "sirkular"),
    ("sirkular", "sirkular"), ("Areal- og transportplanlegging", "areal"),
    ("Arealplanlegging", "areal"), ("Land-use planning", "areal"),
])
def test_categories_map_to_the_forums_themes(category: str, slug: str) -> None:
    columns = Columns(1, {"municipality": 0, "title": 1, "theme": 2, "grant_year": 3}, {})
    good, broken = parse_rows([(2, ["A", "B", category, "2026"])], columns, THEMES)
    assert ([r.theme for r in good], broken) == ([slug], [])


def test_a_category_of_a_theme_the_forum_lacks_is_unknown() -> None:
    columns = Columns(1, {"municipality": 0, "title": 1, "theme": 2, "grant_year": 3}, {})
    good, broken = parse_rows([(2, ["A", "B", "Matsvinn", "2026"])], columns,
                              {"areal": "Arealplanlegging"})
    assert good == [] and broken[0].problems[0].kind == "unknown_theme"


def test_the_example_files() -> None:
    clean_csv = make_plan((DATA / "tilskudd_2026.csv").read_bytes(), known())
    clean_xlsx = make_plan((DATA / "tilskudd_2026.xlsx").read_bytes(), known())
    assert clean_csv.counts == clean_xlsx.counts == {"create": 10, "update": 0, "skip": 0,
                                                     "broken": 0}
    assert [s.row for s in clean_csv.rows] == [s.row for s in clean_xlsx.rows]
    with pytest.raises(UnicodeDecodeError):
        (DATA / "tilskudd_2026.csv").read_bytes().decode()  # it is Windows-1252
    broken = make_plan((DATA / "tilskudd_feil.csv").read_bytes(), known())
    assert broken.counts == {"create": 2, "update": 0, "skip": 0, "broken": 12}
    kinds = {p.kind for row in broken.broken for p in row.problems}
    assert kinds == {"missing", "unknown_theme", "bad_year", "bad_amount", "bad_email",
                     "too_long", "duplicate"}


# --- planning ---------------------------------------------------------------------------

def row(**changes: Any) -> GrantRow:
    fields: dict[str, Any] = dict(line=2, municipality="Solåsen", county_name="Innlandsdal",
                                  title="Skolemat", theme="mat", grant_year=2026,
                                  amount=1000, contact_name="Hilde",
                                  contact_email="hilde@example.org")
    return GrantRow(**{**fields, **changes})


def test_planning_creates_updates_and_skips() -> None:
    forum = known()
    first = plan_rows([row(), row(line=3, title="Ombruk", theme="sirkular")], forum)
    assert [(s.action, s.changes) for s in first] == [
        ("create", ("municipality", "project", "person", "contact", "membership")),
        ("create", ("project", "contact", "membership"))]
    again = plan_rows([row(), row(line=3, title="Ombruk", theme="sirkular")], forum)
    assert [s.action for s in again] == ["skip", "skip"]
    changed = plan_rows([row(municipality="SOLÅSEN KOMMUNE", amount=2000, grant_year=2025,
                             county_name="Nytt fylke", contact_email="ny@example.org")],
                        forum)
    assert [(s.action, s.changes) for s in changed] == [
        ("update", ("county", "grant_year", "amount", "person", "contact", "membership"))]
    no_amount = plan_rows([row(amount=None, grant_year=2025, county_name="",
                               contact_email="ny@example.org")], forum)
    assert [s.action for s in no_amount] == ["skip"]  # a blank amount keeps the one there


# --- against the database ---------------------------------------------------------------

@pytest.fixture
async def db(database_url: str) -> AsyncIterator[async_sessionmaker]:
    async with migrated(database_url) as sessions:
        async with sessions() as session:
            session.add_all([
                models.ProjectStage(slug="oppstart", name="Oppstart", position=1),
                models.ProjectStage(slug="gjennomforing", name="Gjennomføring", position=2)])
            session.add_all(models.Theme(slug=slug, name=name) for slug, name in THEMES.items())
            session.add(models.Municipality(name="Fjordvik kommune"))
            session.add(models.Person(email="ingrid.fjeld@example.org", name="Ingrid F."))
            await session.commit()
        yield sessions


async def everything(sessions: async_sessionmaker) -> dict[str, Any]:
    async with sessions() as s:
        def count(model: Any) -> Any:
            return s.scalar(select(func.count()).select_from(model))
        return {
            "counts": {m.__name__: await count(m) for m in (
                models.Municipality, models.Project, models.Person, models.ProjectContact,
                models.Membership, models.ProjectStageChange)},
            "municipalities": sorted((m.name, m.county, m.county_name)
                                     for m in await s.scalars(select(models.Municipality))),
            "projects": sorted((p.title, p.stage, p.grant_year, p.amount)
                               for p in await s.scalars(select(models.Project))),
            "people": sorted((p.email, p.name, p.municipality_id is not None)
                             for p in await s.scalars(select(models.Person))),
        }


async def test_importing_the_clean_list_then_again_changes_nothing(
        db: async_sessionmaker) -> None:
    data = (DATA / "tilskudd_2026.csv").read_bytes()
    dry = await import_grants(db, data)
    assert dry.counts == {"create": 10, "update": 0, "skip": 0, "broken": 0}
    assert (await everything(db))["counts"]["Project"] == 0  # a dry run changes nothing
    await import_grants(db, data, apply=True)
    after = await everything(db)
    assert after["counts"] == {"Municipality": 9, "Project": 10, "Person": 10,
                               "ProjectContact": 10, "Membership": 10,
                               "ProjectStageChange": 10}
    assert ("Fjordvik kommune", False, "Vestkyst") in after["municipalities"]  # matched
    assert ("Solåsen kommune", False, "Innlandsdal") in after["municipalities"]
    assert ("HAVBREKKE KOMMUNE", False, "Vestkyst") in after["municipalities"]
    assert ("Vestkyst fylkeskommune", True, "Vestkyst") in after["municipalities"]
    assert ("Prosjektleder for klimavennlig skolemat", "oppstart", 2026, 1250000) in \
        after["projects"]
    # someone already there keeps their name and gets the municipality they lacked
    assert ("ingrid.fjeld@example.org", "Ingrid F.", True) in after["people"]
    async with db() as s:
        roles = set(await s.scalars(select(models.Membership.role)))
        assert roles == {"participant"}
    for name in ("tilskudd_2026.xlsx", "tilskudd_2026.csv"):
        again = await import_grants(db, (DATA / name).read_bytes(), apply=True)
        assert again.counts == {"create": 0, "update": 0, "skip": 10, "broken": 0}
    assert await everything(db) == after


async def test_broken_rows_are_left_out_and_the_good_ones_imported(
        db: async_sessionmaker) -> None:
    plan = await import_grants(db, (DATA / "tilskudd_feil.csv").read_bytes(), apply=True)
    assert plan.counts == {"create": 2, "update": 0, "skip": 0, "broken": 12}
    projects = (await everything(db))["projects"]
    assert [p[0] for p in projects] == ["Matsvinn i kantina", "Overskuddsmat til frivilligheten"]


async def test_an_update_changes_only_what_the_list_says(db: async_sessionmaker) -> None:
    await import_grants(db, sheet(GOOD), apply=True)
    async with db() as s:
        project = await s.scalar(select(models.Project))
        assert project is not None
        project.stage, project.description = "gjennomforing", "Vi er i gang"
        await s.commit()
    changed = GOOD.replace("1 250 000", "1.300.000,00")
    plan = await import_grants(db, sheet(changed), apply=True)
    assert [(s.action, s.changes) for s in plan.rows] == [("update", ("amount",))]
    async with db() as s:
        project = await s.scalar(select(models.Project))
        assert project is not None
        assert (project.amount, project.stage, project.description) == (
            1300000, "gjennomforing", "Vi er i gang")
        assert await s.scalar(select(func.count()).select_from(models.ProjectStageChange)) == 1


async def test_no_row_is_half_imported(db: async_sessionmaker,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    contact = rooms.grant_store._contact

    async def failing_on_the_third(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("the database went away")
        await contact(*args)

    monkeypatch.setattr(rooms.grant_store, "_contact", failing_on_the_third)
    before = await everything(db)
    with pytest.raises(RuntimeError):
        await import_grants(db, (DATA / "tilskudd_2026.csv").read_bytes(), apply=True)
    assert await everything(db) == before


async def test_new_projects_need_a_first_stage(db: async_sessionmaker) -> None:
    async with db() as s:
        for stage in await s.scalars(select(models.ProjectStage)):
            await s.delete(stage)
        await s.commit()
    with pytest.raises(NoStages):
        await import_grants(db, sheet(GOOD), apply=True)
    assert (await everything(db))["counts"]["Municipality"] == 1


async def test_saved_mappings(db: async_sessionmaker) -> None:
    data = sheet("Solåsen;Skolemat;Mat;2026", header="Søker;Tiltak;Innsatsområde;Vedtaksår")
    with pytest.raises(FileProblem):
        await import_grants(db, data)
    await save_mapping(db, "miljodir", {"municipality": "Søker", "theme": "Innsatsområde",
                                        "grant_year": "Vedtaksår", "nonsense": "x"})
    mapping = await saved_mapping(db, "miljodir")
    assert mapping == {"municipality": "Søker", "theme": "Innsatsområde",
                       "grant_year": "Vedtaksår"}
    plan = await import_grants(db, data, mapping=mapping)
    assert plan.counts["create"] == 1
    with pytest.raises(LookupError):
        await saved_mapping(db, "ukjent")
