"""Pages over real HTTP: who may open what, escaping, accessibility basics, the catalogue."""

from __future__ import annotations

import json
import re
import struct
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import start_session
from rooms.models import Gathering, Person
from server.app import create_app
from server.settings import SESSION_COOKIE, SOURCE_ROOT, Settings
from tests.factories import World, add_participant
from tests.server.browsing import Browser, PageOutline

XSS = "<img src=x onerror=alert(1)>"
MESSAGES_PO = SOURCE_ROOT / "server" / "locale" / "nb" / "LC_MESSAGES" / "messages.po"


async def signed_in(server: TestServer, sessions: async_sessionmaker, person: Person) -> Browser:
    browser = Browser(server)
    token = await start_session(sessions, person.id, days=1)
    browser.http.cookie_jar.update_cookies({SESSION_COOKIE: token}, server.make_url("/"))
    return browser


def boot_of(page: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="boot">(.*?)</script>', page, re.S)
    assert found, "the page has no boot data"
    return dict(json.loads(found.group(1)))


@pytest.mark.parametrize(("who", "path", "status"), [
    ("alice", "/g/{gathering}", 200),
    ("alice", "/g/{gathering}/console", 403),
    ("observer", "/g/{gathering}/console", 403),
    ("expert", "/g/{gathering}/console", 403),
    ("facilitator", "/g/{gathering}/console", 200),
    ("lead", "/g/{gathering}/console", 200),
    ("lead", "/g/{other}/console", 200),
    ("outsider", "/g/{gathering}", 403),
    ("outsider", "/g/{gathering}/console", 403),
    ("facilitator", "/g/{other}", 403),
    ("alice", "/g/0123456789abcdef0123456789abcdef", 404),
])
async def test_who_may_open_rooms_and_consoles(server: TestServer, sessions: async_sessionmaker,
                                               world: World, who: str, path: str,
                                               status: int) -> None:
    url = path.format(gathering=world.gathering.id, other=world.other_gathering.id)
    async with await signed_in(server, sessions, getattr(world, who)) as browser:
        got, page, _ = await browser.get(url)
    assert got == status, page
    if status != 200:
        assert PageOutline(page).all("h1"), "error pages are pages too"


async def test_signed_out_visitors_are_sent_to_the_front_page(server: TestServer,
                                                              world: World) -> None:
    async with Browser(server) as visitor:
        for path in (f"/g/{world.gathering.id}", f"/g/{world.gathering.id}/console",
                     "/gatherings"):
            _, _, response = await visitor.get(path, allow_redirects=False)
            assert (response.status, response.headers["Location"]) == (303, "/")


async def test_room_and_console_boot_the_browser_code(server: TestServer,
                                                      sessions: async_sessionmaker,
                                                      world: World) -> None:
    gathering = world.gathering.id
    async with await signed_in(server, sessions, world.alice) as alice:
        _, page, _ = await alice.get(f"/g/{gathering}")
    assert boot_of(page) == {"gathering": gathering, "person_id": world.alice.id,
                             "role": "participant", "locale": "nb",
                             # project stages in order, to show each person's stage by name
                             "stages": [["oppstart", "Oppstart"],
                                        ["gjennomforing", "Gjennomføring"],
                                        ["videreforing", "Videreføring"]]}
    async with await signed_in(server, sessions, world.facilitator) as frida:
        _, page, _ = await frida.get(f"/g/{gathering}/console")
    assert boot_of(page)["role"] == "facilitator"


async def test_names_and_titles_are_shown_as_text(server: TestServer,
                                                  sessions: async_sessionmaker,
                                                  world: World) -> None:
    mallory = await add_participant(sessions, world.theme, "mallory@example.org", XSS)
    async with sessions() as session:
        gathering = await session.get(Gathering, world.gathering.id)
        assert gathering is not None
        gathering.title = XSS
        await session.commit()
    async with await signed_in(server, sessions, mallory) as browser:
        _, listing, _ = await browser.get("/gatherings")
        _, room, _ = await browser.get(f"/g/{world.gathering.id}")
    for page in (listing, room):
        assert XSS not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert listing.count("&lt;img src=x onerror=alert(1)&gt;") >= 2  # the name and the title


async def test_pages_are_accessible_in_the_basics(server: TestServer,
                                                  sessions: async_sessionmaker,
                                                  world: World) -> None:
    pages = []
    async with Browser(server) as visitor:
        pages += [(await visitor.get(path))[1] for path in ("/", "/signin/" + "x" * 43)]
        pages.append((await visitor.submit("/", "/signin/request", {"email": "a@example.org"}))[1])
    async with await signed_in(server, sessions, world.facilitator) as frida:
        pages.append((await frida.get("/gatherings"))[1])
    for page in pages:
        outline = PageOutline(page)
        assert outline.all("html")[0].get("lang") == "nb"
        assert any(m.get("name") == "viewport" for m in outline.all("meta"))
        assert len(outline.all("h1")) == 1
        assert outline.all("header") and outline.all("main") and outline.all("footer")
        assert outline.all("a")[0].get("href") == "#main"  # the skip link comes first
        assert outline.all("main")[0].get("id") == "main"
        assert not outline.unlabelled_inputs()
        assert any(link.get("href") == "/static/forum.css" for link in outline.all("link"))
    assert PageOutline(pages[-1]).all("nav"), "signed-in pages have navigation"


async def test_gatherings_show_date_time_and_length(server: TestServer,
                                                    sessions: async_sessionmaker,
                                                    world: World) -> None:
    async with await signed_in(server, sessions, world.facilitator) as frida:
        _, page, _ = await frida.get("/gatherings")
    # 2026-12-03 09:00 UTC is 10:00 in Oslo
    assert "torsdag 3. desember 2026 kl. 10:00" in page
    assert "Samling 1: Samling 1" in page
    assert "60 minutter" in page
    assert 'datetime="2026-12-03T10:00:00+01:00"' in page
    assert "Din rolle: Temaleder" in page
    assert f'href="/g/{world.gathering.id}/console"' in page


JS_TYPES = {"text/javascript", "application/javascript"}  # by the system's mime.types


async def test_healthz_and_static_files(sessions: async_sessionmaker, settings: Settings,
                                        tmp_path: Path) -> None:
    static = tmp_path / "built"  # missing at start: the server creates it
    app = create_app(replace(settings, static_dir=str(static)))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        (static / "forum.css").write_text("body { color: #111; }")
        (static / "room.js").write_text('import "./chunks/chunk-ABC123.js";')
        (static / "chunks").mkdir()
        (static / "chunks" / "chunk-ABC123.js").write_text("export const a = 1;")
        async with Browser(server) as visitor:
            status, body, _ = await visitor.get("/healthz")
            assert (status, json.loads(body)) == (200, {"ok": True})
            status, css, response = await visitor.get("/static/forum.css")
            assert (status, css) == (200, "body { color: #111; }")
            assert response.headers["Cache-Control"] == "no-cache"
            # the entries name their chunks: revalidated on every load, so an old entry
            # never asks for a chunk a newer build removed; chunks are named by content
            status, _, response = await visitor.get("/static/room.js")
            assert status == 200
            assert response.headers["Cache-Control"] == "no-cache"
            assert response.content_type in JS_TYPES  # a module script needs a JavaScript type
            status, _, response = await visitor.get("/static/chunks/chunk-ABC123.js")
            assert status == 200
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert response.content_type in JS_TYPES
            status, _, response = await visitor.get("/static/chunks/chunk-GONE.js")
            assert status == 404
            assert "immutable" not in response.headers.get("Cache-Control", "")
    finally:
        await server.close()


async def test_the_site_has_its_own_icon(server: TestServer) -> None:
    """Browsers ask for /favicon.ico by themselves; every page links it too (no CDN)."""
    async with Browser(server) as visitor:
        async with visitor.http.get(visitor.url("/favicon.ico")) as response:
            icon = await response.read()
            assert response.status == 200 and response.content_type == "image/x-icon"
        _, landing, _ = await visitor.get("/")
    reserved, kind, count = struct.unpack("<HHH", icon[:6])
    assert (reserved, kind) == (0, 1) and count >= 2  # an ICO file with several sizes
    sizes = {icon[6 + 16 * n] for n in range(count)}  # each image's width
    assert {16, 32} <= sizes
    assert {"rel": "icon", "href": "/favicon.ico", "sizes": "16x16 32x32 48x48"} in (
        PageOutline(landing).all("link"))


@pytest.mark.parametrize(("path", "entry"), [("", "room.js"), ("/console", "console.js")])
async def test_room_pages_load_their_bundle_as_a_module(server: TestServer,
                                                        sessions: async_sessionmaker,
                                                        world: World, path: str,
                                                        entry: str) -> None:
    """The bundle is ES modules with chunks (static/build.mjs): the entry must be a module
    script from our own origin, and the page has no inline script (the CSP allows none)."""
    async with await signed_in(server, sessions, world.facilitator) as frida:
        status, page, response = await frida.get(f"/g/{world.gathering.id}{path}")
    assert status == 200
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    scripts = PageOutline(page).all("script")
    code = [s for s in scripts if s.get("type") != "application/json"]
    assert code == [{"type": "module", "src": f"/static/{entry}"}]


def catalogue_ids(path: Path) -> dict[str, object]:
    with path.open("rb") as po:
        catalog = read_po(po)
    return {str(m.id[0] if isinstance(m.id, tuple) else m.id): m.string
            for m in catalog if m.id}


def test_every_message_has_a_bokmal_translation() -> None:
    for msgid, translation in catalogue_ids(MESSAGES_PO).items():
        strings = translation if isinstance(translation, tuple) else (translation,)
        assert all(strings), f"no nb translation for {msgid!r}"


def test_catalogue_matches_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`pybabel extract -F babel.cfg` finds exactly the msgids in messages.po."""
    monkeypatch.chdir(SOURCE_ROOT)
    template = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", "babel.cfg",
                                "-o", str(template), "."])
    extracted, translated = set(catalogue_ids(template)), set(catalogue_ids(MESSAGES_PO))
    assert extracted, "extraction found nothing: is babel.cfg right?"
    assert not extracted - translated, "msgids missing from messages.po"
    assert not translated - extracted, "msgids in messages.po that the source no longer uses"
