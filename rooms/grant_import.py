"""The Environment Agency's grant list, read and checked: pure rules, no database.

A list comes as .xlsx or as .csv the way Norwegian offices export it (semicolons or commas;
UTF-8 with or without a BOM, or Windows-1252). `read_table` turns the file into numbered
rows, `find_columns` finds the header row and maps its columns to the importer's fields
(Norwegian or English headers; a saved mapping overrides), `parse_rows` checks each row,
and `plan` compares the good rows with what the forum has: to create, to update, to skip,
and the broken rows with their line and why. `rooms.grant_store` reads the forum and
applies a plan in one transaction."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from rooms.roster import municipality_key  # as `forum invite` matches names

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
HEADER_SEARCH_ROWS = 10  # a title or a blank line may stand above the header row
FIRST_GRANT_YEAR = 2016  # Klimasats began in 2016
LAST_GRANT_YEAR = 2100

FIELDS = ("municipality", "county", "title", "theme", "grant_year", "amount",
          "contact_name", "contact_email")
REQUIRED_FIELDS = ("municipality", "title", "theme", "grant_year")
MAX_LENGTHS = {"municipality": 200, "county": 200, "title": 300, "contact_name": 200,
               "contact_email": 320}

# header words (as `header_key` writes them) -> field
HEADER_WORDS: dict[str, str] = {
    **dict.fromkeys(["kommune", "kommunenavn", "municipality", "municipality name",
                     "mottaker", "tilskuddsmottaker", "soker", "søker", "grant recipient",
                     "recipient"], "municipality"),
    **dict.fromkeys(["fylke", "fylkesnavn", "county", "county name"], "county"),
    **dict.fromkeys(["prosjekt", "prosjekttittel", "prosjektnavn", "tittel", "tiltak",
                     "project", "project title", "project name", "title"], "title"),
    **dict.fromkeys(["tema", "tiltakskategori", "kategori", "tiltakstype", "theme",
                     "measure category", "category"], "theme"),
    **dict.fromkeys(["tilskuddsår", "år", "tildelingsår", "søknadsår", "grant year",
                     "year"], "grant_year"),
    **dict.fromkeys(["beløp", "tilsagn", "tilsagnsbeløp", "tildelt beløp", "tilskudd",
                     "amount", "grant amount", "grant"], "amount"),
    **dict.fromkeys(["kontaktperson", "kontakt", "kontaktnavn", "navn", "contact",
                     "contact name", "contact person"], "contact_name"),
    **dict.fromkeys(["epost", "kontakt epost", "epostadresse", "email", "contact email",
                     "email address", "mail"], "contact_email"),
}

# measure categories and theme words (as `text_key` writes them) -> theme slug; the themes'
# own slugs and names match too (`plan` is given them)
CATEGORY_THEMES: dict[str, str] = {
    **dict.fromkeys(["mat", "matsvinn", "mat og matsvinn", "klimavennlig mat", "kosthold",
                     "skolemat", "food", "food waste", "food and food waste"], "mat"),
    **dict.fromkeys(["sirkulærøkonomi", "sirkulær økonomi", "ombruk", "gjenbruk", "avfall",
                     "avfall og ombruk", "deling", "reparasjon", "circular economy", "reuse"],
                    "sirkular"),
    **dict.fromkeys(["areal", "arealplanlegging", "arealbruk", "areal og transport",
                     "areal og transportplanlegging", "klimavennlig arealplanlegging",
                     "land use planning", "land use"], "areal"),
}

EMAIL = re.compile(r"[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[a-z]{2,}", re.IGNORECASE)

Cell = str | int | float | datetime | date | None


class FileProblem(ValueError):
    """The whole file cannot be read: `kind` says why, `detail` what."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


# ---------------------------------------------------------------------------------------
# reading


def read_table(data: bytes) -> list[tuple[int, list[Cell]]]:
    """The file's non-blank rows with their line (1-based, as a spreadsheet numbers them).
    An .xlsx is known by its contents (a zip), not by its name."""
    if len(data) > MAX_BYTES:
        raise FileProblem("too_large", str(MAX_BYTES))
    if not data.strip():
        raise FileProblem("empty")
    rows = _read_xlsx(data) if data[:4] == b"PK\x03\x04" else _read_csv(decode(data))
    numbered: list[tuple[int, list[Cell]]] = []
    for line, cells in rows:
        if any(_text(c) for c in cells):
            numbered.append((line, cells))
            if len(numbered) > MAX_ROWS + HEADER_SEARCH_ROWS:
                raise FileProblem("too_many_rows", str(MAX_ROWS))
    if not numbered:
        raise FileProblem("empty")
    return numbered


