"""Recording an expert slot in real headless Chromium: the expert, given the stage, agrees in
her room; the facilitator records from the console; a participant sees the recording
indicator; the recording is listed in the summary with a download the participant may use.
And a participant given the floor is taken off the stage from the console."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from recordings.archive import READY, RecordingArchive
from server.keys import RECORDINGS, STAGE
from tests.conftest import WAIT
from tests.e2e.conftest import LiveServer, chromium
from tests.e2e.test_live_room import (
    assert_accessible,
    gather,
    open_panel,
    open_the_room,
    signed_in,
)
from tests.e2e.test_stage import console_log, receiving
from tests.signaling.test_recording_stage import recorded_frames

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("loopback_ice")]


async def finished_recording(archive: RecordingArchive, gid: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        rows = [r for r in await archive.of_gathering(gid) if r.status != "recording"]
        if rows:
            return rows[0]
        await asyncio.sleep(0.1)
    raise AssertionError("the recording never finished")


async def test_expert_agrees_and_everyone_sees_the_recording(
        live_server: LiveServer) -> None:
    world = live_server.world
    gid = world.gathering.id
    assert live_server.app is not None
    async with chromium() as browser:
        frida, eva, alice = await signed_in(browser, live_server, world.facilitator,
                                            world.expert, world.alice)
        eva_log = console_log(eva.page)
        await gather(gid, frida, eva, alice)
        console = frida.page
        await open_the_room(console)
        await open_panel(console, "Scene og opptak")
        await console.get_by_label("Gi scenen til").select_option(label=world.expert.name)
        await console.get_by_role("button", name="Gi scenen", exact=True).click()

        # the console waits for her agreement; she sees what is asked, and agrees
        start = console.get_by_role("button", name="Start opptak")
        await console.locator("#recording-control-status").filter(
            has_text="Venter på at Eva Ekspert samtykker").wait_for()
        assert await start.is_disabled()
        consent = eva.page.get_by_role("region", name="Opptak av innlegget ditt")
        await consent.wait_for()
        await assert_accessible(eva.page, "expert's room asking for consent")
        await eva.page.get_by_role("button", name="Gå på scenen med kamera og mikrofon").click()
        await eva.page.get_by_role("button", name="Jeg samtykker til opptak").click()
        await eva.page.get_by_role("button", name="Trekk tilbake samtykket mitt").wait_for()
        assert await alice.page.get_by_role("region", name="Opptak av innlegget ditt").is_hidden()

        # the facilitator records; everyone sees the indicator, which names Eva alone
        await receiving(alice.page, world.expert.id, eva_log)
        await start.click()
        await alice.page.get_by_role("status").filter(
            has_text="Opptak: Eva Ekspert blir tatt opp. Ingen andre er med i opptaket."
        ).wait_for()
        await eva.page.locator("#recording-indicator").filter(
            has_text="du blir tatt opp").wait_for()
        await console.locator("#recording-control-status").filter(
            has_text="Tar opp Eva Ekspert").wait_for()
        await assert_accessible(alice.page, "room while recording")
        await recorded_frames(live_server.app[STAGE].host.recordings, gid, 40)  # about 2 s
        await console.get_by_role("button", name="Stopp opptak").click()
        await alice.page.locator("#recording-indicator:empty").wait_for(state="attached")

        # Alice is given the floor and comes on stage; the facilitator takes her off it
        await alice.page.get_by_role("button", name="Rekk opp hånden").click()
        # her hand is in the queue before the floor moves on
        await console.locator("#hands li").filter(has_text=world.alice.name).wait_for(
            state="attached")
        await console.get_by_role("button", name="Gi ordet til neste").click()
        await alice.page.wait_for_function("() => window.forumStage.publisher() !== null")
        await console.get_by_role("button", name="Ta Alice Askvik av scenen").click()
        await alice.page.wait_for_function("() => window.forumStage.publisher() === null")
        assert await console.locator("#stage-take-off").is_hidden()

        archive: RecordingArchive = live_server.app[RECORDINGS]
        row = await finished_recording(archive, gid)
        assert row.status == READY and row.person_id == world.expert.id

        # listed in the summary, downloadable by a participant of the theme
        await console.goto(f"/g/{gid}/summary")
        link = console.get_by_role("link", name="Last ned opptaket av Eva Ekspert")
        await link.wait_for()
        await assert_accessible(console, "summary with a recording")
        response = await alice.page.request.get(await link.get_attribute("href") or "")
        assert response.status == 200
        assert response.headers["content-type"] == "video/mp4"
        assert (await response.body())[4:8] == b"ftyp"
