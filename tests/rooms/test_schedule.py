"""The year's gatherings by their rules (rooms/schedule.py), on SQLite and PostgreSQL: who may
plan, numbers unique per theme and year, Norwegian time across daylight saving, reschedules
and cancellations with their sequence and notices, and what a live or ended room refuses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import Actor, Role
from facilitation import commands as c
from rooms.live import LiveRooms
from rooms.models import AgendaItem, Gathering, Notice, Person
from rooms.schedule import (
    CANCELLED,
    RESCHEDULED,
    ScheduleError,
    cancel_gathering,
    create_gathering,
    edit_gathering,
    notices_for,
    oslo_to_utc,
    oslo_wall,
    schedulable_themes,
)
from rooms.store import GatheringStore
from tests.factories import World, build_world


@pytest.fixture
async def world(db: async_sessionmaker) -> World:
    return await build_world(db)


async def new(db: async_sessionmaker, by: Person | None, world: World, number: int = 2,
              starts: datetime = datetime(2027, 3, 4, 9, 0), **kw: object) -> Gathering:
    fields: dict[str, object] = {"theme_id": world.theme.id, "number": number,
                                 "title": f"Samling {number}", "starts_local": starts,
                                 "minutes": 120, "template": "standard"} | kw
    return await create_gathering(db, by, **fields)  # type: ignore[arg-type]


def test_norwegian_time_across_daylight_saving() -> None:
    # winter: UTC+1; summer: UTC+2; the last Sundays of March and October switch
    assert oslo_to_utc(datetime(2027, 1, 14, 9, 0)) == datetime(2027, 1, 14, 8, 0, tzinfo=UTC)
    assert oslo_to_utc(datetime(2027, 3, 28, 9, 0)) == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)
    assert oslo_to_utc(datetime(2027, 3, 27, 9, 0)) == datetime(2027, 3, 27, 8, 0, tzinfo=UTC)
    assert oslo_to_utc(datetime(2027, 10, 31, 9, 0)) == datetime(2027, 10, 31, 8, 0, tzinfo=UTC)
    assert oslo_to_utc(datetime(2027, 10, 30, 9, 0)) == datetime(2027, 10, 30, 7, 0, tzinfo=UTC)
    # 02:30 on the last Sunday in March does not exist; in October it happens twice (the
    # first, summer time, is meant)
    with pytest.raises(ScheduleError) as skipped:
        oslo_to_utc(datetime(2027, 3, 28, 2, 30))
    assert skipped.value.code == "no_such_time"
    assert oslo_to_utc(datetime(2027, 10, 31, 2, 30)) == datetime(2027, 10, 31, 0, 30,
                                                                   tzinfo=UTC)
    assert oslo_wall(datetime(2027, 3, 28, 7, 0, tzinfo=UTC)) == datetime(2027, 3, 28, 9, 0)


async def test_the_lead_creates_a_gathering_with_an_agenda_from_a_template(
        db: async_sessionmaker, world: World) -> None:
    gathering = await new(db, world.lead, world, starts=datetime(2027, 3, 28, 9, 0))
    assert (gathering.year, gathering.number, gathering.sequence) == (2027, 2, 0)
    assert gathering.starts_at == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)  # summer time
    assert gathering.cancelled_at is None and gathering.updated_at is not None
    kinds = [item.kind for item in gathering.items]
    assert kinds == ["welcome", "expert_talk", "qa", "break", "breakout", "plenary", "wrap_up"]
    breakout = gathering.items[4]
    assert breakout.settings["rule"] == "same_stage" and breakout.settings["group_size"] == 4
    # the live room reads the agenda as the planner made it
    state = await GatheringStore(db).initial_state(gathering.id)
    assert state is not None and state.agenda[4].breakout is not None
    assert state.agenda[4].breakout.task.startswith("Del erfaringer")
    empty = await new(db, world.lead, world, number=3, template="")
    assert empty.items == []
    with pytest.raises(ScheduleError) as unknown:
        await new(db, world.lead, world, number=4, template="nope")
    assert unknown.value.code == "no_template"


async def test_who_may_plan_a_themes_gatherings(db: async_sessionmaker, world: World) -> None:
    # the theme's facilitator: their theme only; everyone else: nothing
    assert [t.slug for t in await schedulable_themes(db, world.facilitator)] == ["mat"]
    assert [t.slug for t in await schedulable_themes(db, world.lead)] == ["areal", "mat"]
    assert await schedulable_themes(db, world.alice) == []
    made = await new(db, world.facilitator, world)
    for person in (world.alice, world.expert, world.observer, world.outsider):
        with pytest.raises(ScheduleError) as refused:
            await new(db, person, world, number=3)
        assert refused.value.code == "not_allowed"
        for change in (edit_gathering(db, person, made.id, title="Nytt"),
                       cancel_gathering(db, person, made.id)):
            with pytest.raises(ScheduleError) as refused:
                await change
            assert refused.value.code == "not_allowed"
    with pytest.raises(ScheduleError) as other_theme:
        await create_gathering(db, world.facilitator, theme_id=world.other_theme.id, number=2,
                               title="Areal", starts_local=datetime(2027, 3, 4, 9), minutes=60)
    assert other_theme.value.code == "not_allowed"
    # the lead and the operator (None) everywhere
    await create_gathering(db, world.lead, theme_id=world.other_theme.id, number=2,
                           title="Areal", starts_local=datetime(2027, 3, 4, 9), minutes=60)
    await create_gathering(db, None, theme_id=world.other_theme.id, number=3,
                           title="Areal 3", starts_local=datetime(2027, 5, 4, 9), minutes=60)


async def test_numbers_are_unique_per_theme_and_year_among_gatherings_not_cancelled(
        db: async_sessionmaker, world: World) -> None:
    first = await new(db, world.lead, world, number=1)
    with pytest.raises(ScheduleError) as taken:
        await new(db, world.lead, world, number=1, starts=datetime(2027, 6, 1, 9))
    assert taken.value.code == "number_taken"
    # another year, or another theme: free
    await new(db, world.lead, world, number=1, starts=datetime(2028, 2, 1, 9))
    await create_gathering(db, world.lead, theme_id=world.other_theme.id, number=1,
                           title="Areal", starts_local=datetime(2027, 3, 4, 9), minutes=60)
    second = await new(db, world.lead, world, number=2, starts=datetime(2027, 6, 1, 9))
    with pytest.raises(ScheduleError) as renumbered:
        await edit_gathering(db, world.lead, second.id, number=1)
    assert renumbered.value.code == "number_taken"
    # the cancelled gathering's number goes to its replacement
    await cancel_gathering(db, world.lead, first.id)
    await new(db, world.lead, world, number=1, starts=datetime(2027, 2, 1, 9))
    for bad in ({"number": 0}, {"number": 5}, {"minutes": 29}, {"minutes": 481},
                {"title": "  "}, {"title": "x" * 201}):
        with pytest.raises(ScheduleError) as bounds:
            await new(db, world.lead, world, **{"number": 3, **bad})  # type: ignore[arg-type]
        assert bounds.value.code == "bounds"


async def test_two_at_once_get_one_number(db: async_sessionmaker, world: World) -> None:
    results = await asyncio.gather(
        new(db, world.lead, world, number=2, title="A"),
        new(db, world.facilitator, world, number=2, title="B"), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Gathering", "ScheduleError"]


async def test_a_reschedule_raises_the_sequence_and_leaves_a_notice(
        db: async_sessionmaker, world: World) -> None:
    gathering = await new(db, world.facilitator, world)
    moved_at = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
    change = await edit_gathering(db, world.facilitator, gathering.id,
                                  starts_local=datetime(2027, 10, 31, 10, 0), minutes=90,
                                  now=moved_at)
    assert change.rescheduled and change.changed
    assert change.previous_starts_at == datetime(2027, 3, 4, 8, 0, tzinfo=UTC)
    assert change.previous_minutes == 120
    moved = change.gathering
    assert moved.starts_at == datetime(2027, 10, 31, 9, 0, tzinfo=UTC)  # winter time again
    assert (moved.planned_minutes, moved.sequence, moved.updated_at) == (90, 1, moved_at)
    [notice] = await notices_for(db, [world.theme.id], now=moved_at)
    assert notice.kind == RESCHEDULED and notice.gathering_id == gathering.id
    assert notice.data == {"title": "Samling 2", "number": 2, "minutes": 90,
                           "previous_minutes": 120,
                           "starts_at": "2027-10-31T09:00:00+00:00",
                           "previous_starts_at": "2027-03-04T08:00:00+00:00"}
    # a new title raises the sequence too, but is no reschedule; no change changes nothing
    retitled = await edit_gathering(db, world.facilitator, gathering.id, title="Ny tittel")
    assert not retitled.rescheduled and retitled.gathering.sequence == 2
    same = await edit_gathering(db, world.facilitator, gathering.id, title="Ny tittel",
                                starts_local=datetime(2027, 10, 31, 10, 0))
    assert not same.changed and same.gathering.sequence == 2
    assert len(await notices_for(db, [world.theme.id], now=moved_at)) == 1
    assert await notices_for(db, [world.other_theme.id], now=moved_at) == []


async def test_a_cancellation_raises_the_sequence_once_and_refuses_changes_after(
        db: async_sessionmaker, world: World) -> None:
    gathering = await new(db, world.lead, world)
    at = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
    change = await cancel_gathering(db, world.lead, gathering.id, now=at)
    assert change.changed and change.gathering.cancelled_at == at
    assert change.gathering.sequence == 1
    again = await cancel_gathering(db, world.lead, gathering.id, now=at)
    assert not again.changed and again.gathering.sequence == 1
    with pytest.raises(ScheduleError) as cancelled:
        await edit_gathering(db, world.lead, gathering.id,
                             starts_local=datetime(2027, 3, 5, 9, 0))
    assert cancelled.value.code == "cancelled"
    async with db() as session:
        notices = list(await session.scalars(select(Notice).where(
            Notice.gathering_id == gathering.id)))
    assert [n.kind for n in notices] == [CANCELLED]
    assert notices[0].data["previous_starts_at"] == "2027-03-04T08:00:00+00:00"
    with pytest.raises(ScheduleError) as missing:
        await cancel_gathering(db, world.lead, "0" * 32)
    assert missing.value.code == "not_found"


async def test_a_live_or_ended_room_is_neither_moved_nor_cancelled(
        db: async_sessionmaker, world: World) -> None:
    live = LiveRooms(GatheringStore(db), publish=lambda gid, events: asyncio.sleep(0))
    frida = Actor(person_id=world.facilitator.id, name="Frida", role=Role.FACILITATOR,
                  municipality=None)
    gid = world.gathering.id
    await live.execute(frida, gid, c.OpenRoom())
    with pytest.raises(ScheduleError) as moving:
        await edit_gathering(db, world.lead, gid, minutes=90)
    assert moving.value.code == "live"
    with pytest.raises(ScheduleError) as cancelling:
        await cancel_gathering(db, world.lead, gid)
    assert cancelling.value.code == "live"
    # a new title is still fine: it is the calendar's, not the room's
    assert (await edit_gathering(db, world.lead, gid, title="Samling 1 (direkte)")).changed
    await live.execute(frida, gid, c.EndGathering())
    for change in (edit_gathering(db, world.lead, gid, minutes=90),
                   cancel_gathering(db, world.lead, gid)):
        with pytest.raises(ScheduleError) as ended:
            await change
        assert ended.value.code == "ended"
    async with db() as session:
        stored = await session.get(Gathering, gid)
        assert stored is not None and stored.cancelled_at is None
        items = await session.scalars(select(AgendaItem).where(AgendaItem.gathering_id == gid))
        assert len(list(items)) == 4
