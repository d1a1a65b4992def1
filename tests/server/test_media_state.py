"""Microphone and camera states and the facilitator's mute, over a real server with real
python-socketio clients: `media.state` reaches the others with the sender's person id,
`media.states` tells a tab that starts watching, bad payloads are refused, and
`media.mute` is for runners and reaches only the target person's tabs. The last test runs
two worker processes on PostgreSQL + Redis."""

from __future__ import annotations

from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer

from tests.conftest import WAIT, Connect, send
from tests.factories import World
from tests.server.live_helpers import code, connected_sids, eventually, fetched_until, joined
from tests.test_two_workers import Cluster, cluster  # noqa: F401  (fixture)

Message = dict[str, Any]


def collect(client: socketio.AsyncClient, event: str) -> list[Message]:
    seen: list[Message] = []
    client.on(event, seen.append)
    return seen


async def call(client: socketio.AsyncClient, event: str, *args: Any) -> Message:
    """Send one socket.io event with its arguments (usually one object) and await the ack."""
    data = args[0] if len(args) == 1 else tuple(args)
    answer: Message = await client.call(event, data, timeout=WAIT)
    return answer


async def states_when(client: socketio.AsyncClient, gid: str, count: int) -> list[Message]:
    """`media.states` once it lists `count` people (a disconnection is handled shortly
    after the client has gone)."""
    async def states() -> list[Message]:
        answer = await call(client, "media.states", {"gathering": gid})
        assert answer["ok"], answer
        seen: list[Message] = answer["states"]
        return seen

    return await fetched_until(states, lambda seen: len(seen) == count,
                               what=f"media.states listing {count}")


async def test_a_participants_state_reaches_the_others_and_late_joiners(
        world: World, connect: Connect) -> None:
    gid = world.gathering.id
    alice, bjorn = await joined(connect, gid, world.alice, world.bjorn)
    heard_by_bjorn, heard_by_alice = collect(bjorn, "media.state"), collect(alice, "media.state")

    answer = await call(alice, "media.state", {"gathering": gid, "audio": False, "video": True})

    assert answer == {"ok": True}
    expected = {"gathering": gid, "person_id": world.alice.id, "audio": False, "video": True}
    await eventually(lambda: heard_by_bjorn == [expected], what="Alice's state at Bjørn")
    frida = (await joined(connect, gid, world.facilitator))[0]
    assert await call(frida, "media.states", {"gathering": gid}) == {
        "ok": True, "states": [expected]}
    assert heard_by_alice == []  # the sender's own tab is not told


async def test_a_closed_tab_is_forgotten_but_not_the_persons_other_tab(
        world: World, connect: Connect, server: TestServer) -> None:
    gid = world.gathering.id
    frida, first, second, third = await joined(connect, gid, world.facilitator, world.alice,
                                               world.alice, world.alice)
    on = {"gathering": gid, "audio": True, "video": True}
    assert (await call(first, "media.state", on))["ok"]
    await first.disconnect()
    assert await states_when(frida, gid, 0) == []

    assert (await call(second, "media.state", on))["ok"]
    assert (await call(third, "media.state", {**on, "video": False}))["ok"]
    sid = second.get_sid()
    await second.disconnect()  # the third tab wrote last: its state stays
    await eventually(lambda: sid not in connected_sids(server), what="the server saw it go")
    states = await states_when(frida, gid, 1)
    assert [(s["person_id"], s["video"]) for s in states] == [(world.alice.id, False)]


@pytest.mark.parametrize("event, data", [
    ("media.state", ["not", "an", "object"]),
    ("media.state", {"audio": True, "video": True}),
    ("media.state", {"gathering": "{gid}", "audio": True}),
    ("media.state", {"gathering": "{gid}", "audio": "false", "video": True}),
    ("media.state", {"gathering": "{gid}", "audio": 0, "video": True}),
    ("media.state", {"gathering": "{gid}", "audio": True, "video": True, "person_id": 1}),
    ("media.states", {"gathering": "{gid}", "audio": True}),
    ("media.mute", {"gathering": "{gid}"}),
    ("media.mute", {"gathering": "{gid}", "person_id": "7"}),
    ("media.mute", {"gathering": "{gid}", "person_id": 0}),
    ("media.mute", {"gathering": "{gid}", "person_id": 7, "unmute": True}),
])
async def test_bad_payloads_are_invalid_format(event: str, data: Any, world: World,
                                               connect: Connect) -> None:
    gid = world.gathering.id
    frida, bjorn = await joined(connect, gid, world.facilitator, world.bjorn)
    heard = collect(bjorn, "media.state")
    muted = collect(bjorn, "media.muted")
    if isinstance(data, dict):
        data = {k: (gid if v == "{gid}" else v) for k, v in data.items()}

    assert code(await call(frida, event, data)) == "invalid_format"
    assert code(await call(frida, event, {"gathering": gid}, "extra")) == "invalid_format"
    assert heard == [] and muted == []


