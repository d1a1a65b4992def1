"""Klimasats-forum's programme: its three themes and the project stages, which a new forum
needs before anything else (`forum programme`; the demo loads them too)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rooms.models import ProjectStage, Theme

STAGES = [("oppstart", "Oppstart", 1), ("gjennomforing", "Gjennomføring", 2),
          ("videreforing", "Videreføring", 3)]

THEMES = [
    ("mat", "Mat og matsvinn",
     "Mindre matsvinn i skoler, sykehjem og kantiner, og mer klimavennlig mat gjennom innkjøp."),
    ("sirkular", "Sirkulærøkonomi",
     "Ombruk, deling og reparasjon: ombrukslagre, sirkulære anskaffelser og byggematerialer."),
    ("areal", "Arealplanlegging",
     "Arealplaner som tar vare på karbonrike arealer og samler utbyggingen rundt knutepunkt."),
]


async def ensure_programme(session: AsyncSession) -> tuple[dict[str, Theme], list[str]]:
    """The programme's themes by slug, adding the stages and themes that are missing (those
    that are there are left as they are); and the slugs and names of what was added."""
    added: list[str] = []
    for slug, name, position in STAGES:
        if await session.get(ProjectStage, slug) is None:
            session.add(ProjectStage(slug=slug, name=name, position=position))
            added.append(f"stage {slug}")
    themes = {t.slug: t for t in await session.scalars(select(Theme))}
    for slug, name, text in THEMES:
        if slug not in themes:
            themes[slug] = Theme(slug=slug, name=name, description=text)
            session.add(themes[slug])
            added.append(f"theme {slug} ({name})")
    await session.flush()
    return themes, added
