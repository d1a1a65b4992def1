from tests.conftest import send


async def test_facilitator_opens_and_participant_sees_item(world, connect):
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    alice = await connect(world.alice)
    joined = await send(alice, gid, "room.join")
    assert joined["ok"], joined
    assert joined["snapshot"]["phase"] == "lobby"
    assert (await send(frida, gid, "room.join"))["ok"]
    assert (await send(frida, gid, "room.open"))["ok"]
    answer = await send(frida, gid, "agenda.next", from_item=None)
    assert answer["ok"], answer
    import asyncio
    await asyncio.sleep(0.3)
    assert [e["type"] for e in alice.received][-2:] == ["room.opened", "agenda.item_started"]
