"""Grant list import benchmark: a generated 400-row .xlsx (and the same as CSV) imported into
an empty forum (the three pilot themes, the demo's stages), then imported again.

    .venv/bin/python bench/import_grants.py [--rows 400] [--database-url URL]

Printed, in seconds: the dry run, the import (one transaction), and the second import of
the same sheet (everything unchanged). Without --database-url a SQLite file in a temporary
folder is used; a PostgreSQL URL must name an empty database. A measurement, never a test:
it does not fail on time."""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CATEGORIES = ["Matsvinn", "Mat", "Sirkulærøkonomi", "Ombruk", "Arealplanlegging",
              "Areal- og transportplanlegging"]


def sheet(rows: int) -> tuple[bytes, bytes]:
    """An .xlsx and a Windows-1252 CSV of `rows` grants: about a hundred municipalities,
    some with several projects, every contact a different person."""
    import openpyxl

    header = ["Kommune", "Fylke", "Prosjekttittel", "Tiltakskategori", "Tilskuddsår",
              "Tilsagn (kr)", "Kontaktperson", "E-post"]
    data = [[f"Kommune {n % 110:03d}", f"Fylke {n % 11}", f"Prosjekt {n} – forprosjekt",
             CATEGORIES[n % len(CATEGORIES)], 2025 + n % 2, 50000 + 1000 * n,
             f"Person {n}", f"person.{n}@example.org"] for n in range(rows)]
    book = openpyxl.Workbook()
    grid = book.active
    grid.append(header)
    for row in data:
        grid.append(row)
    xlsx = io.BytesIO()
    book.save(xlsx)
    csv = "\r\n".join(";".join(str(c) for c in row) for row in [header, *data])
    return xlsx.getvalue(), csv.encode("cp1252")


async def run(rows: int, database_url: str) -> None:
    from rooms.db import create_engine, sessionmaker
    from rooms.grant_store import import_grants
    from rooms.migrate import upgrade
    from rooms.programme import ensure_programme

    xlsx, csv = sheet(rows)
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        sessions = sessionmaker(engine)
        async with sessions() as session:
            await ensure_programme(session)
            await session.commit()
        for label, data, apply in [("dry run (.xlsx)", xlsx, False),
                                   ("import (.xlsx)", xlsx, True),
                                   ("import again (.xlsx)", xlsx, True),
                                   ("import again (.csv)", csv, True)]:
            start = time.perf_counter()
            plan = await import_grants(sessions, data, apply=apply)
            seconds = time.perf_counter() - start
            print(f"{label:<22} {rows} rows: {seconds:6.3f} s  {plan.counts}")
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--database-url", help="an empty database (default: SQLite, temporary)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        asyncio.run(run(args.rows, url))


if __name__ == "__main__":
    main()
