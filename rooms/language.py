"""A person's language (Person.language: 'nb' or 'nn'), which their pages and e-mail follow."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.models import Person


async def save_language(sessions: async_sessionmaker, person_id: int, language: str) -> None:
    async with sessions() as session:
        await session.execute(update(Person).where(Person.id == person_id)
                              .values(language=language))
        await session.commit()
