"""The plenary stage comes back when its server-side peers go away, in real headless Chromium.

The facilitator publishes from the console and Alice listens in the room. Then the server
loses the gathering's stage, as when its worker crashes or gives the stage up:

- `StageHost.drop` closes every server peer and pushes `closed` (the worker lost the owner
  key, or stops);
- a silent loss: the server forgets the stage and its peers' ICE stops without a word (no
  DTLS close_notify, no push), as a crashed process's peers do: only the browser's own
  watch of its connections notices (ICE disconnected, then the grace period).

One after the other, in one browser. Each time Alice's stage box says the connection was
lost, her page listens again on a new connection, the facilitator's console publishes
again, Alice decodes the facilitator's video on the new connection, and the status clears
with "Reconnected to the stage.".

With Janus the same story: `drop` destroys the stage's VideoRoom; the silent loss is the
Janus instance dying (killed) under the stage, and the stage comes back on the deployment's
other instance (two Janus of the test's own: the session's one must live on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import start_session
from server.keys import STAGE
from signaling.janus_stage import JanusStage
from signaling.stage import Stage
from signaling.stage_router import StageRouter
from tests.conftest import connect_client, send
from tests.e2e.conftest import LiveServer, chromium, on_both_engines, serving
from tests.e2e.test_live_room import Person, gather, open_panel, open_the_room, signed_in
from tests.e2e.test_stage import console_log, receiving
from tests.factories import World
from tests.janus_host import kill, running_janus

pytestmark = pytest.mark.e2e

LOST = "Forbindelsen til scenen ble brutt. Kobler til på nytt …"
BACK = "Koblet til scenen igjen."

# Remember the connections in use now, and every text the stage status and the announcer
# show from now on (a status may come and go between two polls). Each text is a new text
# node (setText sets textContent): the records' added nodes are the exact history.
RECORD = """() => {
  window.recorded = { status: [], announced: [], listener: window.forumStage.listener(),
                      publisher: window.forumStage.publisher() };
  const keep = (id, list) => {
    const node = document.getElementById(id);
    new MutationObserver((records) => {
      for (const r of records) list.push([...r.addedNodes].map((n) => n.textContent).join(''));
    }).observe(node, { childList: true });
  };
  keep('stage-video-status', window.recorded.status);
  keep('announcer', window.recorded.announced);
}"""

# The page's connections are new ones and connected, and the status is empty again. The
# facilitator, alone on stage, listens to nobody (a tab is not sent its own tracks back).
RECOVERED = """(publishing) => {
  const stage = window.forumStage;
  const fresh = (pc, old) => pc !== null && pc !== old && pc.connectionState === 'connected';
  return (publishing ? stage.listener() === null
                     : fresh(stage.listener(), window.recorded.listener))
    && (!publishing || fresh(stage.publisher(), window.recorded.publisher))
    && document.getElementById('stage-video-status').textContent === '';
}"""


def stage_router(live: LiveServer) -> StageRouter:
    assert live.app is not None
    return live.app[STAGE]


async def on_stage(live: LiveServer, browser: Any) -> tuple[Person, Person, list[str]]:
    """The facilitator on stage from the console, Alice in the room decoding her."""
    world = live.world
    gathering = world.gathering.id
    frida, alice = await signed_in(browser, live, world.facilitator, world.alice)
    log = console_log(alice.page)
    await gather(gathering, frida, alice)
    await open_the_room(frida.page, alice.page)
    await alice.page.locator("#stage-video-box").wait_for(state="visible")
    await open_panel(frida.page, "Scene og opptak")
    await frida.page.get_by_role("button", name="Gå på scenen med kamera og mikrofon").click()
    await receiving(alice.page, world.facilitator.id, log)
    return frida, alice, log


async def comes_back(live: LiveServer, frida: Person, alice: Person, log: list[str]) -> None:
    """Both are told, Alice listens again and decodes the facilitator again on the new
    connection, the facilitator publishes again; the status clears: one loss, one return."""
    await alice.page.wait_for_function(f"() => window.recorded.status.includes({LOST!r})")
    await alice.page.wait_for_function(RECOVERED, arg=False)
    await frida.page.wait_for_function(RECOVERED, arg=True)
    # frames decoded on the new connection (RECEIVED reads the current listener's stats),
    # and more of them: the video goes on
    first = await receiving(alice.page, live.world.facilitator.id, log)
    await receiving(alice.page, live.world.facilitator.id, log, more_than=first["frames"])
    for who in (frida, alice):
        await who.page.wait_for_function(
            f"() => window.recorded.announced.includes({BACK!r})")
        recorded = await who.page.evaluate("() => window.recorded")
        assert recorded["status"] == [LOST, ""], recorded["status"]
        assert [t for t in recorded["announced"] if t in (LOST, BACK)] == [LOST, BACK], recorded
        assert await who.page.locator("#stage-video-status").text_content() == ""
        assert who.errors == [], who.errors


async def vanish(router: StageRouter, gathering: str) -> None:
    """The stage is gone from this server without a word to anyone, as in a crash: the
    host forgets it, and its peers' ICE stops (no DTLS close_notify reaches the browsers)."""
    stage = router.host.rooms.pop(gathering).stage
    assert isinstance(stage, Stage)
    stage.on_unpublished = None
    pcs = [p.pc for p in stage._publishers.values()]
    pcs += [listener.pc for listener in stage._listeners.values()]
    for pc in pcs:
        for transceiver in pc.getTransceivers()[:1]:  # bundled: one transport per peer
            await transceiver.sender.transport.transport.stop()
    await stage.close()


