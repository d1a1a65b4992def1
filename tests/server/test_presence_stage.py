"""A project's stage changed on its page while its people are in the room: everyone's people
list shows the new stage at once (a presence entry replaced), without a reconnect."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from tests.conftest import Connect, send
from tests.factories import World
from tests.server import test_projects
from tests.server.live_helpers import eventually, watch_presence
from tests.server.live_helpers import followed_entries as shown

projects = test_projects.projects  # the fixture: Askvik's (oppstart) and Brekke's projects


async def test_a_stage_saved_on_the_project_page_reaches_the_people_list(
        world: World, projects: dict[str, int], server: TestServer,
        sessions: async_sessionmaker, connect: Connect) -> None:
    gid, alice_id = world.gathering.id, world.alice.id
    alice = await connect(world.alice)
    assert (await send(alice, gid, "room.join"))["ok"]
    frida = await connect(world.facilitator)
    seen = watch_presence(frida)
    snapshot = (await send(frida, gid, "room.join"))["snapshot"]
    assert shown(snapshot, seen)[alice_id]["stage"] == "oppstart"

    mine = f"/projects/{projects['askvik']}"
    async with await test_projects.signed_in_browser(server, sessions, alice_id) as browser:
        status, _, _ = await browser.submit(mine, mine, {
            "back": "project", "stage": "gjennomforing", "tags": "kantine, skolemat"})
        assert status == 200
    await eventually(lambda: shown(snapshot, seen)[alice_id]["stage"] == "gjennomforing",
                     what="alice's new stage in frida's people list")
    entry = shown(snapshot, seen)[alice_id]
    assert entry["tags"] == ["kantine", "skolemat"] and entry["name"] == "Alice Askvik"
    assert sorted(shown(snapshot, seen)) == sorted([alice_id, world.facilitator.id])
    # a fresh snapshot says the same; alice's own connection was never dropped
    fresh = (await send(alice, gid, "room.sync", since=10**6))["snapshot"]
    assert {p["person_id"]: p for p in fresh["presence"]}[alice_id] == entry
