"""The facilitator's breakout story over a real server with real socket.io clients:
participants with projects at two stages, a breakout item that opens groups by stage, a
late joiner, a broadcast, the server's clock closing the groups, and who met whom
remembered for the theme's next gathering."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.context import ContextSource
from rooms.models import AgendaItem, Gathering, Membership, Municipality, Person, Project
from server.keys import LIVE
from tests.conftest import Connect, send
from tests.factories import World
from tests.server.live_helpers import eventually, received

STAGES = {"oppstart": ["Alta", "Bø", "Dal"], "gjennomforing": ["Eid", "Fet"]}


@pytest.fixture
async def people(world: World, sessions: async_sessionmaker) -> dict[str, Person]:
    """One participant per municipality, each municipality with a project in the theme."""
    made: dict[str, Person] = {}
    async with sessions() as s:
        for stage, names in STAGES.items():
            for name in names:
                municipality = Municipality(name=f"{name} kommune")
                s.add(municipality)
                await s.flush()
                s.add(Project(municipality_id=municipality.id, theme_id=world.theme.id,
                              title=f"Matsvinn i {name}", stage=stage, tags=["skole"],
                              grant_year=2025))
                person = Person(email=f"{name.lower()}@example.org", name=f"Deltaker {name}",
                                municipality_id=municipality.id)
                s.add(person)
                await s.flush()
                s.add(Membership(person_id=person.id, theme_id=world.theme.id,
                                 role="participant"))
                made[name] = person
        await s.commit()
    return made


def groups_by_name(snapshot_or_state: dict[str, Any]) -> dict[str, set[str]]:
    breakouts = snapshot_or_state["breakouts"]
    return {g["name"]: {m["name"] for m in g["members"]} for g in breakouts["groups"]}


async def test_facilitator_runs_stage_breakouts_and_the_clock_calls_everyone_back(
        world: World, people: dict[str, Person], connect: Connect, server: TestServer) -> None:
    gid = world.gathering.id
    fake_now = [1_900_000_000.0]
    server.app[LIVE].clock = lambda: fake_now[0]
    frida = await connect(world.facilitator)
    await send(frida, gid, "room.join")
    clients = {}
    for name in ["Alta", "Bø", "Eid", "Fet"]:  # Dal comes late
        clients[name] = await connect(people[name])
        assert (await send(clients[name], gid, "room.join"))["ok"]
    items = [i["id"] for i in (await send(frida, gid, "room.sync", since=10**6))["snapshot"]
             ["agenda"]]
    assert (await send(frida, gid, "room.open"))["ok"]
    for from_item in [None, items[0], items[1]]:  # into the breakout item, third
        assert (await send(frida, gid, "agenda.next", from_item=from_item))["ok"]

    snapshot = (await send(clients["Alta"], gid, "room.sync", since=10**6))["snapshot"]
    assert snapshot["breakouts"]["status"] == "open"
    assert groups_by_name(snapshot) == {
        "Oppstart": {"Deltaker Alta", "Deltaker Bø"},
        "Gjennomføring": {"Deltaker Eid", "Deltaker Fet"},
    }
    for client in clients.values():  # everyone heard the groups open
        await eventually(lambda c=client: any(m["type"] == "breakouts.opened"
                                              for m in received(c)), what="groups opened")

    dal = await connect(people["Dal"])
    assert (await send(dal, gid, "room.join"))["ok"]
    snapshot = (await send(dal, gid, "room.sync", since=10**6))["snapshot"]
    assert "Deltaker Dal" in groups_by_name(snapshot)["Oppstart"]

    assert (await send(frida, gid, "breakouts.broadcast", text="Fem minutter igjen"))["ok"]
    await eventually(lambda: any(m["type"] == "breakouts.broadcast"
                                 for m in received(clients["Eid"])), what="broadcast")

    deadline = snapshot["breakouts"]["deadline"]
    fake_now[0] = deadline - 30  # the server's clock ticks each second
    await eventually(lambda: any(m["type"] == "breakouts.warned" for m in received(dal)),
                     what="one-minute warning")
    fake_now[0] = deadline + 1
    await eventually(lambda: any(m["type"] == "breakouts.recalled" for m in received(dal)),
                     what="groups closed at the deadline")
    after = (await send(frida, gid, "room.sync", since=10**6))["snapshot"]
    assert after["breakouts"]["status"] == "recalled"
    assert [m["type"] for m in received(dal)].count("breakouts.recalled") == 1


async def test_the_next_gathering_prefers_municipalities_that_have_not_met(
        world: World, people: dict[str, Person], connect: Connect, server: TestServer,
        sessions: async_sessionmaker) -> None:
    """Gathering 1: mixed groups of two. Gathering 2 of the theme: the same people, mixed
    groups of two again — no pair of municipalities meets twice."""
    async with sessions() as s:
        first = await s.get(Gathering, world.gathering.id)
        assert first is not None
        second = Gathering(theme_id=world.theme.id, year=2026, number=2, title="Samling 2",
                           starts_at=first.starts_at + timedelta(days=90), planned_minutes=60)
        second.items = [AgendaItem(position=0, kind="breakout", title="Grupper",
                                   planned_minutes=20,
                                   settings={"rule": "random", "group_size": 2})]
        s.add(second)
        await s.commit()
        second_id = second.id
    frida = await connect(world.facilitator)
    names = ["Alta", "Bø", "Eid", "Fet"]
    clients = [await connect(people[n]) for n in names]

    async def groups_in(gid: str) -> set[frozenset[str]]:
        for client in (frida, *clients):
            await send(client, gid, "room.join")
        await send(frida, gid, "room.open")
        answer = await send(frida, gid, "breakouts.propose", rule="random", group_size=2)
        assert answer["ok"], answer
        snapshot = (await send(frida, gid, "room.sync", since=10**6))["snapshot"]
        await send(frida, gid, "breakouts.open", minutes=5)
        assert (await send(frida, gid, "breakouts.recall"))["ok"]
        return {frozenset(m["municipality"] for m in g["members"])
                for g in snapshot["breakouts"]["groups"]}

    met_first = await groups_in(world.gathering.id)
    # the second gathering's decisions know who met in the first (exactly those pairs)
    context = server.app[LIVE].context
    assert isinstance(context, ContextSource)
    assert await context.met(second_id) == met_first
    met_second = await groups_in(second_id)
    assert len(met_first) == len(met_second) == 2
    assert not met_first & met_second, (met_first, met_second)


async def test_groups_still_open_when_a_gathering_ends_count_as_met_in_the_next(
        world: World, people: dict[str, Person], connect: Connect, server: TestServer,
        sessions: async_sessionmaker) -> None:
    """Gathering 1 ends while its groups of two are open (nobody called them back). The
    theme's next gathering knows those pairs met, and its groups of two avoid them (of the
    three ways to pair four municipalities, two do)."""
    async with sessions() as s:
        first = await s.get(Gathering, world.gathering.id)
        assert first is not None
        second = Gathering(theme_id=world.theme.id, year=2026, number=2, title="Samling 2",
                           starts_at=first.starts_at + timedelta(days=90), planned_minutes=60)
        s.add(second)
        await s.commit()
        second_id = second.id
    frida = await connect(world.facilitator)
    clients = [await connect(people[n]) for n in ["Alta", "Bø", "Eid", "Fet"]]

    async def propose_pairs(gid: str) -> set[frozenset[str]]:
        for client in (frida, *clients):
            assert (await send(client, gid, "room.join"))["ok"]
        assert (await send(frida, gid, "room.open"))["ok"]
        answer = await send(frida, gid, "breakouts.propose", rule="random", group_size=2)
        assert answer["ok"], answer
        snapshot = (await send(frida, gid, "room.sync", since=10**6))["snapshot"]
        return {frozenset(m["municipality"] for m in g["members"])
                for g in snapshot["breakouts"]["groups"]}

    met_first = await propose_pairs(world.gathering.id)
    assert (await send(frida, world.gathering.id, "breakouts.open", minutes=15))["ok"]
    assert (await send(frida, world.gathering.id, "gathering.end"))["ok"]  # no recall
    context = server.app[LIVE].context
    assert isinstance(context, ContextSource)
    assert len(met_first) == 2
    assert await context.met(second_id) == met_first
    met_second = await propose_pairs(second_id)
    assert len(met_second) == 2 and not met_first & met_second, (met_first, met_second)
