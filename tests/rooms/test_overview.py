"""The programme lead's overview: the pure folds as table tests (attendance from logs the
real rules wrote, stages month by month, registrations), and the whole overview of a year
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation import Actor, GatheringState, Role
from facilitation import commands as c
from facilitation.history import history
from rooms.live import LiveRooms
from rooms.models import (
    AgendaItem,
    Municipality,
    Person,
    Project,
    ProjectStageChange,
    Recording,
    Summary,
)
from rooms.overview import (
    month_ends,
    overview,
    present_by_municipality,
    registered_by_municipality,
    stages_at,
)
from rooms.store import GatheringStore
from tests.facilitation.deciding import ALICE, BJORN, CARL, EVA, FRIDA, PER, T0, run
from tests.factories import World, build_world
from tests.rooms import test_store

# the store tests' fixtures: a migrated database, SQLite and PostgreSQL in turn
engine, db = test_store.engine, test_store.db
ANNE = Actor(8, "Anne Askvik", Role.PARTICIPANT, "Askvik kommune")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- attendance, folded from logs the rules wrote ------------------------------------------


def log_of(joins: list[Actor], opened: bool = True) -> tuple[GatheringState, list[Any]]:
    start = GatheringState(gathering_id="g1", agenda=())
    state, log = start, []
    if opened:
        state, events = run(state, FRIDA, c.OpenRoom())
        log += events
    for who in joins:
        state, events = run(state, who, c.JoinRoom(), T0 + len(log))
        log += events
    return start, log


@pytest.mark.parametrize(("joins", "present", "others"), [
    ([], {}, 0),
    ([FRIDA], {}, 1),
    ([ALICE], {"Askvik kommune": 1}, 0),
    ([ALICE, ANNE, BJORN], {"Askvik kommune": 2, "Brekke kommune": 1}, 0),
    ([ALICE, ALICE, ALICE], {"Askvik kommune": 1}, 0),  # rejoining (a second tab) is one person
    ([FRIDA, PER, EVA, CARL, ALICE], {"Cederås kommune": 1, "Askvik kommune": 1}, 3),
])
def test_attendance_per_municipality(joins: list[Actor], present: dict[str, int],
                                     others: int) -> None:
    start, log = log_of(joins)
    assert present_by_municipality(history(start, log).attendees) == (present, others)


def test_a_gathering_never_opened_has_nobody_present() -> None:
    start, log = log_of([], opened=False)
    folded = history(start, log)
    assert (folded.opened_at, present_by_municipality(folded.attendees)) == (None, ({}, 0))


# --- registrations -------------------------------------------------------------------------


@pytest.mark.parametrize(("members", "expected"), [
    ([], {}),
    ([(1, None)], {1: {}}),
    ([(1, "Askvik"), (1, "Askvik"), (1, "Brekke"), (2, "Askvik"), (2, None)],
     {1: {"Askvik": 2, "Brekke": 1}, 2: {"Askvik": 1}}),
])
def test_registered_municipalities_per_theme(members: list[tuple[int, str | None]],
                                             expected: dict[int, dict[str, int]]) -> None:
    assert registered_by_municipality(members) == expected


# --- project stages over time --------------------------------------------------------------

FEB, JUN, JUL, DEC = utc(2026, 2, 28), utc(2026, 6, 30), utc(2026, 7, 31), utc(2026, 12, 31)


@pytest.mark.parametrize(("current", "changes", "moments", "expected"), [
    ({}, [], [FEB], [{}]),
    # no history at all (older data): its stage now, throughout
    ({1: "videreforing"}, [], [FEB, DEC], [{"videreforing": 1}, {"videreforing": 1}]),
    # not counted before its first stage; then the last change at or before each moment
    ({1: "gjennomforing"},
     [(1, "oppstart", utc(2026, 3, 2)), (1, "gjennomforing", utc(2026, 7, 1))],
     [FEB, JUN, JUL, DEC], [{}, {"oppstart": 1}, {"gjennomforing": 1}, {"gjennomforing": 1}]),
    # changes in any order; a change exactly at the moment counts
    ({1: "oppstart", 2: "gjennomforing"},
     [(2, "gjennomforing", JUN), (1, "oppstart", utc(2026, 1, 5)),
      (2, "oppstart", utc(2026, 1, 9))],
     [FEB, JUN], [{"oppstart": 2}, {"oppstart": 1, "gjennomforing": 1}]),
    # moved back: the history decides, not the stage now
    ({1: "oppstart"},
     [(1, "gjennomforing", utc(2026, 1, 1)), (1, "oppstart", utc(2026, 6, 1))],
     [FEB, JUL], [{"gjennomforing": 1}, {"oppstart": 1}]),
])
def test_stages_at_each_moment(current: dict[int, str],
                               changes: list[tuple[int, str, datetime]],
                               moments: list[datetime], expected: list[dict[str, int]]) -> None:
    assert stages_at(current, changes, moments) == expected


@pytest.mark.parametrize(("year", "now", "expected"), [
    (2027, utc(2026, 12, 20), []),
    (2026, utc(2026, 1, 15), [(1, utc(2026, 1, 15))]),
    # months end at midnight in Norway: 23:00 UTC in winter, 22:00 UTC in summer
    (2026, utc(2026, 4, 10), [(1, utc(2026, 1, 31, 23)), (2, utc(2026, 2, 28, 23)),
                              (3, utc(2026, 3, 31, 22)), (4, utc(2026, 4, 10))]),
])
def test_month_ends(year: int, now: datetime, expected: list[tuple[int, datetime]]) -> None:
    assert month_ends(year, now) == expected


def test_a_past_year_has_twelve_months_ending_on_new_years_eve() -> None:
    months = month_ends(2025, utc(2026, 6, 1))
    assert [m for m, _ in months] == list(range(1, 13))
    assert months[-1][1] == utc(2025, 12, 31, 23)


# --- the whole overview, on both databases -------------------------------------------------


async def nobody(gathering_id: str, events: list[dict[str, Any]]) -> None:
    pass


async def hold(store: GatheringStore, gathering_id: str, people: list[tuple[Person, Role]],
               at: float = T0) -> None:
    """The gathering opens and these people join, through the real command path."""
    live = LiveRooms(store, publish=nobody, clock=lambda: at)
    runner = next(p for p, role in people if role is Role.FACILITATOR)
    await live.execute(Actor(runner.id, runner.name, Role.FACILITATOR), gathering_id,
                       c.OpenRoom(), "open")
    for person, role in people:
        place = person.municipality.name if person.municipality else None
        await live.execute(Actor(person.id, person.name, role, place), gathering_id,
                           c.JoinRoom())


async def test_the_overview_of_a_year(db: async_sessionmaker) -> None:
    world: World = await build_world(db)
    store = GatheringStore(db)
    async with db() as s:
        people = {p.id: p for p in [await s.get(Person, world.facilitator.id),
                                    await s.get(Person, world.alice.id)]}
    await hold(store, world.gathering.id, [(people[world.facilitator.id], Role.FACILITATOR),
                                           (people[world.alice.id], Role.PARTICIPANT)])
    async with db() as s:
        askvik, brekke = world.alice.municipality_id, world.bjorn.municipality_id
        assert askvik is not None and brekke is not None
        s.add(Municipality(name="Cederås kommune"))
        started = Project(municipality_id=askvik, theme_id=world.theme.id, title="Skolemat",
                          stage="gjennomforing", tags=[], grant_year=2025)
        old = Project(municipality_id=brekke, theme_id=world.theme.id, title="Kantine",
                      stage="videreforing", tags=[], grant_year=2024)
        late = Project(municipality_id=brekke, theme_id=world.other_theme.id, title="Areal",
                       stage="oppstart", tags=[], grant_year=2026)
        s.add_all([started, old, late])
        await s.flush()
        s.add_all([
            ProjectStageChange(project_id=started.id, stage="oppstart",
                               changed_at=utc(2026, 2, 10)),
            # 01:30 on 1 July in Norway: July's, not June's
            ProjectStageChange(project_id=started.id, stage="gjennomforing",
                               changed_at=utc(2026, 6, 30, 23, 30)),
            ProjectStageChange(project_id=late.id, stage="oppstart",
                               changed_at=utc(2026, 11, 5))])
        items = [i.id for i in world.gathering.items]
        await s.execute(update(AgendaItem).where(AgendaItem.id.in_(items[:2]))
                        .values(expert_id=world.expert.id))
        s.add(Summary(gathering_id=world.gathering.id, intro="", published_at=utc(2026, 12, 4)))
        for n, status in enumerate(["ready", "ready", "failed", "recording"]):
            s.add(Recording(id=f"r{n}", gathering_id=world.gathering.id, person_name="Eva",
                            consent_at=utc(2026, 12, 3), started_at=utc(2026, 12, 3),
                            status=status))
        await s.commit()

    o = await overview(db, store, 2026, now=utc(2026, 12, 20))
    assert (o.year, o.years, [slug for slug, _ in o.stages]) == (
        2026, (2026,), ["oppstart", "gjennomforing", "videreforing"])
    areal, mat = o.themes  # by name
    assert (mat.theme.slug, areal.theme.slug) == ("mat", "areal")
    assert mat.registered == {"Askvik kommune": 1, "Brekke kommune": 1}
    assert areal.registered == {"Brekke kommune": 1}
    (held,) = mat.gatherings
    assert (held.held, held.present, held.others_present, held.municipalities_present,
            held.people_present) == (True, {"Askvik kommune": 1}, 1, 1, 2)
    assert (held.experts_booked, held.summary_published, held.recordings) == (
        1, utc(2026, 12, 4), 2)
    (not_held,) = areal.gatherings
    assert (not_held.held, not_held.present, not_held.experts_booked,
            not_held.summary_published, not_held.recordings) == (False, {}, 0, None, 0)
    assert mat.municipalities() == ["Askvik kommune", "Brekke kommune"]
    assert mat.stages_now == {"gjennomforing": 1, "videreforing": 1}
    by_month = dict(mat.stages_by_month)
    assert list(by_month) == list(range(1, 13))
    assert by_month[1] == {"videreforing": 1}
    assert by_month[2] == by_month[6] == {"oppstart": 1, "videreforing": 1}
    assert by_month[7] == by_month[12] == {"gjennomforing": 1, "videreforing": 1}
    areal_months = dict(areal.stages_by_month)
    assert (areal_months[10], areal_months[11]) == ({}, {"oppstart": 1})

    assert (await overview(db, store, 2025, now=utc(2026, 12, 20))).themes[1].gatherings == ()
