"""Recordings on the web: listed in the gathering's summary with the consent they were made
under, downloaded only by members of the theme through the authorised handler (no guessable
names, no path traversal), deleted by the facilitator, and deleted after the retention time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from recordings.archive import FAILED, READY, RECORDING, RecordingArchive
from recordings.storage import new_recording_id
from rooms.models import Recording
from server.keys import RECORDINGS
from tests.factories import World
from tests.server.browsing import Browser, csrf_of
from tests.server.test_pages import signed_in

CONTENT = b"\x00\x00\x00\x18ftypmp42 a recording"
STARTED = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


async def add_recording(server: TestServer, gathering_id: str, person_id: int,
                        status: str = READY, ended: datetime | None = STARTED,
                        content: bytes = CONTENT, started: datetime = STARTED) -> Recording:
    archive: RecordingArchive = server.app[RECORDINGS]
    recording = Recording(
        id=new_recording_id(), gathering_id=gathering_id, item_id=None, person_id=person_id,
        person_name="Eva Ekspert", consent_at=started - timedelta(minutes=1), started_by=None,
        started_at=started, ended_at=ended, seconds=754.0, size_bytes=len(content),
        streams="audio,video", status=status)
    async with archive.sessions() as session:
        session.add(recording)
        await session.commit()
    archive.path(recording).write_bytes(content)
    return recording


def download_url(gathering_id: str, recording: Recording | str) -> str:
    rid = recording if isinstance(recording, str) else recording.id
    return f"/g/{gathering_id}/recordings/{rid}"


async def test_members_download_a_recording_listed_in_the_summary(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    gid = world.gathering.id
    recording = await add_recording(server, gid, world.expert.id)
    async with await signed_in(server, sessions, world.facilitator) as frida:
        status, page, _ = await frida.get(f"/g/{gid}/summary")
        assert status == 200
        assert 'id="recordings"' in page
        assert f'href="{download_url(gid, recording)}"' in page
        assert "Eva Ekspert" in page and "12" in page  # 754 s: 12 min 34 s
    for who in (world.alice, world.observer, world.expert, world.facilitator, world.lead):
        async with (await signed_in(server, sessions, who) as member,
                    member.http.get(member.url(download_url(gid, recording))) as response):
            assert response.status == 200, who.name
            assert response.headers["Content-Type"] == "video/mp4"
            assert response.headers["Content-Disposition"].startswith("attachment;")
            assert "no-store" in response.headers["Cache-Control"]
            assert await response.read() == CONTENT


@pytest.mark.parametrize(("who", "path", "status"), [
    ("outsider", "{gid}/{rid}", 403),  # a member of another theme only
    ("alice", "{other}/{rid}", 403),  # the right id under a gathering of another theme
    ("lead", "{other}/{rid}", 404),  # ... which the programme lead may see: not there
    ("alice", "{gid}/0123456789abcdef0123456789abcdef", 404),  # no such recording
    ("alice", "{gid}/{rid}.mp4", 404),  # names are not ids
    ("alice", "{gid}/..%2F..%2F..%2Fetc%2Fpasswd", 404),
    ("alice", "{gid}/%2e%2e", 404),
])
async def test_nobody_else_gets_a_recording(server: TestServer, sessions: async_sessionmaker,
                                            world: World, who: str, path: str,
                                            status: int) -> None:
    recording = await add_recording(server, world.gathering.id, world.expert.id)
    gathering, rid = path.format(gid=world.gathering.id, other=world.other_gathering.id,
                                 rid=recording.id).split("/", 1)
    url = download_url(gathering, rid)
    async with await signed_in(server, sessions, getattr(world, who)) as browser:
        got, page, _ = await browser.get(url)
    assert got == status, page
    assert CONTENT.decode("latin-1") not in page


async def test_signed_out_visitors_get_no_recording(server: TestServer, world: World) -> None:
    recording = await add_recording(server, world.gathering.id, world.expert.id)
    async with Browser(server) as visitor:
        status, _, response = await visitor.get(download_url(world.gathering.id, recording),
                                                allow_redirects=False)
    assert status == 303 and response.headers["Location"] == "/"


@pytest.mark.parametrize("status", [RECORDING, FAILED])
async def test_an_unfinished_or_failed_recording_is_not_served(
        server: TestServer, sessions: async_sessionmaker, world: World, status: str) -> None:
    recording = await add_recording(server, world.gathering.id, world.expert.id, status=status)
    async with await signed_in(server, sessions, world.alice) as alice:
        assert (await alice.get(download_url(world.gathering.id, recording)))[0] == 404


async def test_facilitator_deletes_a_recording(server: TestServer,
                                               sessions: async_sessionmaker,
                                               world: World) -> None:
    gid = world.gathering.id
    recording = await add_recording(server, gid, world.expert.id)
    archive: RecordingArchive = server.app[RECORDINGS]
    path = archive.path(recording)
    action = f"/g/{gid}/recordings/{recording.id}/delete"
    async with await signed_in(server, sessions, world.alice) as alice:
        _, page, _ = await alice.get(f"/g/{gid}")
        status, _, _ = await alice.post(action, {"csrf_token": csrf_of(page)})
        assert status == 403
    assert path.exists()
    async with await signed_in(server, sessions, world.facilitator) as frida:
        status, _, response = await frida.submit(f"/g/{gid}/summary", action,
                                                 allow_redirects=False)
        assert status == 303
        assert response.headers["Location"] == f"/g/{gid}/summary#recordings"
        assert not path.exists()
        assert await archive.of_gathering(gid) == []
        assert (await frida.get(download_url(gid, recording)))[0] == 404
        _, page, _ = await frida.get(f"/g/{gid}/summary")
        assert 'id="recordings"' not in page


async def test_old_recordings_are_deleted_after_the_retention_time(
        server: TestServer, world: World) -> None:
    gid = world.gathering.id
    now = datetime(2027, 6, 1, tzinfo=UTC)
    old = await add_recording(server, gid, world.expert.id, ended=now - timedelta(days=31))
    recent = await add_recording(server, gid, world.expert.id, ended=now - timedelta(days=29))
    running = await add_recording(server, gid, world.expert.id, status=RECORDING, ended=None,
                                  started=now - timedelta(hours=1))
    # its worker died while it ran: it never ended
    stale = await add_recording(server, gid, world.expert.id, status=RECORDING, ended=None,
                                started=now - timedelta(days=40))
    archive: RecordingArchive = server.app[RECORDINGS]
    assert set(await archive.purge(30, now=now)) == {old.id, stale.id}
    assert not archive.path(old).exists() and not archive.path(stale).exists()
    assert archive.path(recent).exists() and archive.path(running).exists()
    assert {r.id for r in await archive.of_gathering(gid)} == {recent.id, running.id}
