"""Two real workers on PostgreSQL and Redis: a project's stage saved through one worker's
page reaches the people lists of clients on both workers, for a person whose connection the
other worker holds."""

from __future__ import annotations

from typing import Any, cast

from aiohttp.test_utils import TestServer
from yarl import URL

from rooms.accounts import create_invitation
from rooms.models import Project
from tests import test_two_workers
from tests.conftest import send
from tests.server.browsing import Browser
from tests.server.live_helpers import followed_entries as shown
from tests.test_two_workers import Cluster, eventually, presence

cluster = test_two_workers.cluster  # the fixture: two workers on PostgreSQL and Redis


class At:
    """What the page test browser needs of a server: its URLs."""

    def __init__(self, url: str) -> None:
        self.base = URL(url)

    def make_url(self, path: str) -> URL:
        return self.base.join(URL(path))


async def test_a_stage_saved_on_one_worker_reaches_clients_on_both(cluster: Cluster) -> None:
    world, gid = cluster.world, cluster.world.gathering.id
    async with cluster.sessions() as s:
        project = Project(municipality_id=world.alice.municipality_id, theme_id=world.theme.id,
                          title="Kantina", stage="oppstart", tags=[], grant_year=2025)
        s.add(project)
        await s.commit()
        page = f"/projects/{project.id}"
    await cluster.joined(cluster.a, world.alice, gid)  # alice's connection is on A
    watchers: list[tuple[Any, dict[str, Any]]] = []
    for worker, person in ((cluster.a, world.facilitator), (cluster.b, world.bjorn)):
        client = await cluster.connect(worker, person)
        watchers.append((client, (await send(client, gid, "room.join"))["snapshot"]))
    for client, snapshot in watchers:
        assert shown(snapshot, presence(client))[world.alice.id]["stage"] == "oppstart"

    browser = Browser(cast(TestServer, At(cluster.b.url)))  # the page is saved through B
    async with browser:
        await browser.sign_in(await create_invitation(cluster.sessions, world.alice.id, days=1))
        status, _, _ = await browser.submit(page, page, {"back": "project",
                                                         "stage": "gjennomforing"})
        assert status == 200
    for client, snapshot in watchers:
        await eventually(
            lambda c=client, s=snapshot: shown(s, presence(c))[world.alice.id]["stage"]
            == "gjennomforing", "alice's new stage on both workers")
    fresh = (await send(watchers[0][0], gid, "room.sync", since=10**6))["snapshot"]
    assert {p["person_id"]: p["stage"] for p in fresh["presence"]}[world.alice.id] \
        == "gjennomforing"
