"""Writes the example grant lists beside this script (run it again after changing them):

- tilskudd_2026.csv: a clean list as Excel in a Norwegian office saves "CSV" (semicolons,
  Windows-1252), with a title line above the header row;
- tilskudd_2026.xlsx: the same rows as a spreadsheet (amounts as numbers);
- tilskudd_feil.csv: a list with every kind of broken row (UTF-8 with a BOM, semicolons).

Every name is made up; the addresses are example.org. `python tests/data/make_examples.py`
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

TITLE = "Klimasats – tilsagn om tilskudd 2026 (utdrag)"
HEADER = ["Kommune", "Fylke", "Prosjekttittel", "Tiltakskategori", "Tilskuddsår",
          "Tilsagn (kr)", "Kontaktperson", "E-post"]

# municipality, county, title, category, year, amount (kr), contact, e-mail
CLEAN: list[tuple[str, str, str, str, int, int, str, str]] = [
    ("Fjordvik kommune", "Vestkyst", "Matsvinnfrie sykehjem – forprosjekt", "Matsvinn", 2026,
     250000, "Ingrid Fjeld", "ingrid.fjeld@example.org"),
    ("Solåsen", "Innlandsdal", "Prosjektleder for klimavennlig skolemat", "Mat", 2026,
     1250000, "Hilde Moen", "hilde.moen@example.org"),
    ("HAVBREKKE KOMMUNE", "Vestkyst", "Felles innkjøp av klimavennlig mat", "Mat og matsvinn",
     2025, 480000, "Kari Strand", "kari.strand@example.org"),
    ("Vestkyst fylkeskommune", "Vestkyst", "Matsvinn i videregående skoler", "Matsvinn", 2025,
     900000, "Lars Foss", "lars.foss@example.org"),
    ("Granlia kommune", "Innlandsdal", "Kommunalt ombrukslager for møbler",
     "Sirkulærøkonomi", 2026, 650000, "Aisha Rahman", "aisha.rahman@example.org"),
    ("Elvheim kommune", "Nordfjell", "Ombruk av byggematerialer fra riving – forprosjekt",
     "Ombruk", 2026, 150000, "Erik Dahl", "erik.dahl@example.org"),
    ("Fjordvik kommune", "Vestkyst", "Sirkulære krav i anskaffelser", "Sirkulær økonomi", 2025,
     300000, "Ola Nygård", "ola.nygard@example.org"),
    ("Vikstrand kommune", "Nordfjell",
     "Klimagassregnskap for kommuneplanens arealdel – areal- og transportplanlegging",
     "Arealplanlegging", 2026, 1500000, "Magnus Holm", "magnus.holm@example.org"),
    ("Myrvang kommune", "Innlandsdal", "Kartlegging av myr og karbonrike arealer",
     "Areal- og transportplanlegging", 2025, 400000, "Sara Aas", "sara.aas@example.org"),
    ("Innlandsdal fylkeskommune", "Innlandsdal", "Regional plan for arealbruk",
     "Arealplanlegging", 2026, 2000000, "Marit Engen", "marit.engen@example.org"),
]


def amount_text(kroner: int, style: int) -> str:
    """Amounts the way people type them: "1 250 000", "1.250.000,00", "kr 50 000"."""
    grouped = f"{kroner:,}"
    return [grouped.replace(",", " "), grouped.replace(",", ".") + ",00",
            "kr " + grouped.replace(",", " ")][style % 3]


def csv_line(cells: list[str]) -> str:
    return ";".join(f'"{c}"' if ";" in c or '"' in c else c for c in cells)


def clean_csv() -> str:
    lines = [TITLE, "", csv_line(HEADER)]
    for n, (m, county, title, category, year, amount, name, email) in enumerate(CLEAN):
        lines.append(csv_line([m, county, title, category, str(year), amount_text(amount, n),
                               name, email]))
    return "\r\n".join(lines) + "\r\n"


# Each row is broken in one way (the comment says which), but the first two, which are good.
BROKEN_ROWS = [
    ["Brattli kommune", "Nordfjell", "Matsvinn i kantina", "Matsvinn", "2026", "75 000",
     "Per Lunde", "per.lunde@example.org"],
    ["Lyngmo", "Nordfjell", "Overskuddsmat til frivilligheten", "Mat", "2025", "kr 50 000",
     "", ""],
    # missing municipality
    ["", "Nordfjell", "Ombrukslager uten kommune", "Ombruk", "2026", "100 000", "", ""],
    # missing title
    ["Nordtind kommune", "Nordfjell", "", "Ombruk", "2026", "100 000", "", ""],
    # missing theme
    ["Nordtind kommune", "Nordfjell", "Utstyrsbibliotek i alle bydeler", "", "2026",
     "100 000", "", ""],
    # missing grant year
    ["Bergelia kommune", "Vestkyst", "Fortetting rundt kollektivknutepunktet",
     "Arealplanlegging", "", "300 000", "", ""],
    # unknown theme
    ["Bergelia kommune", "Vestkyst", "Ladestasjoner for kommunens biler", "Transport", "2026",
     "300 000", "", ""],
    # bad year: not a year
    ["Solåsen kommune", "Innlandsdal", "Arealnøytral kommuneplan", "Areal", "tjuetjueseks",
     "200 000", "", ""],
    # bad year: before Klimasats began
    ["Solåsen kommune", "Innlandsdal", "Grønn kommuneplan", "Areal", "2012", "200 000", "",
     ""],
    # bad amount
    ["Granlia kommune", "Innlandsdal", "Reparasjonskafé", "Reparasjon", "2026", "femti tusen",
     "", ""],
    # bad e-mail
    ["Elvheim kommune", "Nordfjell", "Sirkulære byggeprosjekter", "Sirkulærøkonomi", "2026",
     "120 000", "Erik Dahl", "erik.dahl(at)example.org"],
    # a contact without an e-mail address
    ["Myrvang kommune", "Innlandsdal", "Myr i arealregnskapet", "Areal", "2026", "90 000",
     "Sara Aas", ""],
    # a title too long
    ["Myrvang kommune", "Innlandsdal", "Kartlegging " + "av myr " * 50, "Areal", "2026",
     "90 000", "", ""],
    # the first row again: a duplicate
    ["Brattli", "Nordfjell", "Matsvinn i  kantina", "matsvinn", "2026", "75 000",
     "Per Lunde", "per.lunde@example.org"],
]


def broken_csv() -> str:
    return "\r\n".join(csv_line(r) for r in [HEADER, *BROKEN_ROWS]) + "\r\n"


def clean_xlsx(path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Tilsagn 2026"
    sheet.append([TITLE])
    sheet.append([])
    sheet.append(HEADER)
    for row in CLEAN:
        sheet.append(list(row))
    book.save(path)


def main() -> None:
    (HERE / "tilskudd_2026.csv").write_bytes(clean_csv().encode("cp1252"))
    (HERE / "tilskudd_feil.csv").write_bytes(broken_csv().encode("utf-8-sig"))
    clean_xlsx(HERE / "tilskudd_2026.xlsx")


if __name__ == "__main__":
    main()
