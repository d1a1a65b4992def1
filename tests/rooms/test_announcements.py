"""The announcements' rules where they are kept (rooms/announcements.py): each action checks
its rights and bounds and says why it refuses; the archive holds every announcement and
reply with its audience, and gets them all back after a rebuild."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.announcements import (
    AnnouncementError,
    announcements_for,
    audience_of,
    post_announcement,
    post_reply,
    reindex,
    theme_municipalities,
    thread,
)
from rooms.forum_models import SearchDoc
from rooms.models import Municipality
from tests.factories import World


async def refusal(action: object) -> str:
    with pytest.raises(AnnouncementError) as refused:
        await action  # type: ignore[misc]
    return refused.value.code


async def test_each_action_says_why_it_refuses(sessions: async_sessionmaker,
                                                world: World) -> None:
    mat = world.theme.id
    assert await refusal(post_announcement(sessions, world.alice, theme_id=mat, title="Hei",
                                           body="Hei")) == "not_allowed"
    assert await refusal(post_announcement(sessions, world.facilitator, theme_id=None,
                                           title="Hei", body="Hei")) == "not_allowed"
    assert await refusal(post_announcement(sessions, world.facilitator,
                                           theme_id=world.other_theme.id, title="Hei",
                                           body="Hei")) == "not_allowed"
    assert await refusal(post_announcement(sessions, world.facilitator, theme_id=mat,
                                           title=" \n ", body="Hei")) == "bounds"
    assert await refusal(post_announcement(sessions, world.facilitator, theme_id=mat,
                                           title="Hei", body="x" * 20_001)) == "bounds"
    async with sessions() as session, session.begin():
        elsewhere = Municipality(name="Cedervik kommune")
        session.add(elsewhere)
    assert [m.name for m in await theme_municipalities(sessions, mat)] == [
        "Askvik kommune", "Brekke kommune"]
    assert await refusal(post_announcement(sessions, world.facilitator, theme_id=mat,
                                           title="Hei", body="Hei",
                                           municipality_ids=(elsewhere.id,))) == "audience"
    assert await refusal(post_announcement(sessions, world.lead, theme_id=None, title="Hei",
                                           body="Hei", municipality_ids=(1,))) == "audience"
    made = await post_announcement(sessions, world.facilitator, theme_id=mat, title="  Bare  "
                                   "Askvik ", body="Hei", municipality_ids=(
                                       world.alice.municipality_id or 0,))
    assert made.title == "Bare Askvik"
    assert await refusal(post_reply(sessions, world.bjorn, made.id, "Hei")) == "not_found"
    assert await refusal(post_reply(sessions, world.alice, made.id, "x" * 5001)) == "bounds"
    assert await refusal(thread(sessions, world.outsider, made.id)) == "not_found"
    assert await refusal(thread(sessions, world.alice, made.id,
                                world.other_theme.id)) == "not_found"
    assert [a.title for a in await announcements_for(sessions, world.alice, mat)] == [
        "Bare Askvik"]
    assert await announcements_for(sessions, world.bjorn, mat) == []
    assert await announcements_for(sessions, world.outsider, mat) == []
    assert {p.name for p in await audience_of(sessions, made.id)} == {
        "Alice Askvik", "Kari Kofasilitator"}


async def test_the_archive_gets_every_announcement_and_reply_back(
        sessions: async_sessionmaker, world: World) -> None:
    everyone = await post_announcement(sessions, world.lead, theme_id=None, title="Til alle",
                                       body="Hei alle")
    mine = await post_announcement(sessions, world.facilitator, theme_id=world.theme.id,
                                   title="Til temaet", body="Hei tema")
    await post_reply(sessions, world.outsider, everyone.id, "Takk fra areal")
    await post_reply(sessions, world.alice, mine.id, "Takk fra mat")
    assert len(await audience_of(sessions, everyone.id)) == 8 - 1  # all but the lead

    async def archive() -> list[tuple[str, str, int | None]]:
        async with sessions() as session:
            return [(d.kind, d.url.split("#")[1], d.theme_id) for d in await session.scalars(
                select(SearchDoc).order_by(SearchDoc.kind, SearchDoc.ref))]

    before = await archive()
    assert before == [
        ("announcement", f"announcement-{everyone.id}", None),
        ("announcement", f"announcement-{mine.id}", world.theme.id),
        ("reply", "reply-1", None), ("reply", "reply-2", world.theme.id)]
    async with sessions() as session, session.begin():
        await session.execute(delete(SearchDoc))
    assert await reindex(sessions) == 4
    assert await archive() == before


async def test_the_list_comes_newest_first_a_page_at_a_time(sessions: async_sessionmaker,
                                                             world: World) -> None:
    for n in range(1, 4):
        await post_announcement(sessions, world.facilitator, theme_id=world.theme.id,
                                title=f"Nummer {n}", body="Hei")
    first = await announcements_for(sessions, world.alice, world.theme.id, limit=2)
    rest = await announcements_for(sessions, world.alice, world.theme.id, limit=2, offset=2)
    assert [a.title for a in first + rest] == ["Nummer 3", "Nummer 2", "Nummer 1"]
