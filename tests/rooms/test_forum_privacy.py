"""The forum's tables in "Mine data" and in erasure (rooms/forum_privacy.py), on SQLite and
PostgreSQL: what Alice wrote is in her download; erasing her deletes what was hers alone and
leaves her help request to the theme, without her name."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.forum_models import ForumMessage, HelpRequest, SignUp, TakeHomeLink
from rooms.models import Person
from rooms.privacy import DELETED_NAME, erase_person, personal_data
from tests.factories import World, build_world

NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def sessions(db: async_sessionmaker) -> async_sessionmaker:
    return db


async def alice_in_the_forum(sessions: async_sessionmaker, world: World) -> None:
    async with sessions() as s, s.begin():
        s.add(HelpRequest(theme_id=world.theme.id, author_id=world.alice.id, tags=[],
                          title="Matsvinn i skolekjøkken", created_at=NOW,
                          body="Hvordan målte dere? Hilsen Alice Askvik"))
        s.add(ForumMessage(sender_id=world.bjorn.id, recipient_id=world.alice.id,
                           body="Hei Alice", created_at=NOW))
        s.add(SignUp(gathering_id=world.gathering.id, person_id=world.alice.id,
                     answer="coming", wish="Lære om måling", updated_at=NOW))
        s.add(TakeHomeLink(person_id=world.alice.id, gathering_id=world.gathering.id,
                           token_hash="f" * 64, created_at=NOW, expires_at=NOW))
        alice = await s.get(Person, world.alice.id)
        assert alice is not None
        alice.show_email, alice.notify = True, "instant"


async def test_alices_forum_posts_are_in_her_download_without_secrets(
        sessions: async_sessionmaker) -> None:
    world = await build_world(sessions)
    await alice_in_the_forum(sessions, world)
    data = await personal_data(sessions, world.alice.id)
    assert data is not None
    forum = data["forum"]
    assert [r["title"] for r in forum["help_requests"]] == ["Matsvinn i skolekjøkken"]
    assert [r["body"] for r in forum["forum_messages"]] == ["Hei Alice"]
    assert [r["wish"] for r in forum["sign_ups"]] == ["Lære om måling"]
    assert "token_hash" not in json.dumps(forum)
    bjorn = await personal_data(sessions, world.bjorn.id)
    assert bjorn is not None and bjorn["forum"]["help_requests"] == []


async def test_erasing_alice_deletes_what_was_hers_alone_and_keeps_her_request_nameless(
        sessions: async_sessionmaker) -> None:
    world = await build_world(sessions)
    await alice_in_the_forum(sessions, world)
    await erase_person(sessions, world.alice.id, by=world.lead.id)
    async with sessions() as s:
        for model in (ForumMessage, SignUp, TakeHomeLink):
            assert await s.scalar(select(func.count()).select_from(model)) == 0
        request = await s.scalar(select(HelpRequest))
        assert request is not None and request.author_id == world.alice.id
        assert "Alice Askvik" not in request.body and DELETED_NAME in request.body
        alice = await s.get(Person, world.alice.id)
        assert alice is not None and not alice.show_email and alice.notify == "never"
