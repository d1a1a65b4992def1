"""The plenary stage in real headless Chromium: the facilitator publishes from the console,
two participants in plenary see them; a participant given the floor is seen and heard by
the other, and leaves the stage when the floor moves on.

Each person has their own browser context with Chromium's fake camera and microphone. The
story runs on both media engines (`engine`): aiortc, the stage peer in this process (aioice
skips 127.0.0.1 unless told otherwise, so `loopback_ice` patches its host-address discovery,
tests only), and Janus in a network namespace of its own (tests/janus_host.py), which the
browsers reach on the host's end of its veth pair: Chromium gathers on every interface.
Tracks are checked per person: the video and audio of the tile that carries a publisher's
name are looked up in `getStats()` of the listener connection (`window.forumStage`)."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import WAIT
from tests.e2e.conftest import LiveServer, chromium, on_both_engines
from tests.e2e.test_live_room import (
    assert_accessible,
    gather,
    open_panel,
    open_the_room,
    signed_in,
)

pytestmark = pytest.mark.e2e

# What the listener connection receives from the publisher whose tile has `personId`.
RECEIVED = """async (personId) => {
  const pc = window.forumStage.listener();
  const video = document.querySelector(`#stage-video-tiles li[data-publisher="${personId}"] video`);
  const stream = video && video.srcObject;
  if (!pc || !stream) return { frames: 0, audio: 0, state: pc && pc.connectionState };
  let frames = 0;
  let audio = 0;
  for (const track of stream.getTracks()) {
    // a tile still showing the connection just replaced: its tracks are not on this one
    const stats = await pc.getStats(track).catch(() => null);
    if (!stats) continue;
    stats.forEach((r) => {
      if (r.type !== 'inbound-rtp') return;
      if (r.kind === 'video') frames += r.framesDecoded || 0;
      if (r.kind === 'audio') {
        audio += Math.max(r.packetsReceived || 0, r.totalSamplesReceived || 0);
      }
    });
  }
  // for the failure message: what arrives on which m-line
  const kinds = stream.getTracks().map((t) => t.kind);
  const all = [];
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp') all.push([r.kind, r.mid, r.packetsReceived, r.framesDecoded]);
  });
  const tx = pc.getTransceivers().map((t) => [t.mid, t.currentDirection]);
  return { frames, audio, state: pc.connectionState, kinds, all, tx };
}"""


# The remote address of the candidate pair the connection (`listener` or `publisher`) uses.
# (Not its local one: with Janus, Chromium reported the eth0 address as the local end of the
# pair to Janus's veth address, which Janus's namespace has no route to.)
REMOTE_ADDRESS = """async (which) => {
  const pc = window.forumStage[which]();
  const stats = pc ? await pc.getStats() : new Map();
  const byId = new Map();
  stats.forEach((r) => byId.set(r.id, r));
  for (const r of byId.values()) {
    const pair = r.type === 'transport' && byId.get(r.selectedCandidatePairId);
    if (pair && pair.state === 'succeeded') return byId.get(pair.remoteCandidateId).address;
  }
  return null;
}"""


def engine_address(live: LiveServer) -> str:
    """Where the stage's media engine receives: aiortc in this process on loopback, or the
    Janus instance (its namespace's end of the veth)."""
    if live.settings.media_engine == "janus":
        return str(urlsplit(live.settings.janus_urls.split(",")[0]).hostname)
    return "127.0.0.1"


async def remote_address(page: Any, which: str) -> str | None:
    """Where the page's stage connection (`listener`, `publisher`) sends its media to."""
    address: str | None = await page.evaluate(REMOTE_ADDRESS, which)
    return address


async def receiving(page: Any, person_id: int, log: list[str], *, audio: bool = False,
                    more_than: int = 0) -> dict[str, Any]:
    """What the page's listener connection receives from the person once it has decoded more
    than `more_than` of their video frames (and, with `audio`, some of their audio)."""
    deadline = time.monotonic() + WAIT
    got: dict[str, Any] = {}
    while time.monotonic() < deadline:
        got = await page.evaluate(RECEIVED, str(person_id))
        if got["frames"] > more_than and (not audio or got["audio"] > 0):
            return got
        await asyncio.sleep(0.25)
    raise AssertionError(f"not receiving from {person_id}: {got}; console: {log[-20:]}")


def console_log(page: Any) -> list[str]:
    log: list[str] = []
    page.on("console", lambda message: log.append(f"{message.type}: {message.text}")
            if message.type in ("warning", "error") else None)
    return log


@on_both_engines
async def test_the_stage_is_seen_and_heard(live_server: LiveServer) -> None:
    world = live_server.world
    gathering = world.gathering.id
    async with chromium() as browser:
        frida, alice, bjorn = await signed_in(browser, live_server, world.facilitator,
                                              world.alice, world.bjorn)
        logs = [console_log(who.page) for who in (frida, alice, bjorn)]
        await gather(gathering, frida, alice, bjorn)
        console = frida.page

        await open_the_room(console, alice.page, bjorn.page)
        for who in (alice, bjorn):
            await who.page.locator("#stage-video-box").wait_for(state="visible")

        # the facilitator goes on stage from the console
        await open_panel(console, "Scene og opptak")
        go = console.get_by_role("button", name="Gå på scenen med kamera og mikrofon")
        await go.click()
        leave = console.get_by_role("button", name="Gå av scenen")  # what it does now
        await leave.wait_for()
        assert await leave.get_attribute("aria-pressed") is None
        await console.locator("#stage-video-tiles li").filter(has_text="(deg)").wait_for()
        await console.get_by_role("button", name="Demp mikrofonen").wait_for()
        await console.get_by_role("button", name="Del skjermen min").wait_for()
        await console.get_by_label("Kamera på scenen").wait_for()
        await console.get_by_label("Mikrofon på scenen").wait_for()

        # both participants decode the facilitator's video, in a tile named as text
        for who, log in ((alice, logs[1]), (bjorn, logs[2])):
            tile = who.page.locator("#stage-video-tiles li").filter(has_text=world.facilitator.name)
            await tile.wait_for()
            await receiving(who.page, world.facilitator.id, log)
        # the media go straight between the browsers and the engine
        assert await remote_address(console, "publisher") == engine_address(live_server)
        assert await remote_address(alice.page, "listener") == engine_address(live_server)
        # listening only: no camera, no publishing connection, no publishing controls
        assert await alice.page.evaluate("() => window.forumStage.publisher() === null")
        assert await alice.page.get_by_role("button", name="Gå på scenen med kamera og mikrofon"
                                            ).is_hidden()

        # Alice raises her hand and is given the floor: she comes on stage by herself
        await alice.page.get_by_role("button", name="Rekk opp hånden").click()
        await open_panel(console, "Folk og talerliste")
        await console.locator("#hands li").filter(has_text=world.alice.name).wait_for()
        await console.get_by_role("button", name="Gi ordet til neste").click()
        await alice.page.wait_for_function("() => window.forumStage.publisher() !== null")
        await alice.page.locator("#stage-video-tiles li").filter(has_text="(deg)").wait_for()
        assert await alice.page.get_by_role("button", name="Del skjermen min").is_hidden()

        # Bjørn sees and hears Alice (and still sees the facilitator)
        await bjorn.page.locator("#stage-video-tiles li").filter(
            has_text=world.alice.name).wait_for()
        await receiving(bjorn.page, world.alice.id, logs[2], audio=True)
        await receiving(bjorn.page, world.facilitator.id, logs[2])
        assert await bjorn.page.locator("#stage-video-tiles b").count() == 0

        # the floor moves on to Bjørn: Alice leaves the stage by herself, Bjørn comes on
        await bjorn.page.get_by_role("button", name="Rekk opp hånden").click()
        await console.locator("#hands li").filter(has_text=world.bjorn.name).wait_for()
        await console.get_by_role("button", name="Gi ordet til neste").click()
        await alice.page.wait_for_function("() => window.forumStage.publisher() === null")
        await alice.page.locator("#stage-video-tiles li").filter(has_text="(deg)").wait_for(
            state="detached")
        await bjorn.page.wait_for_function("() => window.forumStage.publisher() !== null")
        await alice.page.locator("#stage-video-tiles li").filter(
            has_text=world.bjorn.name).wait_for()
        await receiving(alice.page, world.bjorn.id, logs[1], audio=True)
        await bjorn.page.locator("#stage-video-tiles li").filter(
            has_text=world.alice.name).wait_for(state="detached")

        await assert_accessible(console, "console with the stage")
        await assert_accessible(bjorn.page, "room with the stage")

        for who in (frida, alice, bjorn):
            assert who.errors == [], who.errors
