"""deploy/nginx/klimasats-forum.conf, the file an operator installs, run for real: Debian's
nginx with a self-signed certificate in front of two `forum serve` workers sharing
PostgreSQL and Redis. A sign-in link printed by `forum invite` works through it, its
session carries a python-socketio client over wss:// into a gathering on one worker, and an
event sent through the other worker reaches it. The test renders the file by replacing the
operator's host name, certificate, ports and paths, and fails if one of them is no longer
in the file."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import aiohttp
import pytest
import socketio
from sqlalchemy.ext.asyncio import async_sessionmaker
from yarl import URL

from rooms.db import create_engine, sessionmaker
from rooms.migrate import upgrade
from server.settings import SESSION_COOKIE
from tests.conftest import START_WAIT, WAIT, free_port, missing, send
from tests.factories import World, build_world
from tests.server.browsing import Browser
from tests.server.live_helpers import eventually
from tests.signaling.test_turn_tcp_tls import make_certificate
from tests.test_two_workers import Worker

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "nginx" / "klimasats-forum.conf"
STATIC = ROOT / "static" / "dist"
pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def render(tmp: Path, https: int, http: int, workers: list[int], cert: Path,
           key: Path) -> str:
    """The operator's file with this test's ports and paths: each value it replaces must be
    there, so the file cannot drift from what the test proves."""
    replacements = {
        "listen [::]:80;\n": "",
        "listen [::]:443 ssl http2;\n": "",
        "listen 80;": f"listen 127.0.0.1:{http};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;",
        "/etc/letsencrypt/live/forum.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/forum.example.org/privkey.pem": str(key),
        "server 127.0.0.1:8001;": f"server 127.0.0.1:{workers[0]};",
        "server 127.0.0.1:8002;": f"server 127.0.0.1:{workers[1]};",
        "/opt/klimasats-forum/static/dist/": f"{STATIC}/",
        "/var/www/html": str(tmp / "acme"),
        "/var/log/nginx/": f"{tmp}/",
    }
    text = CONF.read_text()
    for old, new in replacements.items():
        assert old in text, f"{CONF.name} no longer has {old!r}"
        text = text.replace(old, new)
    return text


def main_conf(tmp: Path, site: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf gives the site file, in a temporary prefix."""
    temp = "\n".join(f"    {kind}_temp_path {tmp / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""user root;
pid {tmp / 'nginx.pid'};
error_log {tmp / 'error.log'} info;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
{temp}
    include {site};
}}
"""


@dataclass
class Proxy:
    https: int
    http: int
    ssl: ssl.SSLContext
    workers: list[Worker]
    world: World
    sessions: async_sessionmaker
    env: dict[str, str]
    log: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https}"

    def make_url(self, path: str) -> URL:  # as aiohttp's TestServer, for tests' Browser
        return URL(self.url + path)

    def http_session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.ssl),
                                     cookie_jar=aiohttp.CookieJar(unsafe=True))


def fail_with(log: Path, why: str) -> NoReturn:
    pytest.fail(f"{why}:\n{log.read_text(errors='replace')}")


def start_worker(name: str, port: int, env: dict[str, str], tmp: Path) -> Worker:
    log = tmp / f"worker-{name}.log"
    with log.open("wb") as out:
        return Worker(name, port, subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port",
             str(port)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env), log)


def start_nginx(nginx: str, tmp: Path, site_text: str) -> tuple[subprocess.Popen[bytes], Path]:
    """nginx as this test's own process, in a temporary prefix."""
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "acme"):
        (tmp / kind).mkdir()
    site = tmp / "klimasats-forum.conf"
    site.write_text(site_text)
    conf = tmp / "nginx.conf"
    conf.write_text(main_conf(tmp, site))
    log = tmp / "nginx.out"
    with log.open("wb") as out:
        return subprocess.Popen(
            [nginx, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf),
             "-g", "daemon off;"], stdout=out, stderr=subprocess.STDOUT), log


async def wait_for(url: str, context: ssl.SSLContext, process: subprocess.Popen[bytes],
                   log: Path) -> None:
    deadline = time.monotonic() + START_WAIT
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as http:
        while True:
            if process.poll() is not None:
                fail_with(log, f"nginx exited with {process.returncode}")
            try:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        return
            except (TimeoutError, aiohttp.ClientError):
                pass
            if time.monotonic() > deadline:
                fail_with(log, f"nginx not answering in {START_WAIT}s")
            await asyncio.sleep(0.05)


