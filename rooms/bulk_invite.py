"""Sign-in links for everyone in a theme who is waiting for one: the contact people a grant
import added, for example, who are members but were never sent anything.

Waiting means: never signed in (no link of theirs used, no browser of theirs signed in), no
link out that still works, and no links taken back (those stay taken back; the people page
sends such a person a new link one at a time)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.invitations import Invited, PersonStatus, _new_invitation
from rooms.models import Invitation, Membership, Person, WebSession


def waiting(people: list[PersonStatus]) -> list[PersonStatus]:
    """The theme's members (as `people_status` tells them) who are waiting for a link."""
    return [p for p in people if not (p.signed_in or p.pending or p.revoked)]


async def invite_waiting(sessions: async_sessionmaker, theme_id: int, *, days: int
                         ) -> list[Invited]:
    """A new sign-in link for each member of the theme who is waiting for one, in one
    transaction; the links, for the caller to mail after it. A second call finds nobody."""
    now = datetime.now(UTC)
    had_link = exists().where(Invitation.person_id == Person.id, or_(
        Invitation.used_at.is_not(None), Invitation.revoked_at.is_not(None),
        Invitation.expires_at > now))
    signed_in = exists().where(WebSession.person_id == Person.id)
    async with sessions() as session:
        # the theme's memberships locked (PostgreSQL): two presses at once send once
        await session.execute(select(Membership.id).where(Membership.theme_id == theme_id)
                              .with_for_update())
        people = list(await session.scalars(
            select(Person).join(Membership, Membership.person_id == Person.id)
            .where(Membership.theme_id == theme_id, ~had_link, ~signed_in)
            .order_by(Person.name, Person.id)))
        invited = [Invited(p.id, p.email, _new_invitation(session, p.id, days),
                           p.language or "nb") for p in people]
        await session.commit()
    return invited
