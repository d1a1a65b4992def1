"""A socket.io bus (Redis) outage in real headless Chromium: the room says it is reconnecting
while the bus is down, and when it is back it catches up on what it missed meanwhile."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from tests.e2e.conftest import SocketTap, axe_violations, chromium, serving
from tests.e2e.test_live_room import POSTED, join_the_room, signed_in
from tests.factories import World
from tests.private_redis import running_redis

pytestmark = pytest.mark.e2e

OUTAGE_MS = 60_000  # how long a loaded machine may take to notice; nothing measures time


async def test_the_room_says_reconnecting_while_the_bus_is_down_and_catches_up_after(
        sqlite_url: str, sessions: async_sessionmaker, world: World) -> None:
    gathering = world.gathering.id
    async with running_redis() as redis, serving(
            sqlite_url, sessions, world, redis_url=redis.url,
            redis_prefix=f"forum-e2e-{uuid.uuid4().hex}") as live, chromium() as browser:
        alice, bjorn = await signed_in(browser, live, world.alice, world.bjorn)
        tap = SocketTap()  # between Alice's room and the server
        await tap.attach(alice.page)
        await join_the_room(gathering, alice, bjorn)

        await redis.stop()
        for who in (alice, bjorn):
            await who.page.locator("#connection").filter(
                has_text="Kobler til på nytt").wait_for(timeout=OUTAGE_MS)
        assert await axe_violations(alice.page) == []
        # on the same worker as Bjørn, Alice hears him all the same ...
        await bjorn.page.get_by_label("Melding").fill("Hører du meg, Alice?")
        await bjorn.page.get_by_role("button", name="Send").click()
        await alice.page.locator(POSTED).filter(has_text="Hører du meg").wait_for()
        # ... but what comes from another worker meanwhile is lost on its way
        tap.drop = 1
        await bjorn.page.get_by_label("Melding").fill("Fra en annen arbeider")
        await bjorn.page.get_by_role("button", name="Send").click()
        await bjorn.page.locator(POSTED).filter(has_text="Fra en annen arbeider").wait_for()

        await redis.start()
        for who in (alice, bjorn):
            await who.page.locator("#connection").filter(has_text=re.compile("^$")).wait_for(
                state="attached", timeout=OUTAGE_MS)
        # no later event shows Alice a gap: the bus coming back makes her catch up
        await alice.page.locator(POSTED).filter(has_text="Fra en annen arbeider").wait_for()
        assert await alice.page.locator(POSTED).count() == 2
        for who in (alice, bjorn):
            assert who.errors == [], who.errors
