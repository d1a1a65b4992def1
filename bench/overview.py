"""Overview benchmark: a programme year in a temporary SQLite database, then the programme
lead's overview page rendered over real HTTP.

    .venv/bin/python bench/overview.py --municipalities 60 --renders 20

The year: 3 themes x 4 gatherings, `--municipalities` municipalities (each in one or two
themes, two or three participants each, one project per theme with its stage changes over
the year), and every gathering run through the real command path (`rooms.live.LiveRooms`):
opened, most participants join, the agenda is stepped through, some chat, ended. Printed:
the time to build the year, the milliseconds of the overview's queries and folds alone, then
to render `/overview`, one gathering's view and a CSV (first, median, slowest). A measurement,
never a test."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rooms.programme import STAGES as PROGRAMME_STAGES  # noqa: E402

YEAR = 2026
STAGES = [slug for slug, _name, _position in PROGRAMME_STAGES]
AGENDA = [("welcome", "Velkommen", 10), ("expert_talk", "Innlegg", 20),
          ("breakout", "Grupperom", 25), ("wrap_up", "Oppsummering", 5)]


def reading(clock: list[float]) -> Callable[[], float]:
    return lambda: clock[0]


async def nobody(gathering_id: str, events: list[dict[str, Any]]) -> None:
    pass


async def build_year(sessions: Any, municipalities: int, rng: random.Random) -> list[str]:
    """The year's people, projects and gatherings; the gatherings' ids."""
    from rooms import models
    from rooms.programme import ensure_programme

    async with sessions() as s:
        themes = list((await ensure_programme(s))[0].values())
        places = [models.Municipality(name=f"Kommune {n:02d}") for n in range(municipalities)]
        s.add_all(places)
        lead = models.Person(email="leder@example.org", name="Per Programleder",
                             is_programme_lead=True)
        s.add(lead)
        await s.flush()
        gathering_ids: list[str] = []
        for t, theme in enumerate(themes):
            facilitator = models.Person(email=f"fasilitator{t}@example.org",
                                        name=f"Fasilitator {t}")
            expert = models.Person(email=f"ekspert{t}@example.org", name=f"Ekspert {t}")
            s.add_all([facilitator, expert])
            await s.flush()
            s.add_all([models.Membership(person_id=facilitator.id, theme_id=theme.id,
                                         role="facilitator"),
                       models.Membership(person_id=expert.id, theme_id=theme.id,
                                         role="expert")])
            for number, month in enumerate((3, 6, 9, 11), 1):
                g = models.Gathering(theme_id=theme.id, year=YEAR, number=number,
                              title=f"Samling {number}", planned_minutes=60,
                              starts_at=datetime(YEAR, month, 10 + t, 8, tzinfo=UTC))
                g.items = [models.AgendaItem(position=i, kind=k, title=title, planned_minutes=m,
                                      expert_id=expert.id if k == "expert_talk" else None)
                           for i, (k, title, m) in enumerate(AGENDA)]
                s.add(g)
                await s.flush()
                gathering_ids.append(g.id)
        for n, place in enumerate(places):
            for theme in rng.sample(themes, 1 + n % 2):
                for k in range(2 + n % 2):
                    person = models.Person(email=f"p{n}-{theme.slug}-{k}@example.org",
                                    name=f"Deltaker {n}-{k}", municipality_id=place.id)
                    s.add(person)
                    await s.flush()
                    s.add(models.Membership(person_id=person.id, theme_id=theme.id,
                                     role="participant"))
                stage = rng.randrange(len(STAGES))
                project = models.Project(municipality_id=place.id, theme_id=theme.id,
                                  title=f"Prosjekt {n}", stage=STAGES[stage], tags=[],
                                  grant_year=YEAR - 1)
                s.add(project)
                await s.flush()
                at = datetime(YEAR, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(200))
                for step in range(stage + 1):
                    s.add(models.ProjectStageChange(project_id=project.id, stage=STAGES[step],
                                             changed_at=at + timedelta(days=50 * step)))
        await s.commit()
    return gathering_ids


async def run_gatherings(sessions: Any, gathering_ids: list[str], rng: random.Random) -> int:
    """Each gathering as it would run; the number of commands executed."""
    from sqlalchemy import select

    from facilitation import Actor, Role
    from facilitation import commands as c
    from rooms.live import LiveRooms
    from rooms.models import Gathering, Membership, Person
    from rooms.store import GatheringStore

    store = GatheringStore(sessions)
    commands = 0
    for gid in gathering_ids:
        async with sessions() as s:
            gathering = await s.get(Gathering, gid)
            assert gathering is not None
            rows = (await s.execute(
                select(Person, Membership.role).join(Membership,
                                                     Membership.person_id == Person.id)
                .where(Membership.theme_id == gathering.theme_id))).all()
        clock = [gathering.starts_at.timestamp()]
        live = LiveRooms(store, publish=nobody, clock=reading(clock))
        people = [Actor(p.id, p.name, Role(role),
                        p.municipality.name if p.municipality else None) for p, role in rows]
        runner = next(a for a in people if a.role is Role.FACILITATOR)
        await live.execute(runner, gid, c.OpenRoom(), f"open-{gid}")
        come = [a for a in people if a.role is not Role.PARTICIPANT or rng.random() < 0.7]
        for actor in come:
            await live.execute(actor, gid, c.JoinRoom())
        current = None
        for item in gathering.items:
            clock[0] += 600
            await live.execute(runner, gid, c.NextItem(from_item=current), f"next-{item.id}")
            current = item.id
            for k, actor in enumerate(rng.sample(come, min(5, len(come)))):
                await live.execute(actor, gid, c.SendChat(text=f"Innspill {k}"),
                                   f"chat-{gid}-{item.id}-{actor.person_id}")
        await live.execute(runner, gid, c.EndGathering(), f"end-{gid}")
        commands += 4 + len(come) + len(gathering.items) * 6
    return commands


def report(what: str, times: list[float]) -> None:
    print(f"{what}: first {times[0]:.0f} ms, median {statistics.median(times):.0f} ms, "
          f"slowest {max(times):.0f} ms ({len(times)} renders)")


async def main(municipalities: int, renders: int) -> None:
    from aiohttp import ClientSession
    from aiohttp.test_utils import TestServer

    from rooms.accounts import start_session
    from rooms.db import create_engine, sessionmaker
    from rooms.migrate import upgrade
    from server.app import create_app
    from server.settings import SESSION_COOKIE, Settings

    rng = random.Random(9)
    with tempfile.TemporaryDirectory(prefix="bench-overview-") as folder:
        url = f"sqlite:///{Path(folder) / 'forum.db'}"
        engine = create_engine(url)
        await upgrade(engine)
        sessions = sessionmaker(engine)
        began = time.perf_counter()
        gathering_ids = await build_year(sessions, municipalities, rng)
        commands = await run_gatherings(sessions, gathering_ids, rng)
        print(f"built a year: {len(gathering_ids)} gatherings, {municipalities} municipalities, "
              f"{commands} commands, in {time.perf_counter() - began:.1f} s")
        from sqlalchemy import select

        from rooms.models import Person
        async with sessions() as s:
            lead_id = await s.scalar(select(Person.id).where(Person.is_programme_lead))
        assert lead_id is not None
        token = await start_session(sessions, lead_id, days=1)
        from rooms.overview import overview
        from rooms.store import GatheringStore
        times = []
        for _ in range(renders):
            start = time.perf_counter()
            await overview(sessions, GatheringStore(sessions), YEAR)
            times.append((time.perf_counter() - start) * 1000)
        report("the overview's queries and folds alone", times)
        await engine.dispose()

        server = TestServer(create_app(Settings(database_url=url, secret_key="bench",
                                                host="127.0.0.1")), host="127.0.0.1")
        await server.start_server()
        try:
            async with ClientSession(cookies={SESSION_COOKIE: token}) as http:
                for what, path in [("overview page", f"/overview?year={YEAR}"),
                                   ("one gathering", f"/overview/g/{gathering_ids[0]}"),
                                   ("attendance CSV", f"/overview/municipalities.csv?year={YEAR}")]:
                    times = []
                    for _ in range(renders):
                        start = time.perf_counter()
                        async with http.get(server.make_url(path)) as response:
                            body = await response.read()
                            assert response.status == 200, (path, response.status)
                        times.append((time.perf_counter() - start) * 1000)
                    report(f"{what} ({len(body) // 1024} KB)", times)
        finally:
            await server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--municipalities", type=int, default=60)
    parser.add_argument("--renders", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.municipalities, args.renders))
