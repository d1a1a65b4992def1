"""Who gets which e-mail: a theme's members, and each person's choice to stop the
non-essential mail (`Person.mail_opt_out`; sign-in links and invitations always go)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.models import Membership, Person


async def theme_members(sessions: async_sessionmaker, theme_id: int) -> list[Person]:
    """Everyone with a role in the theme, once each, in a stable order."""
    async with sessions() as session:
        people = await session.scalars(
            select(Person).join(Membership, Membership.person_id == Person.id)
            .where(Membership.theme_id == theme_id).order_by(Person.id))
        return list(people.unique())


async def person_by_id(sessions: async_sessionmaker, person_id: int) -> Person | None:
    async with sessions() as session:
        return await session.get(Person, person_id)


async def set_mail_opt_out(sessions: async_sessionmaker, person_id: int,
                           opt_out: bool) -> bool:
    """Stop (True) or resume (False) the person's non-essential mail; False if they are gone."""
    async with sessions() as session, session.begin():
        person = await session.get(Person, person_id)
        if person is None:
            return False
        person.mail_opt_out = opt_out
        return True
