"""Erasing a person with two workers (PostgreSQL and Redis): the programme lead erases them
through worker B while they are in a gathering on worker A. Worker A's cached state of the
gathering must not keep their name (it reloads: `gatherings.log_rewrites`), and their open
connection on worker A must close (a room-wide disconnect over the socket.io bus)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from yarl import URL

from rooms.accounts import start_session
from rooms.privacy import DELETED_NAME
from server.settings import SESSION_COOKIE
from tests.conftest import send
from tests.factories import add_participant
from tests.server.browsing import csrf_of
from tests.test_two_workers import (
    Cluster,
    Worker,
    cluster,  # noqa: F401  (fixture)
    events,
    eventually,
)

NAME, EMAIL = "Mari Slettmeg", "mari.slettmeg@example.org"


def traces(value: Any) -> bool:
    return "slettmeg" in json.dumps(value, ensure_ascii=False).casefold()


async def erase_through(worker: Worker, on: Cluster, person_id: int) -> None:
    """The programme lead's browser on `worker`: the confirmation page, then the erasure."""
    token = await start_session(on.sessions, on.world.lead.id, days=1)
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({SESSION_COOKIE: token}, URL(worker.url))
    page = f"{worker.url}/privacy/people/{person_id}"
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(page) as response:
            assert response.status == 200, await response.text()
            html = await response.text()
        async with http.post(page, data={"csrf_token": csrf_of(html), "confirm": "yes"},
                             allow_redirects=False) as response:
            assert response.status == 303, await response.text()
            assert response.headers["Location"] == "/privacy/people?erased=1"


async def test_erasing_on_one_worker_clears_the_other(cluster: Cluster) -> None:  # noqa: F811
    world, gid = cluster.world, cluster.world.gathering.id
    mari = await add_participant(cluster.sessions, world.theme, EMAIL, NAME)
    frida = await cluster.joined(cluster.a, world.facilitator, gid)
    assert (await send(frida, gid, "room.open"))["ok"]
    her = await cluster.joined(cluster.a, mari, gid)
    said = await send(her, gid, "chat.send", text=f"Hei fra {NAME}")
    assert said["ok"], said
    await eventually(lambda: any(m["version"] == said["version"] for m in events(frida)),
                     "her chat message at the facilitator")
    # worker A holds the gathering's state, with her in it (so the test can fail)
    alice = await cluster.joined(cluster.a, world.alice, gid)
    before = await send(alice, gid, "room.sync", since=10_000)  # ahead: a snapshot
    assert before["ok"] and traces(before["snapshot"]), before

    await erase_through(cluster.b, cluster, mari.id)

    # her connection on worker A is closed by worker B's erasure
    await eventually(lambda: not her.connected, "her connection on worker A closed")
    # worker A's snapshots hold nothing of her: a sync, and a fresh join
    synced = await send(alice, gid, "room.sync", since=10_000)
    assert synced["ok"], synced
    assert not traces(synced["snapshot"]), synced["snapshot"]
    assert DELETED_NAME in json.dumps(synced["snapshot"], ensure_ascii=False)
    bjorn = await cluster.connect(cluster.a, world.bjorn)
    joined = await send(bjorn, gid, "room.join")
    assert joined["ok"] and not traces(joined["snapshot"]), joined
    chats = [c for c in joined["snapshot"].get("chat", []) if c.get("person_id") == mari.id]
    assert chats and all(c.get("name") == DELETED_NAME and not c.get("text") for c in chats), chats