def janus_url(router: StageRouter, gathering: str) -> str:
    """The Janus instance the gathering's stage (its VideoRoom) lives on."""
    stage = router.host.rooms[gathering].stage
    assert isinstance(stage, JanusStage)
    return stage.session.url


@pytest.mark.parametrize("engine", ["aiortc"], indirect=True)  # `vanish` is aiortc's
async def test_the_stage_comes_back_after_its_server_peers_go_away(
        live_server: LiveServer) -> None:
    gathering = live_server.world.gathering.id
    router = stage_router(live_server)
    async with chromium() as browser:  # one browser for both losses: the set-up is the cost
        frida, alice, log = await on_stage(live_server, browser)

        for who in (frida, alice):
            await who.page.evaluate(RECORD)
        await router.host.drop(gathering)  # every peer closes; `closed` is pushed
        await comes_back(live_server, frida, alice, log)

        for who in (frida, alice):
            await who.page.evaluate(RECORD)
        await vanish(router, gathering)  # nothing tells the browsers
        await comes_back(live_server, frida, alice, log)


async def test_the_stage_comes_back_on_another_janus_when_its_janus_dies(
        sqlite_url: str, sessions: async_sessionmaker, world: World, tmp_path: Path) -> None:
    secret = "one-deployment-one-secret"
    with (running_janus(tmp_path / "a", secret=secret) as first,
          running_janus(tmp_path / "b", secret=secret) as second):
        janus = {first.url: first, second.url: second}
        async with serving(sqlite_url, sessions, world, media_engine="janus",
                           janus_urls=",".join(janus), janus_api_secret=secret) as live, \
                chromium() as browser:
            gathering = world.gathering.id
            router = stage_router(live)
            frida, alice, log = await on_stage(live, browser)

            for who in (frida, alice):
                await who.page.evaluate(RECORD)
            await router.host.drop(gathering)  # its VideoRoom is destroyed; `closed` is pushed
            await comes_back(live, frida, alice, log)

            for who in (frida, alice):
                await who.page.evaluate(RECORD)
            lost = janus_url(router, gathering)
            kill(janus[lost])  # the browsers' media and the server's API calls hit nothing
            await comes_back(live, frida, alice, log)
            assert janus_url(router, gathering) != lost


@on_both_engines
async def test_the_floor_moving_on_while_the_stage_comes_back_turns_the_camera_off(
        live_server: LiveServer) -> None:
    """Alice has the floor and is on stage when the server loses the stage; her page puts her
    back on stage, but the floor moves on meanwhile (the server refuses her): her page lets
    go of her camera and microphone and her own tile, though no connection was left to
    close."""
    world, gathering = live_server.world, live_server.world.gathering.id
    async with chromium() as browser:
        frida, alice, log = await on_stage(live_server, browser)
        await alice.page.get_by_role("button", name="Rekk opp hånden").click()
        await open_panel(frida.page, "Folk og talerliste")
        await frida.page.locator("#hands li").filter(has_text=world.alice.name).wait_for()
        await frida.page.get_by_role("button", name="Gi ordet til neste").click()
        await alice.page.locator("#stage-video-tiles li").filter(has_text="(deg)").wait_for()
        await alice.page.wait_for_function(
            "() => window.forumStage.publisher()?.connectionState === 'connected'")
        runner = await connect_client(live_server.url, await start_session(
            live_server.sessions, world.facilitator.id, days=1))
        try:
            # the `closed` push reaches her page first: it is already putting her back on
            # stage when the agenda moves on and ends her turn
            await stage_router(live_server).host.drop(gathering)
            assert (await send(runner, gathering, "agenda.next", from_item=None))["ok"]
        finally:
            await runner.disconnect()
        await alice.page.locator("#stage-video-tiles li").filter(has_text="(deg)").wait_for(
            state="detached")
        assert await alice.page.evaluate("() => window.forumStage.publisher() === null"
                                         " && window.forumStage.local.stream === null")
        assert alice.errors == [], alice.errors
