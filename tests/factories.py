"""Small, explicit test data: a theme with a gathering and the people around it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.models import (
    AgendaItem,
    Gathering,
    Membership,
    Municipality,
    Person,
    ProjectStage,
    Theme,
)


@dataclass
class World:
    theme: Theme
    other_theme: Theme
    gathering: Gathering
    other_gathering: Gathering
    facilitator: Person
    cofacilitator: Person
    alice: Person  # participant, Askvik kommune
    bjorn: Person  # participant, Brekke kommune
    expert: Person
    observer: Person
    outsider: Person  # participant in the other theme only
    lead: Person  # programme lead


AGENDA = [
    ("welcome", "Velkommen og innsjekk", 10),
    ("expert_talk", "Innlegg: matsvinn i skolen", 20),
    ("breakout", "Grupperom etter prosjektfase", 25),
    ("wrap_up", "Oppsummering", 5),
]


async def build_world(sessions: async_sessionmaker) -> World:
    async with sessions() as s:
        s.add_all([ProjectStage(slug="oppstart", name="Oppstart", position=1),
                   ProjectStage(slug="gjennomforing", name="Gjennomføring", position=2),
                   ProjectStage(slug="videreforing", name="Videreføring", position=3)])
        theme = Theme(slug="mat", name="Mat og matsvinn", description="")
        other = Theme(slug="areal", name="Arealplanlegging", description="")
        askvik = Municipality(name="Askvik kommune")
        brekke = Municipality(name="Brekke kommune")
        s.add_all([theme, other, askvik, brekke])
        await s.flush()

        def person(email: str, name: str, municipality: Municipality | None = None,
                   lead: bool = False) -> Person:
            p = Person(email=email, name=name, is_programme_lead=lead,
                       municipality_id=municipality.id if municipality else None)
            s.add(p)
            return p

        people = {
            "facilitator": person("fasilitator@example.org", "Frida Fasilitator"),
            "cofacilitator": person("kofasilitator@example.org", "Kari Kofasilitator"),
            "alice": person("alice@example.org", "Alice Askvik", askvik),
            "bjorn": person("bjorn@example.org", "Bjørn Brekke", brekke),
            "expert": person("ekspert@example.org", "Eva Ekspert"),
            "observer": person("observator@example.org", "Ola Observatør"),
            "outsider": person("utenfor@example.org", "Ulf Utenfor", brekke),
            "lead": person("leder@example.org", "Per Programleder", lead=True),
        }
        await s.flush()
        roles = {"facilitator": "facilitator", "cofacilitator": "facilitator",
                 "alice": "participant", "bjorn": "participant", "expert": "expert",
                 "observer": "observer"}
        s.add_all(Membership(person_id=people[k].id, theme_id=theme.id, role=r)
                  for k, r in roles.items())
        s.add(Membership(person_id=people["outsider"].id, theme_id=other.id, role="participant"))

        def gathering(t: Theme, number: int) -> Gathering:
            g = Gathering(theme_id=t.id, year=2026, number=number, title=f"Samling {number}",
                          starts_at=datetime(2026, 12, 3, 9, 0, tzinfo=UTC), planned_minutes=60)
            g.items = [AgendaItem(position=i, kind=k, title=title, planned_minutes=m)
                       for i, (k, title, m) in enumerate(AGENDA)]
            s.add(g)
            return g

        g1 = gathering(theme, 1)
        g2 = gathering(other, 1)
        await s.commit()
    return World(theme=theme, other_theme=other, gathering=g1, other_gathering=g2, **people)


async def add_gathering(sessions: async_sessionmaker, theme: Theme, number: int,
                        starts_at: datetime | None = None, planned_minutes: int = 60,
                        agenda: list[tuple[str, str, int]] | None = None,
                        title: str | None = None) -> Gathering:
    """Another gathering of a theme (the world has one per theme)."""
    async with sessions() as s:
        g = Gathering(theme_id=theme.id, year=2026, number=number,
                      title=title or f"Samling {number}",
                      starts_at=starts_at or datetime(2026, 9, number, 9, 0, tzinfo=UTC),
                      planned_minutes=planned_minutes)
        g.items = [AgendaItem(position=i, kind=k, title=t, planned_minutes=m)
                   for i, (k, t, m) in enumerate(AGENDA if agenda is None else agenda)]
        s.add(g)
        await s.commit()
        await s.refresh(g)
        return g


async def add_participant(sessions: async_sessionmaker, theme: Theme, email: str, name: str,
                          municipality_id: int | None = None) -> Person:
    """Another participant of a theme (the world's are Alice and Bjørn)."""
    async with sessions() as s:
        person = Person(email=email, name=name, municipality_id=municipality_id)
        s.add(person)
        await s.flush()
        s.add(Membership(person_id=person.id, theme_id=theme.id, role="participant"))
        await s.commit()
        return person
