"""End-to-end fixtures: a real server on a real port, and a real headless Chromium.

The browser talks to the server over socket.io, which accepts only the origin in
`settings.public_url`; so the server must listen on exactly that address. We pick a free
port first and build the settings from it."""

from __future__ import annotations

import fcntl
import logging
import re
import shutil
import subprocess
import tempfile
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import create_invitation
from rooms.models import Membership, Person
from server.app import create_app
from server.settings import Settings
from tests.conftest import START_WAIT, WAIT, free_port, missing
from tests.factories import World

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
AXE_JS = STATIC / "node_modules" / "axe-core" / "axe.min.js"
BUNDLES = ("room.js", "console.js", "forum.css")
BUNDLE_LOCK = Path(tempfile.gettempdir()) / "klimasats-forum-tests-bundle.lock"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


def chunks_of(entry: Path) -> set[Path]:
    """The chunks a built entry imports, statically or on demand, and theirs (static/build.mjs:
    dist/chunks/<name>-<hash>.js); missing ones too, so a partial dist is rebuilt."""
    found: set[Path] = set()
    todo = [entry]
    while todo:
        module = todo.pop()
        for name in re.findall(r'"\./((?:chunks/)?[\w-]+\.js)"', module.read_text()):
            chunk = module.parent / name
            if chunk not in found:
                found.add(chunk)
                if chunk.exists():
                    todo.append(chunk)
    return found


def bundle_is_fresh() -> bool:
    sources = [*STATIC.glob("src/**/*.js"), *STATIC.glob("css/*.css"), STATIC / "build.mjs"]
    built = [STATIC / "dist" / name for name in BUNDLES]
    newest_source = max((p.stat().st_mtime for p in sources), default=0.0)
    return all(p.exists() and p.stat().st_mtime >= newest_source for p in built) and all(
        chunk.exists() for entry in built if entry.suffix == ".js" for chunk in chunks_of(entry))


def ensure_bundle() -> None:
    """Build static/dist when it is missing or older than its sources (esbuild: < 1 s). Test
    runs on one machine take turns (a file lock): none serves a bundle another is writing."""
    with BUNDLE_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if bundle_is_fresh():
            return
        npm = shutil.which("npm")
        if npm is None or not (STATIC / "node_modules").is_dir():
            missing("the browser bundle (run `make bundle`)")
        subprocess.run([npm, "run", "--silent", "build"], cwd=STATIC, check=True,
                       timeout=START_WAIT)


# loggers of the server and the libraries it runs on, whose errors the log check sees
SERVER_LOGGERS = ("server", "rooms", "signaling", "recordings", "facilitation", "socketio",
                  "engineio", "aiohttp", "asyncio")


class ServerLog(logging.Handler):
    """The server's log records during one end-to-end test."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in SERVER_LOGGERS:
            self.records.append(record)

    def loud(self, allowed: list[str]) -> list[str]:
        """Records at ERROR or with a traceback, but those an `allowed` pattern matches."""
        lines = [f"{r.levelname} {r.name}: {r.getMessage()}{_exception(r)}"
                 for r in self.records if r.levelno >= logging.ERROR or r.exc_info]
        return [line for line in lines if not any(re.search(a, line) for a in allowed)]


def _exception(record: logging.LogRecord) -> str:
    if not record.exc_info or record.exc_info[1] is None:
        return ""
    return " | " + traceback.format_exception_only(record.exc_info[1])[-1].strip()


@pytest.fixture(autouse=True)
def server_log(request: pytest.FixtureRequest) -> Iterator[ServerLog]:
    """Fails an end-to-end story when the server logged an error or a traceback at any
    moment of it, its shutdown included (an autouse fixture is set up first and torn down
    last). `@pytest.mark.server_log_allows("regex", ...)` names an error the test provokes
    on purpose."""
    log = ServerLog()
    root = logging.getLogger()
    root.addHandler(log)
    try:
        yield log
    finally:
        root.removeHandler(log)
    allowed = [p for mark in request.node.iter_markers("server_log_allows") for p in mark.args]
    loud = log.loud(allowed)
    if loud:
        pytest.fail("the server logged errors:\n  " + "\n  ".join(loud[:20]), pytrace=False)


@dataclass
class LiveServer:
    url: str
    settings: Settings
    sessions: async_sessionmaker
    world: World
    app: web.Application | None = None  # its services, e.g. app[STAGE]

    async def sign_in_link(self, person: Person) -> str:
        token = await create_invitation(self.sessions, person.id, days=1)
        return f"{self.url}/signin/{token}"

    async def add_participant(self, name: str, email: str) -> Person:
        """A participant of the world's theme (in Alice's municipality) with this name."""
        async with self.sessions() as session:
            person = Person(email=email, name=name,
                            municipality_id=self.world.alice.municipality_id)
            session.add(person)
            await session.flush()
            session.add(Membership(person_id=person.id, theme_id=self.world.theme.id,
                                   role="participant"))
            await session.commit()
            return person


@asynccontextmanager
async def serving(sqlite_url: str, sessions: async_sessionmaker, world: World,
                  **options: Any) -> AsyncIterator[LiveServer]:
    """A live server on a free port; `options` are further settings (e.g. `redis_url`)."""
    ensure_bundle()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(database_url=sqlite_url, secret_key="e2e-secret", host="127.0.0.1",
                        port=port, public_url=url, **options)
    server = TestServer(create_app(settings), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield LiveServer(url=url, settings=settings, sessions=sessions, world=world,
                         app=server.app)
    finally:
        await server.close()


ENGINES = ["aiortc", "janus"]
#: a stage story that runs on both media engines, so they cannot drift apart
on_both_engines = pytest.mark.parametrize("engine", ENGINES, indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The stage's media engine as Settings fields for `live_server`: the default one unless
    the test is `on_both_engines`. aiortc (in this process) gathers on loopback; Janus runs
    in a network namespace of its own (tests/janus_host.py), which Chromium reaches on the
    host's end of its veth pair without help (it gathers on every interface)."""
    name = getattr(request, "param", None)
    if name == "janus":
        host = request.getfixturevalue("janus_ice")
        return {"media_engine": "janus", "janus_urls": host.url,
                "janus_api_secret": host.secret}
    if name == "aiortc":
        request.getfixturevalue("loopback_ice")
        return {"media_engine": "aiortc"}
    return {}