def decode(data: bytes) -> str:
    """UTF-8 (a BOM dropped), else Windows-1252, as Excel in Norway saves "CSV"."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def sniff_delimiter(text: str) -> str:
    """Semicolon, comma or tab: the one most frequent in the busiest of the first lines."""
    best, count = ";", 0
    for line in text.splitlines()[:HEADER_SEARCH_ROWS]:
        for delimiter in (";", ",", "\t"):
            n = line.count(delimiter)
            if n > count:
                best, count = delimiter, n
    return best


def _read_csv(text: str) -> Iterable[tuple[int, list[Cell]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    try:
        for number, record in enumerate(reader, start=1):
            yield number, list(record)
    except csv.Error as error:
        raise FileProblem("unreadable", str(error)) from None


def _read_xlsx(data: bytes) -> Iterable[tuple[int, list[Cell]]]:
    import openpyxl  # only for spreadsheets

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise FileProblem("unreadable", str(error)) from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(values)
    finally:
        book.close()


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return " ".join(str(cell).split())


# ---------------------------------------------------------------------------------------
# columns


def header_key(text: str) -> str:
    """A header as written, for matching: case, spacing, hyphens, "(kr)" and ":" dropped."""
    text = re.sub(r"\(.*?\)", " ", text.casefold()).replace("-", "").replace(":", " ")
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def text_key(text: str) -> str:
    """A theme or category word for matching: case, spacing and hyphens dropped."""
    return " ".join(re.sub(r"[-/,]", " ", text.casefold()).split())


@dataclass(frozen=True)
class Columns:
    header_line: int
    index: dict[str, int]  # field -> column index
    headers: dict[str, str]  # field -> the header as written


def find_columns(rows: Sequence[tuple[int, Sequence[Cell]]],
                 saved: Mapping[str, str] | None = None) -> Columns:
    """The header row (the first of the first rows that names the required fields) and its
    columns. A saved mapping (field -> header as written) wins over the known words."""
    saved_keys = {f: header_key(h) for f, h in (saved or {}).items() if f in FIELDS and h}
    best: Columns | None = None
    for line, cells in rows[:HEADER_SEARCH_ROWS]:
        keys = [header_key(_text(c)) for c in cells]
        index: dict[str, int] = {}
        for f, key in saved_keys.items():
            if key in keys:
                index[f] = keys.index(key)
        for i, key in enumerate(keys):
            known = HEADER_WORDS.get(key)
            if known is not None and known not in index and i not in index.values():
                index[known] = i
        found = Columns(line, index, {f: _text(cells[i]) for f, i in index.items()})
        if all(f in index for f in REQUIRED_FIELDS):
            return found
        if best is None or len(index) > len(best.index):
            best = found
    missing = [f for f in REQUIRED_FIELDS if best is None or f not in best.index]
    raise FileProblem("missing_columns", ", ".join(missing))


# ---------------------------------------------------------------------------------------
# values


def parse_year(cell: Cell) -> int:
    if isinstance(cell, datetime | date):
        year = cell.year
    else:
        text = _text(cell)
        if not re.fullmatch(r"\d{4}", text):
            raise ValueError(text)
        year = int(text)
    if not FIRST_GRANT_YEAR <= year <= LAST_GRANT_YEAR:
        raise ValueError(str(year))
    return year


def parse_amount(cell: Cell) -> int | None:
    """Kroner, whole: 50000, "1 250 000", "1.250.000,00", "kr 50 000", "50 000,-",
    "1,250,000.00". Blank is None; anything else raises ValueError."""
    if isinstance(cell, bool | datetime | date):
        raise ValueError(str(cell))
    if isinstance(cell, int | float):
        if cell < 0:
            raise ValueError(str(cell))
        return _kroner(str(cell))
    text = re.sub(r"\s", "", _text(cell).casefold())  # spaces, no-break and thin spaces too
    text = re.sub(r"^(kr\.?|nok)|(kr\.?|nok)$", "", text).removesuffix(",-").removesuffix(".-")
    if not text:
        return None
    if not re.fullmatch(r"\d[\d.,]*", text):
        raise ValueError(text)
    if "," in text and "." in text:  # the later one separates the decimals
        thousands, decimals = (".", ",") if text.rindex(",") > text.rindex(".") else (",", ".")
        if not re.fullmatch(rf"\d{{1,3}}(\{thousands}\d{{3}})+\{decimals}\d+", text):
            raise ValueError(text)
        text = text.replace(thousands, "").replace(",", ".")
    else:
        for mark in (",", "."):
            if mark in text:
                if re.fullmatch(rf"\d{{1,3}}(\{mark}\d{{3}})+", text):
                    text = text.replace(mark, "")  # 1.250.000 or 1,250,000
                elif text.count(mark) == 1:
                    text = text.replace(mark, ".")  # 1250,50
                else:
                    raise ValueError(text)
    return _kroner(text)


def _kroner(number: str) -> int:
    """Whole kroner, half a krone up (as a person rounds, not to even)."""
    return int(Decimal(number).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_email(cell: Cell) -> str:
    text = _text(cell).lower().removeprefix("mailto:")
    if not EMAIL.fullmatch(text):
        raise ValueError(text)
    return text


def municipality_name(written: str) -> str:
    """The name a new municipality gets: spacing tidied, "kommune" added when missing."""
    name = " ".join(written.split())
    return name if name.casefold().endswith("kommune") else f"{name} kommune"


def is_county(name: str) -> bool:
    return municipality_key(name).endswith("fylkeskommune")


def title_key(title: str) -> str:
    return " ".join(title.casefold().split())


# ---------------------------------------------------------------------------------------
# rows


@dataclass(frozen=True)
class Problem:
    kind: str  # missing, too_long, unknown_theme, bad_year, bad_amount, bad_email, duplicate
    field: str = ""
    value: str = ""


@dataclass(frozen=True)
class GrantRow:
    line: int
    municipality: str  # as written, spacing tidied
    county_name: str
    title: str
    theme: str  # slug
    grant_year: int
    amount: int | None
    contact_name: str
    contact_email: str

    @property
    def municipality_key(self) -> str:
        return municipality_key(self.municipality)

    @property
    def project_key(self) -> ProjectKey:
        return (self.municipality_key, self.theme, title_key(self.title))


ProjectKey = tuple[str, str, str]  # municipality key, theme slug, title key


@dataclass(frozen=True)
class BrokenRow:
    line: int
    problems: tuple[Problem, ...]
    municipality: str = ""
    title: str = ""


def theme_words(themes: Mapping[str, str]) -> dict[str, str]:
    """Word -> slug for the forum's themes (slug -> name): the category table for the
    themes it has, and each theme's own slug and name."""
    words = {w: slug for w, slug in CATEGORY_THEMES.items() if slug in themes}
    for slug, name in themes.items():
        words[text_key(slug)] = slug
        words[text_key(name)] = slug
    return words


