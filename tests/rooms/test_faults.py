"""An outage is one story in the log: a line when it starts, a count now and then while it
lasts, a line when it ends. And only a driver's failure to reach its server is an outage."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy.exc import IntegrityError, OperationalError

from facilitation import Actor, AgendaSlot, GatheringState, Role
from facilitation import commands as c
from rooms.clock import run_clock
from rooms.faults import Fault, Faults, outage_of
from rooms.worker import Worker
from tests.facilitation.deciding import T0, run
from tests.server.live_helpers import eventually, tracebacks

log = logging.getLogger("tests.faults")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def database(clock: FakeClock) -> Fault:
    return Fault("the database", log, every=10.0, clock=clock)


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == log.name]


def refused() -> ConnectionRefusedError:
    return ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")


def test_an_outage_is_logged_once_when_it_starts(database: Fault, clock: FakeClock,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    assert not database.down
    for _ in range(367):
        database.failed(refused())
        clock.now += 0.01
    assert database.down
    assert lines(caplog) == ["the database is unavailable: ConnectionRefusedError: [Errno 111] "
                             "Connect call failed ('127.0.0.1', 5432)"]
    assert all(record.levelno == logging.WARNING and record.exc_info is None
               for record in caplog.records)


def test_a_long_outage_is_counted_at_most_once_a_period(
        database: Fault, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(25):  # one failure a second for 25 s
        database.failed(refused())
        clock.now += 1
    assert lines(caplog)[1:] == [
        "the database is still unavailable after 10 s; 11 failures so far",
        "the database is still unavailable after 20 s; 21 failures so far",
    ]


def test_the_end_of_an_outage_is_logged_with_its_length_and_count(
        database: Fault, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(3):
        database.failed(refused())
        clock.now += 1.5
    database.recovered()
    assert not database.down
    assert lines(caplog)[-1] == "the database is back after 4.5 s; 3 failures meanwhile"
    database.recovered()  # nothing more to say
    assert len(lines(caplog)) == 2


def test_recovering_without_an_outage_logs_nothing(database: Fault,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    database.recovered()
    assert lines(caplog) == []


def test_a_later_outage_is_a_new_story(database: Fault, clock: FakeClock,
                                       caplog: pytest.LogCaptureFixture) -> None:
    database.failed(refused())
    database.failed(refused())
    clock.now += 2
    database.recovered()
    clock.now += 60
    database.failed(TimeoutError())
    clock.now += 1
    database.recovered()
    assert lines(caplog)[2:] == ["the database is unavailable: TimeoutError",
                                 "the database is back after 1.0 s; 1 failures meanwhile"]


def test_a_query_error_is_not_an_outage() -> None:
    assert outage_of(IntegrityError("INSERT", {}, Exception("duplicate key"))) is None
    assert outage_of(ValueError("bad")) is None
    assert outage_of(OSError("disk full")) is None  # not raised by a driver


def test_a_dropped_database_connection_is_an_outage() -> None:
    dropped = OperationalError("SELECT 1", {}, Exception("connection was closed"))
    assert outage_of(dropped) == "database"
    assert outage_of(asyncpg.ConnectionDoesNotExistError("gone")) == "database"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def unretried_redis(port: int) -> Redis:
    return Redis(host="127.0.0.1", port=port, retry=Retry(NoBackoff(), 0))


async def test_a_refused_connection_belongs_to_the_driver_that_tried() -> None:
    port = closed_port()
    with pytest.raises(OSError) as from_asyncpg:
        await asyncpg.connect(host="127.0.0.1", port=port, user="nobody", timeout=10)
    assert outage_of(from_asyncpg.value) == "database"
    client = unretried_redis(port)
    try:
        with pytest.raises(Exception) as from_redis:
            await client.ping()
    finally:
        await client.aclose()
    assert outage_of(from_redis.value) == "redis"


def test_faults_count_each_outage_in_its_own_fault(clock: FakeClock,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    faults = Faults(log, clock=clock)
    assert faults.failed(OperationalError("SELECT 1", {}, Exception("gone"))) is True
    assert faults.failed(KeyError("a bug")) is False
    assert faults.database.down and not faults.redis.down
    assert lines(caplog) == ["the database is unavailable: OperationalError: (builtins.Exception)"
                             " gone"]



def one_item_running() -> GatheringState:
    """A live gathering whose one ten-minute item started at T0."""
    frida = Actor(1, "Frida Fasilitator", Role.FACILITATOR)
    state = GatheringState(gathering_id="g1", agenda=(AgendaSlot(11, "Velkommen", "welcome", 10),))
    for command in (c.OpenRoom(), c.NextItem(from_item=None)):
        state = run(state, frida, command)[0]
    return state


class UnreachableRooms:
    """Live rooms whose database is gone: their one gathering is due a tick (its item's
    one-minute warning) that can never be stored."""

    def __init__(self, state: GatheringState) -> None:
        self.state = state
        self.tries = 0

    def clock(self) -> float:
        return T0 + 9.5 * 60

    def cached(self) -> list[GatheringState]:
        return [self.state]

    async def execute(self, *_: Any) -> None:
        self.tries += 1
        raise OperationalError("INSERT", {}, ConnectionRefusedError(111, "refused"))


async def test_the_clock_counts_an_outage_instead_of_a_traceback_a_tick(
        clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    rooms = UnreachableRooms(one_item_running())
    faults = Faults(log, clock=clock)
    ticking = asyncio.create_task(run_clock(rooms, faults, interval=0))  # type: ignore[arg-type]
    try:
        await eventually(lambda: rooms.tries >= 30, within=60, what="30 ticks")
    finally:
        ticking.cancel()
    assert faults.database.down
    assert len(lines(caplog)) == 1
    assert tracebacks(caplog) == []


async def test_the_worker_heartbeat_counts_a_redis_outage_instead_of_tracebacks(
        clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    redis = unretried_redis(closed_port())
    faults = Faults(log, clock=clock)
    worker = Worker(redis, ttl=0.03, faults=faults)
    try:
        for _ in range(3):
            await worker._tick()
    finally:
        await redis.aclose()
    assert faults.redis.down
    assert lines(caplog) == [line for line in lines(caplog)
                             if line.startswith("Redis is unavailable: ")]
    assert len(lines(caplog)) == 1
    assert tracebacks(caplog) == []