async def test_without_room_join_or_membership_it_is_refused(
        world: World, connect: Connect) -> None:
    gid = world.gathering.id
    alice = await connect(world.alice)
    outsider = await connect(world.outsider)
    observer = (await joined(connect, gid, world.observer))[0]
    state = {"gathering": gid, "audio": True, "video": True}
    assert code(await call(alice, "media.state", state)) == "rejected"
    assert code(await call(outsider, "media.states", {"gathering": gid})) == "forbidden"
    assert code(await call(observer, "media.state", state)) == "forbidden"
    assert code(await call(alice, "media.state", {**state, "gathering": "nope"})) == "not_found"


async def test_a_participant_may_not_mute_anyone(world: World, connect: Connect) -> None:
    gid = world.gathering.id
    alice, bjorn = await joined(connect, gid, world.alice, world.bjorn)
    muted = collect(bjorn, "media.muted")
    answer = await call(alice, "media.mute", {"gathering": gid, "person_id": world.bjorn.id})
    assert code(answer) == "forbidden"
    # once Bjørn has Alice's state, sent after her refused mute, he had no mute
    heard = collect(bjorn, "media.state")
    await call(alice, "media.state", {"gathering": gid, "audio": False, "video": True})
    await eventually(lambda: len(heard) == 1, what="Alice's state at Bjørn")
    assert muted == []


async def test_the_facilitators_mute_reaches_only_the_persons_tabs(
        world: World, connect: Connect) -> None:
    gid = world.gathering.id
    frida, alice_room, alice_phone, bjorn = await joined(
        connect, gid, world.facilitator, world.alice, world.alice, world.bjorn)
    got = {name: collect(client, "media.muted") for name, client in
           (("room", alice_room), ("phone", alice_phone), ("bjorn", bjorn), ("frida", frida))}
    states_at_bjorn = collect(bjorn, "media.state")

    answer = await call(frida, "media.mute", {"gathering": gid, "person_id": world.alice.id})

    assert answer == {"ok": True}
    expected = [{"gathering": gid, "by": "Frida Fasilitator"}]
    await eventually(lambda: got["room"] == expected and got["phone"] == expected,
                     what="the mute on both of Alice's tabs")
    # the muted tab says so; once Bjørn has that (sent after the mute), he had no mute
    await call(alice_room, "media.state", {"gathering": gid, "audio": False, "video": True})
    await eventually(lambda: len(states_at_bjorn) == 1, what="Alice's new state at Bjørn")
    assert got["bjorn"] == [] and got["frida"] == []


async def test_the_programme_lead_may_mute_and_an_expert_may_not(
        world: World, connect: Connect) -> None:
    gid = world.gathering.id
    lead, expert, alice = await joined(connect, gid, world.lead, world.expert, world.alice)
    muted = collect(alice, "media.muted")
    target = {"gathering": gid, "person_id": world.alice.id}
    assert code(await call(expert, "media.mute", target)) == "forbidden"
    assert await call(lead, "media.mute", target) == {"ok": True}
    await eventually(lambda: muted == [{"gathering": gid, "by": "Per Programleder"}],
                     what="the programme lead's mute")


async def test_states_and_mutes_cross_workers(cluster: Cluster) -> None:  # noqa: F811
    gid, world = cluster.world.gathering.id, cluster.world
    alice = await cluster.connect(cluster.a, world.alice)
    frida = await cluster.connect(cluster.b, world.facilitator)
    for client in (alice, frida):
        assert (await send(client, gid, "room.join"))["ok"]
    states, muted = collect(frida, "media.state"), collect(alice, "media.muted")

    assert (await call(alice, "media.state", {"gathering": gid, "audio": True,
                                              "video": False}))["ok"]
    expected = {"gathering": gid, "person_id": world.alice.id, "audio": True, "video": False}
    await eventually(lambda: states == [expected], what="Alice's state on the other worker")
    assert await call(frida, "media.states", {"gathering": gid}) == {
        "ok": True, "states": [expected]}
    assert await call(frida, "media.mute", {"gathering": gid,
                                            "person_id": world.alice.id}) == {"ok": True}
    await eventually(lambda: muted == [{"gathering": gid, "by": "Frida Fasilitator"}],
                     what="the mute on the other worker")