def parse_rows(rows: Sequence[tuple[int, Sequence[Cell]]], columns: Columns,
               themes: Mapping[str, str]) -> tuple[list[GrantRow], list[BrokenRow]]:
    """Each row after the header, checked: good rows, and broken ones with every problem
    found. A row naming a project (municipality, theme, title) an earlier row named is
    broken: the list must say each grant once."""
    words = theme_words(themes)
    good: list[GrantRow] = []
    broken: list[BrokenRow] = []
    seen: dict[ProjectKey, int] = {}
    for line, cells in rows:
        if line <= columns.header_line:
            continue
        value = {f: (cells[i] if i < len(cells) else None) for f, i in columns.index.items()}
        text = {f: _text(value.get(f)) for f in FIELDS}
        problems = [Problem("missing", f) for f in REQUIRED_FIELDS if not text[f]]
        problems += [Problem("too_long", f, str(limit)) for f, limit in MAX_LENGTHS.items()
                     if len(text[f]) > limit]
        theme = words.get(text_key(text["theme"]))
        if text["theme"] and theme is None:
            problems.append(Problem("unknown_theme", "theme", text["theme"]))
        year = amount = None
        if text["grant_year"]:
            try:
                year = parse_year(value["grant_year"])
            except ValueError:
                problems.append(Problem("bad_year", "grant_year", text["grant_year"]))
        try:
            amount = parse_amount(value.get("amount"))
        except ValueError:
            problems.append(Problem("bad_amount", "amount", text["amount"]))
        email = ""
        if text["contact_email"]:
            try:
                email = parse_email(value["contact_email"])
            except ValueError:
                problems.append(Problem("bad_email", "contact_email", text["contact_email"]))
        elif text["contact_name"]:
            problems.append(Problem("missing", "contact_email"))
        if not problems and theme is not None and year is not None:
            row = GrantRow(line, text["municipality"], text["county"], text["title"], theme,
                           year, amount, text["contact_name"] or email.split("@")[0], email)
            first = seen.setdefault(row.project_key, line)
            if first == line:
                good.append(row)
                continue
            problems.append(Problem("duplicate", "", str(first)))
        broken.append(BrokenRow(line, tuple(problems), text["municipality"], text["title"]))
    return good, broken


