"""Demo data that makes the forum look real. Every name is invented; addresses are example.org."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitation import Role
from rooms.accounts import create_invitation
from rooms.models import (
    AgendaItem,
    Gathering,
    Membership,
    Municipality,
    Person,
    Project,
    Theme,
)
from rooms.programme import ensure_programme
from server.cli.demo_forum import load_forum_demo
from server.formatting import local_zone

# theme -> (month, day, title, expert talk) for gatherings 1-4
GATHERINGS = {
    "mat": [(2, 5, "Oppstart: slik kartlegger vi matsvinn", "Måling av matsvinn i praksis"),
            (4, 23, "Innkjøp og menyplanlegging", "Klimavennlige menyer i storkjøkken"),
            (9, 17, "Matsvinn i skole og barnehage", "Erfaringer fra skolematprosjekter"),
            (11, 19, "Resultater og veien videre", "Slik dokumenterer dere kuttene")],
    "sirkular": [(2, 12, "Ombrukslager i kommunen", "Fra lagerhylle til ombruk"),
                 (4, 30, "Sirkulære anskaffelser", "Krav og kriterier som virker"),
                 (9, 24, "Ombruk av byggematerialer", "Kartlegging før riving"),
                 (11, 26, "Deling og reparasjon i lokalsamfunnet", "Bibliotek for utstyr")],
    "areal": [(2, 19, "Klimagassregnskap for arealplaner", "Verktøy for arealregnskap"),
              (5, 7, "Myr og karbonrike arealer", "Karbonlagre i myr og skog"),
              (10, 1, "Fortetting rundt knutepunkt", "Fortetting med kvalitet"),
              (12, 3, "Arealnøytralitet i praksis", "Arealnøytralitet: fra vedtak til plan")],
}


def agenda(expert_talk: str) -> list[tuple[str, str, int]]:
    return [("welcome", "Velkommen og innsjekk", 10),
            ("expert_talk", f"Innlegg: {expert_talk}", 25),
            ("qa", "Spørsmål og svar", 15),
            ("break", "Pause", 10),
            ("breakout", "Grupperom etter prosjektfase", 35),
            ("plenary", "Deling i plenum", 20),
            ("wrap_up", "Oppsummering og veien videre", 5)]


MUNICIPALITIES = [
    ("Fjordvik kommune", False), ("Solåsen kommune", False), ("Havbrekke kommune", False),
    ("Lyngmo kommune", False), ("Granlia kommune", False), ("Elvheim kommune", False),
    ("Nordtind kommune", False), ("Vikstrand kommune", False), ("Myrvang kommune", False),
    ("Bergelia kommune", False), ("Vestkyst fylkeskommune", True),
    ("Innlandsdal fylkeskommune", True),
]

# (municipality, theme, title, stage, tags, years before this one the grant was given)
PROJECTS = [
    ("Fjordvik kommune", "mat", "Matsvinnfrie sykehjem", "gjennomforing",
     ["sykehjem", "måling"], 1),
    ("Solåsen kommune", "mat", "Prosjektleder for klimavennlig skolemat", "oppstart",
     ["skolemat", "ansettelse"], 1),
    ("Havbrekke kommune", "mat", "Felles innkjøp av klimavennlig mat", "oppstart",
     ["anskaffelse"], 1),
    ("Lyngmo kommune", "mat", "Overskuddsmat til frivilligheten", "videreforing",
     ["frivillighet", "ombruk"], 2),
    ("Vestkyst fylkeskommune", "mat", "Matsvinn i videregående skoler", "gjennomforing",
     ["skolemat", "måling"], 2),
    ("Granlia kommune", "sirkular", "Kommunalt ombrukslager for møbler", "gjennomforing",
     ["ombruk", "møbler"], 1),
    ("Elvheim kommune", "sirkular", "Ombruk av byggematerialer fra riving", "oppstart",
     ["bygg", "anskaffelse"], 1),
    ("Nordtind kommune", "sirkular", "Utstyrsbibliotek i alle bydeler", "videreforing",
     ["deling"], 2),
    ("Fjordvik kommune", "sirkular", "Sirkulære krav i anskaffelser", "oppstart",
     ["anskaffelse"], 1),
    ("Innlandsdal fylkeskommune", "sirkular", "Reparasjonsverksted i skolene", "gjennomforing",
     ["reparasjon", "skole"], 2),
    ("Vikstrand kommune", "areal", "Klimagassregnskap for kommuneplanens arealdel", "gjennomforing",
     ["klimagassregnskap", "kommuneplan"], 1),
    ("Myrvang kommune", "areal", "Kartlegging av myr og karbonrike arealer", "oppstart",
     ["myr", "kartlegging"], 1),
    ("Bergelia kommune", "areal", "Fortetting rundt kollektivknutepunktet", "videreforing",
     ["fortetting", "knutepunkt"], 2),
    ("Solåsen kommune", "areal", "Arealnøytral kommuneplan", "oppstart",
     ["arealnøytralitet"], 1),
    ("Innlandsdal fylkeskommune", "areal", "Regional plan for arealbruk", "gjennomforing",
     ["regional plan"], 2),
]

# (email, name, title, municipality or None, {theme: role}, programme lead)
PEOPLE: list[tuple[str, str, str, str | None, dict[str, Role], bool]] = [
    ("prosjektleder@example.org", "Kristin Bakke", "Prosjektleder", None, {}, True),
    ("temaleder.mat@example.org", "Silje Haugland", "Temaleder", None,
     {"mat": Role.FACILITATOR}, False),
    ("temaleder.sirkular@example.org", "Tor Eriksrud", "Temaleder", None,
     {"sirkular": Role.FACILITATOR}, False),
    ("temaleder.areal@example.org", "Marte Lien", "Temaleder", None,
     {"areal": Role.FACILITATOR}, False),
    ("forsker@example.org", "Anders Vold", "Forsker", None,
     {"mat": Role.EXPERT, "sirkular": Role.EXPERT}, False),
    ("radgiver@example.org", "Nina Solheim", "Seniorrådgiver", None,
     {"areal": Role.EXPERT, "mat": Role.EXPERT}, False),
    ("ingrid.fjeld@example.org", "Ingrid Fjeld", "Klimarådgiver", "Fjordvik kommune",
     {"mat": Role.PARTICIPANT, "sirkular": Role.PARTICIPANT}, False),
    ("ola.nygard@example.org", "Ola Nygård", "Innkjøpsrådgiver", "Fjordvik kommune",
     {"sirkular": Role.PARTICIPANT}, False),
    ("hilde.moen@example.org", "Hilde Moen", "Prosjektleder", "Solåsen kommune",
     {"mat": Role.PARTICIPANT}, False),
    ("jonas.berg@example.org", "Jonas Berg", "Arealplanlegger", "Solåsen kommune",
     {"areal": Role.PARTICIPANT}, False),
    ("kari.strand@example.org", "Kari Strand", "Innkjøpsleder", "Havbrekke kommune",
     {"mat": Role.PARTICIPANT}, False),
    ("per.lunde@example.org", "Per Lunde", "Frivillighetskoordinator", "Lyngmo kommune",
     {"mat": Role.PARTICIPANT}, False),
    ("aisha.rahman@example.org", "Aisha Rahman", "Prosjektleder", "Granlia kommune",
     {"sirkular": Role.PARTICIPANT}, False),
    ("erik.dahl@example.org", "Erik Dahl", "Eiendomssjef", "Elvheim kommune",
     {"sirkular": Role.PARTICIPANT}, False),
    ("liv.sand@example.org", "Liv Sand", "Klimarådgiver", "Nordtind kommune",
     {"sirkular": Role.PARTICIPANT}, False),
    ("magnus.holm@example.org", "Magnus Holm", "Planlegger", "Vikstrand kommune",
     {"areal": Role.PARTICIPANT}, False),
    ("sara.aas@example.org", "Sara Aas", "Naturforvalter", "Myrvang kommune",
     {"areal": Role.PARTICIPANT}, False),
    ("tone.vik@example.org", "Tone Vik", "Plansjef", "Bergelia kommune",
     {"areal": Role.PARTICIPANT}, False),
    ("lars.foss@example.org", "Lars Foss", "Rådgiver", "Vestkyst fylkeskommune",
     {"mat": Role.PARTICIPANT}, False),
    ("marit.engen@example.org", "Marit Engen", "Regionalplanlegger", "Innlandsdal fylkeskommune",
     {"areal": Role.PARTICIPANT, "sirkular": Role.PARTICIPANT}, False),
]

# Who `forum demo` prints sign-in links for.
DEMO_SIGN_INS = [("facilitator (mat)", "temaleder.mat@example.org"),
                 ("participant (mat)", "ingrid.fjeld@example.org"),
                 ("programme lead", "prosjektleder@example.org"),
                 ("expert (mat, sirkular)", "forsker@example.org")]

STARTS_AT_HOUR = 9  # local time in Norway


def _gatherings(theme: Theme, year: int) -> list[Gathering]:
    gatherings = []
    for number, (month, day, title, talk) in enumerate(GATHERINGS[theme.slug], start=1):
        items = [AgendaItem(position=i, kind=kind, title=item, planned_minutes=minutes)
                 for i, (kind, item, minutes) in enumerate(agenda(talk))]
        starts_at = datetime(year, month, day, STARTS_AT_HOUR, tzinfo=local_zone()).astimezone(UTC)
        gatherings.append(Gathering(theme_id=theme.id, year=year, number=number, title=title,
                                    starts_at=starts_at, items=items,
                                    planned_minutes=sum(i.planned_minutes for i in items)))
    return gatherings


async def _load(session: AsyncSession, year: int) -> None:
    themes, _ = await ensure_programme(session)
    municipalities = {name: Municipality(name=name, county=county)
                      for name, county in MUNICIPALITIES}
    session.add_all(municipalities.values())
    await session.flush()
    for theme in themes.values():
        session.add_all(_gatherings(theme, year))
    session.add_all(
        Project(municipality_id=municipalities[m].id, theme_id=themes[t].id, title=title,
                stage=stage, tags=tags, grant_year=year - years_ago)
        for m, t, title, stage, tags, years_ago in PROJECTS)
    for email, name, title, municipality, roles, lead in PEOPLE:
        person = Person(email=email, name=name, title=title, is_programme_lead=lead,
                        municipality_id=municipalities[municipality].id if municipality else None)
        session.add(person)
        await session.flush()
        session.add_all(Membership(person_id=person.id, theme_id=themes[t].id, role=r.value)
                        for t, r in roles.items())


async def load_demo(sessions: async_sessionmaker, year: int | None = None) -> bool:
    """Load the demo data into an empty forum. False (and no change) if it has any theme."""
    async with sessions() as session:
        if await session.scalar(select(Theme.id).limit(1)) is not None:
            return False
        await _load(session, year or datetime.now(UTC).year)
        await session.commit()
    await load_forum_demo(sessions)
    return True


@dataclass(frozen=True)
class DemoSignIn:
    label: str
    name: str
    email: str
    token: str


async def demo_sign_ins(sessions: async_sessionmaker, *, days: int) -> list[DemoSignIn]:
    """Fresh links, reusable until they expire, for the demo people who exist."""
    links = []
    for label, email in DEMO_SIGN_INS:
        async with sessions() as session:
            person = await session.scalar(select(Person).where(Person.email == email))
        if person is not None:
            token = await create_invitation(sessions, person.id, days=days, reusable=True)
            links.append(DemoSignIn(label, person.name, email, token))
    return links
