"""The speaking queue over a real server with python-socketio clients: someone who raised a
hand and then closed every tab keeps their place, but the floor goes to the next person who
is here."""

from __future__ import annotations

from tests.conftest import Connect, send
from tests.factories import World
from tests.server.live_helpers import eventually, follow_presence, received, watch_presence


async def test_facilitator_calls_the_next_hand_and_passes_over_who_left(
        world: World, connect: Connect) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    seen = watch_presence(frida)
    snapshot = (await send(frida, gid, "room.join"))["snapshot"]
    alice, bjorn = await connect(world.alice), await connect(world.bjorn)
    for client in (alice, bjorn):
        assert (await send(client, gid, "room.join"))["ok"]
    assert (await send(frida, gid, "room.open"))["ok"]
    assert (await send(alice, gid, "hand.raise"))["ok"]  # Alice first, then Bjørn
    assert (await send(bjorn, gid, "hand.raise"))["ok"]

    await alice.disconnect()  # she closes her only tab
    await eventually(lambda: world.alice.id not in follow_presence(snapshot, seen),
                     what="the facilitator sees Alice leave")
    answer = await send(frida, gid, "hand.call_next")
    assert answer["ok"], answer
    await eventually(lambda: any(m["version"] == answer["version"] for m in received(frida)),
                     what="the floor given")
    called = next(m for m in received(frida) if m["type"] == "hand.called")["data"]
    assert called["person_id"] == world.bjorn.id
    state = (await send(frida, gid, "room.sync", since=10**6))["snapshot"]
    assert state["speaker"]["person_id"] == world.bjorn.id
    assert [h["person_id"] for h in state["hands"]] == [world.alice.id]  # she keeps her place

    # nobody left in the queue is here: refused with the reason, and nothing changes
    refused = await send(frida, gid, "hand.call_next")
    assert refused["ok"] is False and refused["error"]["code"] == "rejected"
    assert "nobody in the queue is here" in refused["error"]["message"]
    # the facilitator lowers her hand
    assert (await send(frida, gid, "hand.lower", person_id=world.alice.id))["ok"]
    state = (await send(frida, gid, "room.sync", since=10**6))["snapshot"]
    assert state["hands"] == [] and state["speaker"]["person_id"] == world.bjorn.id