# ---------------------------------------------------------------------------------------
# the plan


@dataclass
class Known:
    """What the forum has, as far as the import is concerned (keys as the rules write them)."""

    themes: dict[str, str] = field(default_factory=dict)  # slug -> name
    municipalities: dict[str, str] = field(default_factory=dict)  # key -> county name
    projects: dict[ProjectKey, tuple[int, int | None]] = field(default_factory=dict)
    contacts: set[tuple[ProjectKey, str]] = field(default_factory=set)  # (project, email)
    people: dict[str, str | None] = field(default_factory=dict)  # email -> municipality key
    memberships: set[tuple[str, str]] = field(default_factory=set)  # (email, theme slug)


Action = Literal["create", "update", "skip"]
# what a row changes: municipality, county, project, grant_year, amount, person,
# person_municipality, contact, membership


@dataclass(frozen=True)
class RowPlan:
    row: GrantRow
    action: Action
    changes: tuple[str, ...]


@dataclass
class Plan:
    rows: list[RowPlan]
    broken: list[BrokenRow]
    columns: Columns | None = None
    themes: dict[str, str] = field(default_factory=dict)  # slug -> name, of the forum

    def of(self, action: Action) -> list[RowPlan]:
        return [r for r in self.rows if r.action == action]

    @property
    def counts(self) -> dict[str, int]:
        counts = {a: len(self.of(a)) for a in ("create", "update", "skip")}
        return {**counts, "broken": len(self.broken)}


def plan_rows(rows: Sequence[GrantRow], known: Known) -> list[RowPlan]:
    """What each good row changes, given what the forum has and what earlier rows add
    (`known` is updated as the rows would update the forum)."""
    plans = []
    for row in rows:
        changes: list[str] = []
        m = row.municipality_key
        if m not in known.municipalities:
            changes.append("municipality")
            known.municipalities[m] = row.county_name
        elif row.county_name and known.municipalities[m] != row.county_name:
            changes.append("county")
            known.municipalities[m] = row.county_name
        project = row.project_key
        was = known.projects.get(project)
        if was is None:
            changes.append("project")
        else:
            if was[0] != row.grant_year:
                changes.append("grant_year")
            if row.amount is not None and was[1] != row.amount:
                changes.append("amount")
        known.projects[project] = (row.grant_year,
                                   row.amount if row.amount is not None or was is None
                                   else was[1])
        email = row.contact_email
        if email:
            if email not in known.people:
                changes.append("person")
                known.people[email] = m
            elif known.people[email] is None:
                changes.append("person_municipality")
                known.people[email] = m
            if (project, email) not in known.contacts:
                changes.append("contact")
                known.contacts.add((project, email))
            if (email, row.theme) not in known.memberships:
                changes.append("membership")
                known.memberships.add((email, row.theme))
        action: Action = ("create" if "project" in changes else "update" if changes
                          else "skip")
        plans.append(RowPlan(row, action, tuple(changes)))
    return plans


def make_plan(data: bytes, known: Known, saved: Mapping[str, str] | None = None) -> Plan:
    """The whole dry run of one file against what the forum has (FileProblem when the file
    cannot be read at all)."""
    table = read_table(data)
    columns = find_columns(table, saved)
    good, broken = parse_rows(table, columns, known.themes)
    if len(good) + len(broken) > MAX_ROWS:
        raise FileProblem("too_many_rows", str(MAX_ROWS))
    return Plan(plan_rows(good, known), broken, columns, dict(known.themes))


def describe_columns(columns: Columns) -> dict[str, Any]:
    return {"header_line": columns.header_line, "columns": dict(columns.headers)}
