"""The theme forum's part of the demo: in "Mat og matsvinn", an announcement from the
facilitator, a help request answered by a peer, and follow-ups from the year's last
gathering, written through the same functions as the pages (so the archive finds them)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms import announcements, follow_ups, network
from rooms.models import Gathering, Person, Theme

ANNOUNCEMENT = ("Velkommen til forumet mellom samlingene",
                "Her finner dere **oppfølgingene** fra samlingene, kan *spørre nettverket* "
                "om hjelp og finne kommuner med lignende prosjekter.")
HELP = ("Hvordan måler dere matsvinn i storkjøkken?",
        "Vi vil veie matsvinnet i sykehjemskjøkkenet. Hvilke skjema og vekter bruker dere?")
ANSWER = "Vi veier hver fredag med en vanlig kjøkkenvekt og fører det i et enkelt regneark."
# (a person of the owner municipality, what it will try)
FOLLOW_UPS = [("ingrid.fjeld@example.org", "Prøve ut veiing av tallerkensvinn på to sykehjem"),
              ("kari.strand@example.org", "Dele innkjøpsmalen for klimavennlig mat med gruppen")]


async def _person(sessions: async_sessionmaker, email: str) -> Person:
    async with sessions() as session:
        person = await session.scalar(select(Person).where(Person.email == email))
    assert person is not None, email
    return person


async def load_forum_demo(sessions: async_sessionmaker, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    async with sessions() as session:
        theme = await session.scalar(select(Theme).where(Theme.slug == "mat"))
        assert theme is not None
        held = list(await session.scalars(
            select(Gathering).where(Gathering.theme_id == theme.id, Gathering.starts_at < now)
            .order_by(Gathering.starts_at)))
    facilitator = await _person(sessions, "temaleder.mat@example.org")
    title, body = ANNOUNCEMENT
    await announcements.post_announcement(sessions, facilitator, theme_id=theme.id,
                                          title=title, body=body, now=now)
    title, body = HELP
    asked = await network.ask(sessions, await _person(sessions, "ingrid.fjeld@example.org"),
                              theme.id, title=title, body=body, now=now)
    await network.answer(sessions, await _person(sessions, "kari.strand@example.org"), asked,
                         body=ANSWER, now=now)
    if held:
        for email, text in FOLLOW_UPS:
            municipality = (await _person(sessions, email)).municipality_id
            assert municipality is not None
            await follow_ups.create(sessions, facilitator, gathering_id=held[-1].id,
                                    municipality_id=municipality, text=text, now=now)
