"""The next gathering brings the follow-ups up: while an agenda item planned to list them is
current, the participants' room shows the follow-ups due at this gathering, with their
owners' reports, in real headless Chromium."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from facilitation.follow_ups import Status
from rooms import follow_ups
from tests.conftest import send
from tests.e2e.conftest import LiveServer, axe_violations, chromium
from tests.e2e.test_live_room import facilitator_by_socket, in_the_room
from tests.factories import add_gathering

pytestmark = pytest.mark.e2e


async def test_the_room_lists_the_follow_ups_due_while_their_item_is_current(
        live_server: LiveServer) -> None:
    world, sessions = live_server.world, live_server.sessions
    gid = world.gathering.id
    before = await add_gathering(sessions, world.theme, 0,
                                 datetime(2026, 9, 10, 9, tzinfo=UTC))
    now = datetime.now(UTC)
    assert world.alice.municipality_id is not None
    made = await follow_ups.create(sessions, world.facilitator, gathering_id=before.id,
                                   municipality_id=world.alice.municipality_id,
                                   text="Kompost i kantina", now=now)
    await follow_ups.update(sessions, world.alice, made, status=Status.DOING,
                            report="To skoler er i gang", link="", now=now)
    async with chromium() as browser:
        (alice,) = await in_the_room(browser, live_server, gid, world.alice)
        section = alice.page.locator("#follow-ups-due")
        assert await section.is_hidden()
        async with facilitator_by_socket(live_server, gid) as frida:
            assert (await send(frida, gid, "agenda.add_item", kind="plenary",
                               title="Hvordan gikk det?", planned_minutes=10, position=0,
                               follow_ups=True))["ok"]
            agenda = (await send(frida, gid, "room.sync", since=10**6))["snapshot"]["agenda"]
            assert agenda[0]["follow_ups"] is True
            assert (await send(frida, gid, "room.open"))["ok"]
            assert (await send(frida, gid, "agenda.next", from_item=None))["ok"]
            await section.wait_for(state="visible")
            listed = alice.page.locator("#follow-ups-due-list li")
            await listed.filter(has_text="To skoler er i gang").wait_for()
            text = await listed.first.inner_text()
            assert "Askvik kommune" in text and "Kompost i kantina" in text
            assert "I gang" in text  # the status in the page's language
            assert await axe_violations(alice.page) == []
            assert (await send(frida, gid, "agenda.next", from_item=agenda[0]["id"]))["ok"]
            await section.wait_for(state="hidden")
        assert alice.errors == []
