"""The theme home's queries on SQLite and PostgreSQL alike: the unread counts in one query,
what is new between two moments, the next gathering with its questions and sign-ups, the
visits, and which once-only keys are claimed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation.digest import Choice, ItemKind
from rooms import forum_home
from rooms.forum_models import (
    AdvanceQuestion,
    AdvanceVote,
    Announcement,
    AnnouncementReply,
    FollowUp,
    HelpAnswer,
    HelpRequest,
    SignUp,
)
from rooms.models import Person
from rooms.once import claim
from tests.factories import add_gathering, build_world

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


def before(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


async def test_the_home_reads_the_same_on_every_database(db: async_sessionmaker) -> None:
    world = await build_world(db)
    askvik = world.alice.municipality_id
    assert askvik is not None
    async with db() as session, session.begin():
        targeted = Announcement(theme_id=world.theme.id, author_id=world.facilitator.id,
                                title="Bare Askvik", body=".", municipality_ids=[askvik],
                                created_at=before(hours=5))
        everyone = Announcement(theme_id=None, author_id=world.lead.id, title="Alle",
                                body=".", created_at=before(hours=4))
        asked = HelpRequest(theme_id=world.theme.id, author_id=world.alice.id, title="Spør",
                            body=".", created_at=before(days=20))
        session.add_all([targeted, everyone, asked])
        await session.flush()
        session.add_all([
            AnnouncementReply(announcement_id=targeted.id, author_id=world.alice.id,
                              body=".", created_at=before(hours=3)),
            HelpAnswer(request_id=asked.id, author_id=world.bjorn.id, body=".",
                       created_at=before(hours=2)),
            FollowUp(theme_id=world.theme.id, municipality_id=askvik, text="Prøve",
                     created_at=before(days=30), updated_at=before(hours=1),
                     updated_by=world.alice.id, status="doing")])

    items = await forum_home.items_between(db, before(days=1), NOW, [world.theme.id])
    assert [i.kind for i in items] == [ItemKind.ANNOUNCEMENT, ItemKind.ANNOUNCEMENT,
                                       ItemKind.REPLY, ItemKind.ANSWER, ItemKind.FOLLOW_UP]
    assert items[0].audience == frozenset({askvik}) and items[2].audience == {askvik}
    assert items[1].url == f"/themes/*/announcements/{everyone.id}"
    assert forum_home.place(items[1].url, "mat") == f"/themes/mat/announcements/{everyone.id}"
    assert len(await forum_home.items_between(db, before(days=1), NOW, [world.other_theme.id])
               ) == 1  # the one to every theme

    async def counts(person: Person) -> dict[str, int]:
        return {u.slug: u.count for u in await forum_home.unread_counts(db, person, NOW)}

    # first visits: the last 14 days (the help request itself is older)
    assert await counts(world.bjorn) == {"mat": 2}  # not Askvik's two, not his answer
    assert await counts(world.alice) == {"mat": 3}  # Askvik's too, not her reply or update
    assert await counts(world.facilitator) == {"mat": 4}  # every audience but his own
    assert await counts(world.outsider) == {"areal": 1}
    assert await counts(world.lead) == {"mat": 4, "areal": 0}  # not his own
    assert await forum_home.mark_seen(db, world.alice.id, world.theme.id, before(hours=2)) is None
    assert await forum_home.mark_seen(db, world.alice.id, world.theme.id, NOW) == before(hours=2)
    assert await counts(world.alice) == {"mat": 0}

    gathering = await add_gathering(db, world.theme, 2, starts_at=NOW + timedelta(days=3))
    async with db() as session, session.begin():
        one = AdvanceQuestion(gathering_id=gathering.id, author_id=world.alice.id, text="A",
                              created_at=before(days=2))
        two = AdvanceQuestion(gathering_id=gathering.id, author_id=world.bjorn.id, text="B",
                              created_at=before(days=1))
        session.add_all([one, two])
        await session.flush()
        session.add_all([AdvanceVote(question_id=two.id, person_id=world.alice.id),
                         SignUp(gathering_id=gathering.id, person_id=world.alice.id,
                                answer="colleague", updated_at=NOW)])
    upcoming = await forum_home.next_gathering(db, world.theme.id, NOW)
    assert upcoming is not None and upcoming.gathering.id == gathering.id
    assert [(q.text, q.votes) for q in upcoming.questions] == [("B", 1), ("A", 0)]
    assert (upcoming.coming, upcoming.not_coming, upcoming.colleague) == (0, 0, 1)
    follow_ups = await forum_home.open_follow_ups(db, world.theme.id, world.bjorn.municipality_id)
    assert [(f.text, f.ours) for f in follow_ups] == [("Prøve", False)]
    helps = await forum_home.open_help_requests(db, world.theme.id)
    assert [(h.title, h.answers) for h in helps] == [("Spør", 1)]
    bjorn = await forum_home.reader_of(db, world.bjorn)
    assert [a.title for a in await forum_home.latest_announcements(db, world.theme.id, bjorn)
            ] == ["Alle"]

    assert await forum_home.set_choices(db, world.bjorn.id, notify=Choice.INSTANT)
    assert [p.id for p, _r in await forum_home.readers(db, Choice.INSTANT)] == [world.bjorn.id]
    assert await claim(db, "forum_news", "k1", NOW)
    assert await forum_home.claimed(db, "forum_news", {"k1", "k2"}) == {"k1"}
