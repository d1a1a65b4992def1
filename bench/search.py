"""Search benchmark: the archive of 10 years x 3 themes on SQLite and on PostgreSQL, then
about 50 queries timed through `rooms.search.search`, and the theme page rendered over
real HTTP with that archive in the database.

    .venv/bin/python bench/search.py                  # both databases
    .venv/bin/python bench/search.py --databases sqlite --years 3

The archive (generated from a fixed seed, Norwegian words in several inflections): per
theme and year 4 gatherings with a published summary (120 in all), 25 group notes per
gathering (3,000), and 5,000 posts: announcements, replies, help requests and answers,
written both as the forum's rows and as the archive's documents (some announcements for
chosen municipalities only). Printed per database: the time to load, then p50/p95/max
milliseconds of the queries as the programme lead (everything) and as a participant (the
permission condition in the query), with a filter, and of GET /themes/{slug}. A
measurement, never a test."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from aiohttp import ClientSession  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from sqlalchemy.ext.asyncio import async_sessionmaker  # noqa: E402

from rooms.accounts import start_session  # noqa: E402
from rooms.db import create_engine, sessionmaker  # noqa: E402
from rooms.forum_models import (  # noqa: E402
    Announcement,
    AnnouncementReply,
    HelpAnswer,
    HelpRequest,
    SearchDoc,
)
from rooms.migrate import upgrade  # noqa: E402
from rooms.models import (  # noqa: E402
    AgendaItem,
    Gathering,
    Membership,
    Municipality,
    Person,
    ProjectStage,
    Summary,
    Theme,
)
from rooms.search import search  # noqa: E402
from server.app import create_app  # noqa: E402
from server.settings import SESSION_COOKIE, Settings  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
THEMES = [("mat", "Mat og matsvinn"), ("sirkular", "Sirkulærøkonomi"),
          ("areal", "Arealplanlegging")]
STAGES = ["oppstart", "gjennomforing", "videreforing"]
TAGS = ["skolekjøkken", "kantine", "innkjøp", "gjenbruk", "arealregnskap", "sykkel",
        "kompost", "energi"]
_WORDS = """kjøkken kjøkkenet kjøkkenene matsvinn matsvinnet skole skolen skolene kantine
kantina kantinene innkjøp innkjøpet anskaffelse anskaffelsen anskaffelser gjenbruk
gjenbruket ombruk sirkulær økonomi arealplan arealplanen arealregnskap arealregnskapet
fortetting matjord jordvern sykkelvei sykkelveier parkering parkeringen kollektiv
prosjektleder prosjektlederen prosjektet prosjekter kommune kommunen kommunene måling
målingen veiing vekt vekta avfall matavfall kompost komposten barnehage barnehagen
sykehjem sykehjemmet rådhus rådhuset innbyggere elever lærere ansatte budsjett budsjettet
rapport rapporten tilskudd tilskuddet erfaring erfaringer resultat resultatene plan
planen tiltak tiltakene møte møtet samarbeid leverandør leverandøren kontrakt kontrakten
klima utslipp utslippene energi solceller fjernvarme bygg byggene rehabilitering
tekstiler møbler reparasjon deling bildeling"""
WORDS = _WORDS.split()
_FILLER = "og i på med for som til av at det er vi har en et de om ikke fra"
FILLER = _FILLER.split()
QUERIES = ["kjøkkenene", "matsvinn", "matsvinnet skolen", "kantina", "innkjøp",
           "anskaffelsen", "gjenbruk", "ombruk møbler", "arealregnskapet", "fortetting",
           "matjord", "sykkelveier", "parkeringen", "prosjektlederen", "kommunene",
           "målingen", "vekta", "matavfall", "komposten", "barnehagen", "sykehjemmet",
           "rådhuset", "elever", "budsjettet", "rapporten", "tilskuddet", "erfaringer",
           "resultatene", "tiltakene", "samarbeid leverandør", "kontrakten", "utslippene",
           "solceller", "fjernvarme", "rehabilitering", "tekstiler", "reparasjon",
           "bildeling", "klima tiltak", "energi bygg", "skolekjøkkenet", "sirkulær økonomi",
           "kjøkken veiing", "kantine innkjøp", "matsvinn barnehage", "plan kollektiv",
           "ukjentord", "møtet", "ansatte", "innbyggere"]


def sentence(rng: random.Random, words: int) -> str:
    out = [rng.choice(WORDS) if rng.random() < 0.55 else rng.choice(FILLER)
           for _ in range(words)]
    return " ".join(out).capitalize() + "."


def text(rng: random.Random, sentences: int, words: int = 12) -> str:
    return " ".join(sentence(rng, rng.randint(words // 2, words)) for _ in range(sentences))


async def load(sessions: async_sessionmaker, years: int, posts: int) -> dict[str, Any]:
    rng = random.Random(2026)
    first = 2026 - years + 1
    async with sessions() as s:
        s.add_all(ProjectStage(slug=slug, name=slug, position=i) for i, slug in
                  enumerate(STAGES))
        themes = [Theme(slug=slug, name=name, description="") for slug, name in THEMES]
        places = [Municipality(name=f"Kommune {i}") for i in range(60)]
        s.add_all([*themes, *places])
        await s.flush()
        lead = Person(email="leder@example.org", name="Per Programleder",
                      is_programme_lead=True)
        people = [Person(email=f"p{i}@example.org", name=f"Deltaker {i}",
                         municipality_id=places[i % 60].id) for i in range(90)]
        s.add_all([lead, *people])
        await s.flush()
        s.add_all(Membership(person_id=p.id, theme_id=themes[i % 3].id, role="participant")
                  for i, p in enumerate(people))
        gatherings: list[Gathering] = []
        for theme in themes:
            for year in range(first, 2027):
                for number in range(1, 5):
                    g = Gathering(theme_id=theme.id, year=year, number=number,
                                  title=f"Samling {number} {year}", planned_minutes=120,
                                  starts_at=datetime(year, 3 * number, 10, 9, tzinfo=UTC))
                    g.items = [AgendaItem(position=0, kind="welcome", title="Velkommen",
                                          planned_minutes=10),
                               AgendaItem(position=1, kind="breakout", title="Grupperom",
                                          planned_minutes=40)]
                    gatherings.append(g)
        s.add_all(gatherings)
        await s.flush()
        docs: list[SearchDoc] = []

        def doc(kind: str, ref: str, title: str, body: str, url: str, g_year: int,
                at: datetime, theme_id: int | None, **more: Any) -> None:
            docs.append(SearchDoc(kind=kind, ref=ref, title=title, body=body, url=url,
                                  year=g_year, created_at=at, theme_id=theme_id,
                                  tags=more.pop("tags", []), audience=more.pop("audience", []),
                                  **more))

        for g in gatherings:
            s.add(Summary(gathering_id=g.id, intro=text(rng, 4), published_at=g.starts_at,
                          published_by=lead.id))
            doc("summary", g.id, g.title, text(rng, 6), f"/g/{g.id}/summary", g.year,
                g.starts_at, g.theme_id, gathering_id=g.id)
            for n in range(25):
                doc("note", f"{g.id}:r1-g{n}", f"{g.title}: Gruppe {n + 1}", text(rng, 5),
                    f"/g/{g.id}/summary#group-1-g{n}", g.year, g.starts_at, g.theme_id,
                    gathering_id=g.id, stage=rng.choice(STAGES))
        await s.flush()
        for i in range(posts):
            theme = rng.choice(themes)
            year = rng.randint(first, 2026)
            at = datetime(year, rng.randint(1, 12), rng.randint(1, 28), 12, tzinfo=UTC)
            author = rng.choice(people)
            kind = ("announcement", "reply", "help", "answer")[i % 4]
            title, body = sentence(rng, 6), text(rng, 3)
            audience = [rng.choice(places).id] if kind == "announcement" and i % 20 == 0 else []
            if kind == "announcement":
                row: Any = Announcement(theme_id=theme.id, author_id=lead.id, title=title[:200],
                                        body=body, municipality_ids=audience, created_at=at)
            elif kind == "help":
                row = HelpRequest(theme_id=theme.id, author_id=author.id, title=title[:200],
                                  body=body, stage=rng.choice(STAGES),
                                  tags=[rng.choice(TAGS)], created_at=at)
            else:
                row = None
            if row is not None:
                s.add(row)
                await s.flush()
                last = row
            elif kind == "reply" and isinstance(last, Announcement):
                s.add(AnnouncementReply(announcement_id=last.id, author_id=author.id,
                                        body=body, created_at=at))
            elif kind == "answer" and isinstance(last, HelpRequest):
                s.add(HelpAnswer(request_id=last.id, author_id=author.id, body=body,
                                 created_at=at))
            doc(kind, str(i), title, body, f"/themes/{theme.slug}/{kind}/{i}", year, at,
                theme.id, tags=[rng.choice(TAGS)] if kind == "help" else [],
                audience=audience, stage=rng.choice(STAGES) if kind == "help" else None)
        s.add_all(docs)
        await s.commit()
        return {"lead": lead, "participant": people[0], "documents": len(docs),
                "gatherings": len(gatherings), "theme": themes[0].slug}


def figures(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
    return (f"p50 {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   "
            f"max {ms[-1]:7.1f} ms   (n={len(ms)})")


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


async def measure(url: str, args: argparse.Namespace) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessions = sessionmaker(engine)
        start = time.perf_counter()
        world = await load(sessions, args.years, args.posts)
        print(f"  loaded {world['documents']} documents ({world['gatherings']} gatherings) in "
              f"{time.perf_counter() - start:.1f} s")
        for who in ("lead", "participant"):
            person = world[who]
            await search(sessions, person, "matsvinn")  # warm
            times = [await timed(lambda q=q, p=person: search(sessions, p, q))  # type: ignore[misc]
                     for _ in range(args.rounds) for q in QUERIES]
            print(f"  search as {who:<11}: {figures(times)}")
        person = world["participant"]
        times = [await timed(lambda q=q: search(sessions, person, q, year=2024,  # type: ignore[misc]
                                                kinds=["note", "help"]))
                 for _ in range(args.rounds) for q in QUERIES]
        print(f"  search, year+kinds  : {figures(times)}")
        await theme_page(url, sessions, world, args.renders)
    finally:
        await engine.dispose()


async def theme_page(url: str, sessions: async_sessionmaker, world: dict[str, Any],
                     renders: int) -> None:
    settings = Settings(database_url=url, secret_key="bench", host="127.0.0.1")
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        token = await start_session(sessions, world["participant"].id, days=1)
        async with ClientSession(cookies={SESSION_COOKIE: token}) as http:
            path = str(server.make_url(f"/themes/{world['theme']}"))

            async def get() -> None:
                async with http.get(path) as response:
                    assert response.status == 200, response.status
                    await response.read()

            await get()
            times = [await timed(get) for _ in range(renders)]
        print(f"  GET /themes/{world['theme']:<8}: {figures(times)}")
    finally:
        await server.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3, help="times each query runs")
    parser.add_argument("--renders", type=int, default=20)
    args = parser.parse_args()
    for database in args.databases.split(","):
        print(f"{database}:")
        if database == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                await measure(f"sqlite:///{Path(folder) / 'bench.db'}", args)
            continue
        name = f"forum_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            await measure(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", args)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
