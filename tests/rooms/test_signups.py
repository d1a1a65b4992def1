"""The sign-ups' queries on SQLite and PostgreSQL alike: an answer replaced, the runners'
list, a proposal kept and read back for the live decision, and whom the reminder is still
for once some are claimed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation.state import AdvanceGroups, BreakoutPlan, Group, GroupingRule, Member
from rooms import signups
from rooms.once import claim
from tests.factories import add_gathering, build_world

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
KIND = "gathering_reminder"


async def test_sign_ups_read_the_same_on_every_database(db: async_sessionmaker) -> None:
    world = await build_world(db)
    gathering = await add_gathering(db, world.theme, 2, starts_at=NOW + timedelta(days=1))
    await signups.sign_up(db, world.alice, gathering.id, answer="not_coming", wish="",
                          now=NOW)
    await signups.sign_up(db, world.alice, gathering.id, answer="coming", wish="Innkjøp",
                          now=NOW)
    await signups.sign_up(db, world.bjorn, gathering.id, answer="coming", wish="", now=NOW)
    with pytest.raises(signups.NotAllowed):
        await signups.sign_up(db, world.outsider, gathering.id, answer="coming", wish="",
                              now=NOW)
    with pytest.raises(signups.Closed):
        await signups.sign_up(db, world.bjorn, gathering.id, answer="not_coming", wish="",
                              now=NOW + timedelta(days=1))
    answers = await signups.answers(db, gathering)
    assert [(a.name, a.answer, a.wish, a.municipality, a.participant) for a in answers] == [
        ("Alice Askvik", "coming", "Innkjøp", "Askvik kommune", True),
        ("Bjørn Brekke", "coming", "", "Brekke kommune", True)]

    plan = BreakoutPlan(rule=GroupingRule.MIXED, group_size=3)
    groups = (Group("g1", "Gruppe 1", (Member(world.alice.id, "Alice Askvik", "Askvik kommune",
                                              "oppstart", ("skole",)),)),)
    with pytest.raises(signups.NotAllowed):
        await signups.save_proposal(db, world.alice, gathering.id,
                                    AdvanceGroups(7, plan, groups), NOW)
    await signups.save_proposal(db, world.facilitator, gathering.id,
                                AdvanceGroups(7, plan, groups), NOW)
    await signups.save_proposal(db, world.facilitator, gathering.id,
                                AdvanceGroups(8, plan, ()), NOW)
    assert set(await signups.advance_groups(db, gathering.id)) == {
        AdvanceGroups(7, plan, groups), AdvanceGroups(8, plan, ())}

    due = await signups.reminders_due(db, NOW, KIND)
    assert [(g.id, [p.name for p in people]) for g, people in due] == [
        (gathering.id, ["Alice Askvik", "Bjørn Brekke"])]
    assert await claim(db, KIND, f"{gathering.id}:{world.alice.id}", NOW)
    due = await signups.reminders_due(db, NOW, KIND)
    assert [[p.name for p in people] for _, people in due] == [["Bjørn Brekke"]]
    assert await signups.reminders_due(db, NOW - timedelta(hours=3), KIND) == []
