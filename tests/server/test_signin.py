"""Sign-in by invitation over real HTTP: links, cookies, CSRF, asking for a fresh link."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from yarl import URL

from rooms.accounts import create_invitation, person_for_session, revoke_invitations
from server.app import create_app
from server.settings import SESSION_COOKIE, Settings
from tests.factories import World
from tests.server.browsing import Browser, csrf_of


def set_cookie_header(response: ClientResponse, name: str) -> str:
    headers = [h for h in response.headers.getall("Set-Cookie", []) if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers
    return headers[0]


async def test_sign_in_sets_a_strict_session_cookie_and_shows_only_own_themes(
        server: TestServer, sessions: async_sessionmaker, world: World,
        settings: Settings) -> None:
    token = await create_invitation(sessions, world.alice.id, days=1)
    async with Browser(server) as alice:
        status, page, _ = await alice.get(f"/signin/{token}")
        assert status == 200
        assert re.search(r'<button type="submit">\s*Logg inn\s*</button>', page)
        response = await alice.sign_in(token)
        assert response.status == 303
        assert response.headers["Location"] == "/gatherings"
        cookie = set_cookie_header(response, SESSION_COOKIE)
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert f"Max-Age={settings.session_days * 86400}" in cookie
        assert "Secure" not in cookie

        status, page, _ = await alice.get("/gatherings")
    assert status == 200
    assert "Mine samlinger" in page
    assert world.theme.name in page
    assert world.other_theme.name not in page
    assert f'href="/g/{world.gathering.id}"' in page
    assert f"/g/{world.other_gathering.id}" not in page
    assert "/console" not in page  # a participant does not run gatherings


async def test_opening_the_link_does_not_spend_it(server: TestServer,
                                                  sessions: async_sessionmaker,
                                                  world: World) -> None:
    token = await create_invitation(sessions, world.alice.id, days=1)
    async with Browser(server) as scanner:  # a mail scanner follows the link twice
        assert (await scanner.get(f"/signin/{token}"))[0] == 200
        assert (await scanner.get(f"/signin/{token}"))[0] == 200
    async with Browser(server) as alice:
        assert (await alice.sign_in(token)).status == 303


async def test_programme_lead_sees_every_theme_with_consoles(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    token = await create_invitation(sessions, world.lead.id, days=1)
    async with Browser(server) as lead:
        assert (await lead.sign_in(token)).status == 303
        status, page, _ = await lead.get("/gatherings")
    assert status == 200
    assert world.theme.name in page and world.other_theme.name in page
    for gathering in (world.gathering, world.other_gathering):
        assert f'href="/g/{gathering.id}/console"' in page


async def test_single_use_link_cannot_be_used_twice(server: TestServer,
                                                    sessions: async_sessionmaker,
                                                    world: World) -> None:
    token = await create_invitation(sessions, world.alice.id, days=1)
    async with Browser(server) as first, Browser(server) as second:
        assert (await first.sign_in(token)).status == 303
        status, page, _ = await second.submit(f"/signin/{token}", f"/signin/{token}",
                                              allow_redirects=False)
        assert second.cookie(SESSION_COOKIE) is None
    assert status == 410
    assert 'action="/signin/request"' in page  # ask for a fresh link right there
    assert 'name="email"' in page


async def test_reusable_link_works_until_it_expires(server: TestServer,
                                                    sessions: async_sessionmaker,
                                                    world: World) -> None:
    token = await create_invitation(sessions, world.facilitator.id, days=1, reusable=True)
    for _ in range(2):
        async with Browser(server) as device:
            assert (await device.sign_in(token)).status == 303
            assert (await device.get("/gatherings"))[0] == 200


@pytest.mark.parametrize("spoil", ["expired", "revoked"])
async def test_expired_and_revoked_links_are_refused(server: TestServer,
                                                     sessions: async_sessionmaker,
                                                     world: World, spoil: str) -> None:
    days = -1 if spoil == "expired" else 1
    token = await create_invitation(sessions, world.alice.id, days=days, reusable=True)
    if spoil == "revoked":
        await revoke_invitations(sessions, world.alice.id)
    async with Browser(server) as alice:
        status, page, _ = await alice.submit(f"/signin/{token}", f"/signin/{token}",
                                             allow_redirects=False)
        assert alice.cookie(SESSION_COOKIE) is None
    assert status == 410
    assert "virker ikke lenger" in page


async def test_post_without_a_valid_csrf_token_is_refused(server: TestServer,
                                                          sessions: async_sessionmaker,
                                                          world: World) -> None:
    token = await create_invitation(sessions, world.alice.id, days=1)
    async with Browser(server) as alice, Browser(server) as other:
        await alice.get(f"/signin/{token}")  # has the CSRF cookie, but posts no token
        status, page, _ = await alice.post(f"/signin/{token}", {}, allow_redirects=False)
        assert status == 403
        assert "Skjemaet var utdatert" in page
        status, _, _ = await alice.post(f"/signin/{token}", {"csrf_token": "0" * 64},
                                        allow_redirects=False)
        assert status == 403
        # another browser's token does not fit this browser's cookie
        _, other_page, _ = await other.get(f"/signin/{token}")
        status, _, _ = await alice.post(f"/signin/{token}", {"csrf_token": csrf_of(other_page)},
                                        allow_redirects=False)
        assert status == 403
        assert alice.cookie(SESSION_COOKIE) is None
        # none of this spent the single-use link
        assert (await alice.sign_in(token)).status == 303


async def test_foreign_origin_is_refused(server: TestServer, sessions: async_sessionmaker,
                                         world: World, settings: Settings) -> None:
    token = await create_invitation(sessions, world.alice.id, days=1)
    page = f"/signin/{token}"
    async with Browser(server) as alice:
        status, _, _ = await alice.submit(page, page, headers={"Origin": "https://evil.example"},
                                          allow_redirects=False)
        assert status == 403
        status, _, _ = await alice.submit(page, page, headers={"Origin": settings.origin},
                                          allow_redirects=False)
        assert status == 303


async def test_secure_cookies_when_configured(sessions: async_sessionmaker, world: World,
                                              settings: Settings) -> None:
    server = TestServer(create_app(replace(settings, secure_cookies=True)), host="127.0.0.1")
    await server.start_server()
    try:
        token = await create_invitation(sessions, world.alice.id, days=1)
        async with Browser(server) as alice:
            _, _, page = await alice.get(f"/signin/{token}")
            assert "Secure" in set_cookie_header(page, "forum_csrf")
            assert "SameSite=Strict" in set_cookie_header(page, "forum_csrf")
            csrf = page.cookies["forum_csrf"].value
            response = await alice.http.post(
                alice.url(f"/signin/{token}"), allow_redirects=False,
                data={"csrf_token": csrf_of(await page.text())},
                headers={"Cookie": f"forum_csrf={csrf}"})
            assert response.status == 303
            assert "Secure" in set_cookie_header(response, SESSION_COOKIE)
    finally:
        await server.close()


async def test_asking_for_a_link_logs_it_without_smtp_and_never_tells_who_exists(
        server: TestServer, world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.mail")
    async with Browser(server) as visitor:
        status, known, _ = await visitor.submit("/", "/signin/request",
                                                {"email": " Alice@Example.org "})
        assert status == 200
        links = re.findall(r"https?://\S+/signin/\S+", caplog.text)
        assert len(links) == 1
        assert world.alice.email in caplog.text
        caplog.clear()
        status, unknown, _ = await visitor.submit("/", "/signin/request",
                                                  {"email": "nobody@example.org"})
        assert status == 200
        assert caplog.text == ""
    assert known == unknown
    assert "Sjekk e-posten din" in known

    async with Browser(server) as alice:  # the logged link signs Alice in, once
        path = URL(links[0]).path
        assert (await alice.sign_in(path.rsplit("/", 1)[1])).status == 303
        status, page, _ = await alice.get("/gatherings")
        assert status == 200 and world.alice.name in page


async def test_landing_and_sign_out(server: TestServer, sessions: async_sessionmaker,
                                    world: World) -> None:
    token = await create_invitation(sessions, world.alice.id, days=1)
    async with Browser(server) as alice:
        status, page, _ = await alice.get("/", allow_redirects=False)
        assert status == 200
        assert 'action="/signin/request"' in page
        assert (await alice.get("/gatherings", allow_redirects=False))[2].headers[
            "Location"] == "/"

        await alice.sign_in(token)
        session_token = alice.cookie(SESSION_COOKIE)
        assert await person_for_session(sessions, session_token) is not None
        _, _, response = await alice.get("/", allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (303, "/gatherings")

        status, _, response = await alice.submit("/gatherings", "/signout",
                                                 allow_redirects=False)
        assert (status, response.headers["Location"]) == (303, "/")
        assert await person_for_session(sessions, session_token) is None
        assert alice.cookie(SESSION_COOKIE) is None
        _, _, response = await alice.get("/gatherings", allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (303, "/")


async def test_a_person_gets_at_most_three_links_an_hour_from_the_form(
        server: TestServer, world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.mail")
    async with Browser(server) as visitor:
        answers = []
        for _ in range(5):
            status, page, _ = await visitor.submit("/", "/signin/request",
                                                   {"email": world.bjorn.email})
            assert status == 200
            answers.append(page)
    links = re.findall(r"https?://\S+/signin/\S+", caplog.text)
    assert len(links) == 3  # the fourth and fifth ask send nothing...
    assert len(set(answers)) == 1  # ...and the answer does not tell
    assert "not sent" in caplog.text