@pytest.fixture
async def live_server(sqlite_url: str, sessions: async_sessionmaker, world: World,
                      engine: dict[str, Any]) -> AsyncIterator[LiveServer]:
    async with serving(sqlite_url, sessions, world, **engine) as live:
        yield live


#: how long a page waits for anything (a click's target, a locator, a navigation) before it
#: fails: sized for a loaded machine, never a duration a test expects (Playwright's own
#: default is 30 s; two media tests timed out on 10 s under load 40)
BROWSER_WAIT_MS = int(WAIT * 1000)

# Every text a page's live regions (the announcer) are given, in order, from its start: a
# region keeps only the latest announcement, which a later one may replace before a loaded
# machine lets the test look.
RECORD_ANNOUNCEMENTS = """
window.announcedTexts = [];
document.addEventListener("DOMContentLoaded", () => {
  for (const region of document.querySelectorAll("[aria-live]")) {
    new MutationObserver((records) => {
      for (const r of records) {
        const text = [...r.addedNodes].map((n) => n.textContent).join("");
        if (text) window.announcedTexts.push(text);
      }
    }).observe(region, { childList: true });
  }
});
"""


async def announced(page: Any, text: str) -> None:
    """Wait until the page has announced `text` (part of an announcement), at any moment."""
    await page.wait_for_function(
        "(text) => window.announcedTexts.some((t) => t.includes(text))", arg=text)


@asynccontextmanager
async def chromium(*extra_args: str) -> AsyncIterator[Any]:
    """A headless Debian Chromium (with `extra_args` besides CHROMIUM_ARGS), closed whatever
    happens. Every context it opens (`new_context`) waits up to BROWSER_WAIT_MS and records
    its pages' announcements (`announced`)."""
    executable = shutil.which("chromium")
    if executable is None:
        missing("Debian's chromium (apt-get install -y chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing("the playwright package")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=[*CHROMIUM_ARGS, *extra_args])
        open_context = browser.new_context

        async def new_context(**options: Any) -> Any:
            context = await open_context(**options)
            context.set_default_timeout(BROWSER_WAIT_MS)
            await context.add_init_script(RECORD_ANNOUNCEMENTS)
            return context

        browser.new_context = new_context
        try:
            yield browser
        finally:
            await browser.close()


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2.1 A/AA and best practices) on the page as it is now."""
    if not AXE_JS.exists():
        missing("axe-core (cd static && npm ci)")
    await page.add_script_tag(path=str(AXE_JS))
    result = await page.evaluate("async () => (await axe.run(document)).violations")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result]


class SocketTap:
    """Sits on a page's socket.io websocket and can hold back or drop the `event(s)` packets
    the server sends, or hold back its DISCONNECT (acks and everything else pass). Lets a
    test make one browser's view stale, lose an event, or go on writing after the server
    ended its session, deterministically."""

    EVENT_PACKETS = ('42["event",', '42["events",')  # one event, or a commit's several
    DISCONNECT_PACKET = "41"

    def __init__(self) -> None:
        self.holding = False
        self.holding_disconnect = False
        self.drop = 0
        self.held: list[tuple[Any, str]] = []

    async def attach(self, page: Any) -> None:
        await page.route_web_socket(re.compile(r"/socket\.io/"), self._route)

    def _route(self, page_side: Any) -> None:
        server_side = page_side.connect_to_server()
        server_side.on_message(lambda message: self._from_server(page_side, message))

    def _from_server(self, page_side: Any, message: str | bytes) -> None:
        if self.holding_disconnect and message == self.DISCONNECT_PACKET:
            self.held.append((page_side, message))
            return
        if isinstance(message, str) and message.startswith(self.EVENT_PACKETS):
            if self.drop > 0:
                self.drop -= 1
                return
            if self.holding:
                self.held.append((page_side, message))
                return
        page_side.send(message)

    def release(self) -> None:
        self.holding = self.holding_disconnect = False
        held, self.held = self.held, []
        for page_side, message in held:
            page_side.send(message)
