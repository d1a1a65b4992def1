"""The server ends a writer's session (as a stopping worker ends everyone's) while her
browser, which has not heard of it yet, goes on typing in the shared notes and moving her
cursor: the server drops what she sends meanwhile, with no error in its log; she connects
again and nothing she wrote is lost. The log check (conftest.py, `server_log`) fails the
story on any ERROR or traceback."""

from __future__ import annotations

import logging

import pytest

from server.keys import SOCKETS
from tests.conftest import WAIT
from tests.e2e.conftest import LiveServer, ServerLog, SocketTap, chromium
from tests.e2e.test_live_room import join_the_room, signed_in
from tests.server.live_helpers import eventually

pytestmark = pytest.mark.e2e

PLENARY = "#plenary-notes .cm-content"


def stray_frames_read(log: ServerLog) -> bool:
    """The server has read a note frame sent after the session ended (dropped, or failed)."""
    return any(r.name == "server.sockets.server" and "dropped" in r.getMessage()
               or r.name.startswith("engineio") and r.levelno >= logging.ERROR
               for r in log.records)


async def test_the_server_ends_a_writers_session_and_its_log_stays_clean(
        live_server: LiveServer, server_log: ServerLog,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.sockets.server")  # its drops are INFO
    world = live_server.world
    assert live_server.app is not None
    sockets = live_server.app[SOCKETS]
    async with chromium() as browser:
        alice, bjorn = await signed_in(browser, live_server, world.alice, world.bjorn)
        tap = SocketTap()  # between Alice's room and the server
        await tap.attach(alice.page)
        await join_the_room(world.gathering.id, alice, bjorn)
        await alice.page.locator(PLENARY).click()
        await alice.page.keyboard.type("Askvik: skolemat.")
        await bjorn.page.locator(PLENARY).filter(has_text="Askvik: skolemat.").wait_for()

        # the server ends Alice's session; her browser does not hear it yet and goes on
        tap.holding_disconnect = True
        for sid in [sid for sid, c in sockets.connections.items()
                    if c.person_id == world.alice.id]:
            await sockets.sio.disconnect(sid)
        await alice.page.keyboard.type(" Og melk.")
        await alice.page.keyboard.press("Home")
        await eventually(lambda: stray_frames_read(server_log), within=WAIT,
                         what="the server read what Alice sent after her session ended")

        # she hears it, connects again, and what she wrote meanwhile arrives
        tap.release()
        await bjorn.page.locator(PLENARY).filter(has_text="Askvik: skolemat. Og melk.").wait_for()
        await alice.page.locator("#plenary-notes .note-state").filter(
            has_text="Alle endringer er lagret").wait_for()
        assert alice.errors == [] and bjorn.errors == [], (alice.errors, bjorn.errors)
