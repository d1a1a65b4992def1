"""Shared fixtures: a real database, a real server and real socket.io clients."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, NoReturn

import asyncpg
import pytest
import socketio
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.accounts import start_session
from rooms.db import create_engine, sessionmaker
from rooms.migrate import upgrade
from rooms.models import Person
from server.app import create_app
from server.settings import SESSION_COOKIE, Settings
from tests.factories import World, build_world
from tests.janus_host import JanusHost, janus_missing_reason, running_janus

# Recordings go to $XDG_DATA_HOME/klimasats-forum/recordings unless RECORDINGS_DIR says
# otherwise: tests (and the worker processes they start) write to a throwaway folder.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="forum-test-data-")
atexit.register(shutil.rmtree, os.environ["XDG_DATA_HOME"], ignore_errors=True)

pytest_plugins = ["tests.mailbox"]  # the `inbox` and `mail_server` fixtures

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# Bounds sized for a busy machine (load average 30-46 on 2 cores), never durations a test
# expects: a passing test waits for its condition and never for these.
#: seconds for anything delivered or answered over the network (events, acks, media frames)
WAIT = 60.0
#: seconds for a process a test starts to be ready (`forum serve`, coturn, redis-server)
START_WAIT = 120.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def missing(what: str) -> NoReturn:
    """A tool or service the test needs is not there: skipped on a developer's machine,
    failed in CI (where every test is mandatory)."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI but missing")
    pytest.skip(f"{what} is missing")


def service_missing(what: str, error: Exception) -> NoReturn:
    missing(f"{what} (unreachable: {error})")


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice never offers 127.0.0.1; on a loopback-only host aiortc peers would never meet.
    In tests only: make it gather on loopback."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6:
                        ["127.0.0.1"])


@pytest.fixture(scope="session")
def janus_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JanusHost]:
    """One real Janus (deploy/janus/) per test process for the whole session, in a network
    namespace of its own (tests/janus_host.py)."""
    reason = janus_missing_reason()
    if reason is not None:
        missing(reason)
    with running_janus(tmp_path_factory.mktemp("janus"), event_loops=os.cpu_count() or 2) as host:
        yield host


@pytest.fixture
def janus_ice(janus_host: JanusHost, monkeypatch: pytest.MonkeyPatch) -> JanusHost:
    """aiortc peers gather on the host's end of Janus's veth, the one address Janus reaches."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6:
                        [janus_host.host_address])
    return janus_host


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"forum_test_{uuid.uuid4().hex[:12]}"
    admin_dsn = PG_ADMIN_URL
    try:
        admin = await asyncpg.connect(admin_dsn, timeout=WAIT)
    except (OSError, asyncpg.PostgresError) as error:
        service_missing("PostgreSQL", error)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def redis_url() -> str:
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, RedisConnectionError) as error:
        service_missing("Redis", error)
    finally:
        await client.aclose()
    return REDIS_URL


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path / 'forum.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Run a test once on SQLite and once on the machine's PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@asynccontextmanager
async def migrated(url: str) -> AsyncIterator[async_sessionmaker]:
    """The database at `url` migrated to the newest schema; its engine disposed of after."""
    engine = create_engine(url)
    await upgrade(engine)
    yield sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker]:
    async with migrated(sqlite_url) as made:
        yield made


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[async_sessionmaker]:
    """The migrated database, once SQLite and once PostgreSQL."""
    async with migrated(database_url) as made:
        yield made


@pytest.fixture
async def world(sessions: async_sessionmaker) -> World:
    return await build_world(sessions)


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return Settings(database_url=sqlite_url, secret_key="test-secret", host="127.0.0.1")


@pytest.fixture
async def server(settings: Settings, world: World) -> AsyncIterator[TestServer]:
    app = create_app(settings)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield test_server
    await test_server.close()


@contextlib.asynccontextmanager
async def running_server(settings: Settings,
                         sessions: async_sessionmaker) -> AsyncIterator[Connect]:
    """A server of its own for a test that needs settings made inside it; `connect` signs a
    person in and connects a client to it, as the `connect` fixture does."""
    test_server = TestServer(create_app(settings), host="127.0.0.1")
    await test_server.start_server()
    try:
        async with connecting(test_server, sessions) as connect_person:
            yield connect_person
    finally:
        await test_server.close()


Connect = Callable[[Person], Awaitable[socketio.AsyncClient]]


@pytest.fixture
async def connect(server: TestServer, sessions: async_sessionmaker) -> AsyncIterator[Connect]:
    """Sign a person in and connect a real python-socketio client as them."""
    async with connecting(server, sessions) as connect_person:
        yield connect_person


@contextlib.asynccontextmanager
async def connecting(server: TestServer,
                     sessions: async_sessionmaker) -> AsyncIterator[Connect]:
    clients: list[socketio.AsyncClient] = []

    async def _connect(person: Person) -> socketio.AsyncClient:
        token = await start_session(sessions, person.id, days=1)
        client = await connect_client(str(server.make_url("/")), token)
        clients.append(client)
        return client

    try:
        yield _connect
    finally:
        for client in clients:
            await client.disconnect()


async def connect_client(base_url: str, session_token: str | None) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    client.received = []  # type: ignore[attr-defined]
    client.on("event", lambda data: client.received.append(data))  # type: ignore[attr-defined]
    client.on("events",  # several events of one commit, in order
              lambda data: client.received.extend(data["events"]))  # type: ignore[attr-defined]
    headers = {"Cookie": f"{SESSION_COOKIE}={session_token}"} if session_token else {}
    await client.connect(base_url, headers=headers, transports=["websocket"],
                         wait_timeout=WAIT)
    return client


async def send(client: socketio.AsyncClient, gathering: str, type_: str,
               **fields: Any) -> dict[str, Any]:
    message = {"id": uuid.uuid4().hex, "type": type_, "gathering": gathering, **fields}
    return await client.call("command", message, timeout=WAIT)
