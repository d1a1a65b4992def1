"""static/src/notes.js in headless Chromium, under the forum's real Content-Security-Policy:
two people type in the plenary note at once and an observer reads along; cursors carry
names; an edit made offline arrives after the reconnect; after the end an edit is refused
and the editor goes back to the server's text. The page is a bare test page that mounts
the note exactly as the room page would (`mountNote(socket, {...})`)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import create_invitation, start_session
from server.app import create_app
from server.i18n import client_catalog
from server.keys import NOTES
from server.settings import Settings
from tests.conftest import WAIT, connect_client, free_port, missing, send
from tests.e2e.conftest import AXE_JS, STATIC, chromium
from tests.factories import World

pytestmark = pytest.mark.e2e
LABEL = "Plenumsnotater"
ENTRY = """
import { io } from "socket.io-client";
import { mountNote } from "%(src)s/notes.js";
import { loadCatalogue, readJson } from "%(src)s/i18n.js";
const boot = readJson("boot");
loadCatalogue(readJson("i18n"));
window.noteSocket = io({ transports: ["websocket"] });
window.noteHandle = mountNote(window.noteSocket, { gathering: boot.gathering, note: "plenary",
  element: document.getElementById("notes"), userName: boot.name });
"""
# collects Content-Security-Policy violations, so the test can assert there are none
CSP_WATCH = """document.addEventListener("securitypolicyviolation", (e) => {
  (window.cspViolations = window.cspViolations || []).push(
    `${e.violatedDirective} ${e.sourceFile}:${e.lineNumber}`);
});"""


def build_page_bundle(out: Path) -> None:
    esbuild = STATIC / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists() or shutil.which("node") is None:
        missing("esbuild and node (cd static && npm ci)")
    entry = out / "entry.js"
    entry.write_text(ENTRY % {"src": (STATIC / "src").as_posix()})
    subprocess.run([str(esbuild), str(entry), "--bundle", "--format=iife", "--target=es2020",
                    f"--outfile={out / 'dist' / 'notes-page.js'}"], check=True, timeout=120,
                   env={"PATH": "/usr/bin:/bin", "NODE_PATH": str(STATIC / "node_modules")},
                   capture_output=True)


@pytest.fixture
async def note_page(sqlite_url: str, sessions: async_sessionmaker, world: World,
                    tmp_path: Path) -> AsyncIterator[tuple[str, web.Application]]:
    build_page_bundle(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(database_url=sqlite_url, secret_key="e2e-notes", host="127.0.0.1",
                        port=port, public_url=url, static_dir=str(tmp_path / "dist"))
    app = create_app(settings)

    async def page(request: web.Request) -> web.Response:
        boot = json.dumps({"gathering": world.gathering.id, "name": request.query["name"]})
        catalogue = json.dumps(client_catalog("nb"))
        html = (f'<!doctype html><html lang="nb"><head><title>Notater</title></head><body>'
                f'<main><h1>Samling</h1><section id="notes"><h2>{LABEL}</h2></section>'
                f'<script type="application/json" id="boot">{boot}</script>'
                f'<script type="application/json" id="i18n">{catalogue}</script>'
                f'<script src="/static/notes-page.js"></script></main></body></html>')
        return web.Response(text=html, content_type="text/html")

    app.router.add_get("/notes-page", page)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield url, app
    finally:
        await server.close()


async def open_note(browser: Any, url: str, sessions: async_sessionmaker, person: Any,
                    state: str) -> Any:
    context = await browser.new_context(base_url=url, locale="nb-NO")
    await context.add_init_script(CSP_WATCH)
    page = await context.new_page()
    token = await create_invitation(sessions, person.id, days=1)
    await page.goto(f"/signin/{token}")
    await page.get_by_role("button", name="Logg inn").click()
    await page.wait_for_url(f"{url}/gatherings")
    await page.goto(f"/notes-page?name={person.name}")
    await page.locator(".note-state").filter(has_text=state).wait_for()
    return page


async def text_in(page: Any) -> str:
    return str(await page.evaluate("window.noteHandle.session.text.toString()"))


async def until(check: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.025)


async def test_people_write_together_in_the_browser(
        note_page: tuple[str, web.Application], sessions: async_sessionmaker,
        world: World) -> None:
    url, app = note_page
    gid = world.gathering.id
    async with chromium() as browser:
        alice = await open_note(browser, url, sessions, world.alice, "Alle endringer er lagret")
        bjorn = await open_note(browser, url, sessions, world.bjorn, "Alle endringer er lagret")
        observer = await open_note(browser, url, sessions, world.observer, "Skrivebeskyttet")
        pages = [alice, bjorn, observer]
        a_editor = alice.get_by_role("textbox", name=LABEL)
        b_editor = bjorn.get_by_role("textbox", name=LABEL)
        server_text = app[NOTES].text_of

        async def converged() -> bool:
            texts = {await text_in(p) for p in pages}
            return texts == {await server_text(gid, "plenary")}

        await a_editor.click()
        await a_editor.press_sequentially("Askvik: skolemat.", delay=10)
        await until(converged, "bjorn and the observer see alice's line")
        await b_editor.click()
        await bjorn.keyboard.press("Control+Home")
        await a_editor.press("End")
        # both type at once, at either end of the line
        await asyncio.gather(a_editor.press_sequentially(" Og melk.", delay=15),
                             b_editor.press_sequentially("Brekke: kantine. ", delay=15))
        await until(converged, "three browsers and the server agree")
        text = await server_text(gid, "plenary")
        assert text == "Brekke: kantine. Askvik: skolemat. Og melk."
        # names on the cursors, and who else is here
        await until(lambda: bjorn.locator(".cm-note-caret-name", has_text="Alice Askvik")
                    .count(), "alice's cursor at bjorn's")
        assert "Alice Askvik" in await bjorn.locator(".note-people").inner_text()

        # the observer reads only
        o_editor = observer.get_by_role("textbox", name=LABEL)
        assert await o_editor.get_attribute("aria-readonly") == "true"
        await o_editor.click()
        await o_editor.press_sequentially("nei")
        assert await server_text(gid, "plenary") == text

        # offline: alice types, the connection comes back, the text arrives
        await alice.evaluate("window.noteSocket.io.engine.close()")
        await a_editor.press_sequentially(" Frakoblet.", delay=10)
        await until(lambda: server_contains(app, gid, "Frakoblet."), "the offline edit")
        await until(converged, "agreement after the reconnect")

        # after the end, an edit is refused and the editor shows the server's text again
        frida = await connect_as(url, sessions, world.facilitator.id)
        try:
            assert (await send(frida, gid, "gathering.end"))["ok"]
        finally:
            await frida.disconnect()
        before = await server_text(gid, "plenary")
        await a_editor.press_sequentially("X")
        await alice.locator(".note-alert").filter(has_text="Skrivebeskyttet").wait_for()
        assert await a_editor.get_attribute("aria-readonly") == "true"
        assert await server_text(gid, "plenary") == before
        await until(lambda: text_equals(alice, before), "alice's editor reset")

        for page in pages:  # CodeMirror's styles must not need 'unsafe-inline'
            assert await page.evaluate("window.cspViolations || []") == []
        await assert_accessible(browser, url, bjorn)


async def server_contains(app: web.Application, gid: str, words: str) -> bool:
    return words in await app[NOTES].text_of(gid, "plenary")


async def text_equals(page: Any, expected: str) -> bool:
    return await text_in(page) == expected


async def connect_as(url: str, sessions: async_sessionmaker, person_id: int) -> Any:
    token = await start_session(sessions, person_id, days=1)
    return await connect_client(url + "/", token)


async def assert_accessible(browser: Any, url: str, signed_in: Any) -> None:
    """axe-core on the note (bypass_csp only to inject axe; the note is the same)."""
    if not AXE_JS.exists():
        missing("axe-core (cd static && npm ci)")
    context = await browser.new_context(base_url=url, locale="nb-NO", bypass_csp=True)
    await context.add_cookies(await signed_in.context.cookies())
    page = await context.new_page()
    await page.goto("/notes-page?name=Bjørn")
    await page.locator(".note-state").filter(has_text="Skrivebeskyttet").wait_for()
    await page.add_script_tag(path=str(AXE_JS))
    violations = await page.evaluate("async () => (await axe.run(document)).violations")
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []
    await context.close()
