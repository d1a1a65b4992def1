"""A large room in real headless Chromium: beyond `PRESENCE_NAMED` people present (lowered to
two here), a participant's page names their own municipality's people and the facilitator,
and counts the others by municipality, as people come and go; axe-core finds nothing."""

from __future__ import annotations

import pytest

from server.sockets import roster
from tests.e2e.conftest import LiveServer, axe_violations, chromium
from tests.e2e.test_live_room import enter_room, signed_in

pytestmark = pytest.mark.e2e


async def test_a_participant_in_a_large_room_sees_names_nearby_and_counts_further_away(
        live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(roster, "PRESENCE_NAMED", 2)
    world, room = live_server.world, f"/g/{live_server.world.gathering.id}"
    async with chromium() as browser:
        frida, bjorn, alice = await signed_in(browser, live_server, world.facilitator,
                                              world.bjorn, world.alice)
        for who in (frida, bjorn, alice):
            await enter_room(who, room)
        presence = alice.page.locator("#presence")
        brekke = presence.locator("li.presence-group").filter(has_text="Brekke kommune")
        await brekke.filter(has_text="1 deltaker").wait_for()
        assert await brekke.get_by_text("Bjørn Brekke").count() == 0  # counted, not named
        await presence.get_by_text("Frida Fasilitator").wait_for()  # who runs it: named
        await presence.get_by_text("Alice Askvik").wait_for()
        assert await alice.page.locator("#presence-count").inner_text() == "3"

        await bjorn.page.close()  # he leaves: the count goes with him
        await brekke.wait_for(state="detached")
        assert await alice.page.locator("#presence-count").inner_text() == "2"
        assert await axe_violations(alice.page) == []
        assert alice.errors == []