@pytest.fixture
async def proxy(postgres_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Proxy]:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None:
        missing("nginx (apt-get install nginx)")
    engine = create_engine(postgres_url)
    await upgrade(engine)
    sessions = sessionmaker(engine)
    world = await build_world(sessions)
    https, http, ports = free_port(), free_port(), [free_port(), free_port()]
    certificate = make_certificate(tmp_path)
    context = ssl.create_default_context(cafile=str(certificate.cert))
    prefix = f"forum-proxy-{uuid.uuid4().hex}"
    env = {**os.environ, "DATABASE_URL": postgres_url, "REDIS_URL": redis_url,
           "REDIS_PREFIX": prefix, "SECRET_KEY": "proxy-secret", "PYTHONUNBUFFERED": "1",
           "PUBLIC_URL": f"https://127.0.0.1:{https}", "SECURE_COOKIES": "1"}
    workers: list[Worker] = []
    process = None
    try:
        workers = [start_worker(name, port, env, tmp_path)
                   for name, port in zip("AB", ports, strict=True)]
        process, nginx_log = start_nginx(nginx, tmp_path, render(
            tmp_path, https, http, ports, certificate.cert, certificate.key))
        await asyncio.gather(*(w.wait_healthy() for w in workers))
        await wait_for(f"https://127.0.0.1:{https}/healthz", context, process, nginx_log)
        yield Proxy(https, http, context, workers, world, sessions, env, tmp_path)
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=WAIT)
        for worker in workers:
            worker.stop()
        await engine.dispose()


async def test_https_pages_static_files_and_redirect(proxy: Proxy) -> None:
    async with proxy.http_session() as http:
        async with http.get(f"http://127.0.0.1:{proxy.http}/gatherings",
                            allow_redirects=False) as response:
            assert response.status == 301
            assert response.headers["Location"] == "https://127.0.0.1/gatherings"

        async with http.get(proxy.url + "/") as response:
            assert response.status == 200
            assert "default-src 'self'" in response.headers["Content-Security-Policy"]
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000"

        async with http.get(proxy.url + "/static/forum.css") as response:
            assert response.status == 200
            assert await response.read() == (STATIC / "forum.css").read_bytes()
            assert response.headers["Cache-Control"] == "no-cache"
            assert response.headers["Content-Type"].startswith("text/css")
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        chunk = next((STATIC / "chunks").glob("*.js"))
        async with http.get(f"{proxy.url}/static/chunks/{chunk.name}") as response:
            assert response.status == 200
            assert await response.read() == chunk.read_bytes()
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
        async with http.get(proxy.url + "/static/../setup.cfg") as response:
            assert response.status in {400, 404}

        async with http.post(proxy.url + "/signin/request",
                             data=b"x" * (11 * 1024 * 1024)) as response:
            assert response.status == 413  # nginx's client_max_body_size, before a worker


async def test_sign_in_link_and_a_socket_io_gathering_through_the_proxy(proxy: Proxy) -> None:
    world = proxy.world
    invite = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "invite", "--theme", world.theme.slug, "--role",
        "participant", "--email", world.alice.email, cwd=ROOT, env=proxy.env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(invite.communicate(), START_WAIT)
    assert invite.returncode == 0, err.decode()
    link = out.decode().strip()
    assert link.startswith(proxy.url + "/signin/"), link

    clients: list[socketio.AsyncClient] = []
    async with Browser(proxy) as alice, Browser(proxy) as bjorn:  # type: ignore[arg-type]
        for browser in (alice, bjorn):
            await browser.http.close()
            browser.http = proxy.http_session()
        response = await alice.sign_in(URL(link).path.rsplit("/", 1)[1])
        assert response.status == 303
        assert "Secure" in response.headers["Set-Cookie"]
        status, page, _ = await alice.get("/gatherings")
        assert status == 200 and world.theme.name in page

        from rooms.accounts import start_session  # bjorn: a session made as for tests

        token = await start_session(proxy.sessions, world.bjorn.id, days=1)
        bjorn.http.cookie_jar.update_cookies({SESSION_COOKIE: token},
                                             URL(proxy.url + "/"))
        try:
            for browser in (alice, bjorn):  # least_conn: the second socket on the other worker
                client = socketio.AsyncClient(reconnection=False, http_session=browser.http)
                client.received = []  # type: ignore[attr-defined]
                client.on("event", client.received.append)  # type: ignore[attr-defined]
                client.on("events", lambda m, c=client: c.received.extend(  # type: ignore
                    m["events"]))
                await client.connect(proxy.url, transports=["websocket"], wait_timeout=WAIT)
                assert client.transport() == "websocket"
                joined = await send(client, world.gathering.id, "room.join")
                assert joined["ok"], joined
                clients.append(client)
            on_alice, on_bjorn = clients
            sent = await send(on_bjorn, world.gathering.id, "chat.send", text="Hei via nginx")
            assert sent["ok"], sent

            def heard() -> bool:
                return any(e.get("type") == "chat.posted" and "Hei via nginx" in str(e)
                           for e in on_alice.received)  # type: ignore[attr-defined]
            await eventually(heard, WAIT, "alice hears bjorn's chat through nginx")
        finally:
            for client in clients:
                await client.disconnect()
    served = [w.log.read_text(errors="replace") for w in proxy.workers]
    assert all("Traceback" not in text for text in served), served
