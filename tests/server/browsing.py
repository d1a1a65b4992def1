"""A tiny browser for page tests: real HTTP, its own cookie jar, forms read from the HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

CSRF_INPUT = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class Browser:
    """One browser profile: cookies persist between its requests, as in a real browser."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        # unsafe=True: keep cookies for an IP-address host (127.0.0.1), as browsers do.
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.get(self.url(path), **kwargs) as response:
            return response.status, await response.text(), response

    async def post(self, path: str, data: dict[str, str],
                   **kwargs: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.post(self.url(path), data=data, **kwargs) as response:
            return response.status, await response.text(), response

    async def submit(self, page: str, action: str, data: dict[str, str] | None = None,
                     **kwargs: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        """Open `page`, then post its form to `action` with the page's CSRF token."""
        status, html, _ = await self.get(page)
        assert status == 200, (status, html)
        assert f'action="{action}"' in html, f"no form posting to {action} on {page}"
        return await self.post(action, {"csrf_token": csrf_of(html), **(data or {})}, **kwargs)

    async def sign_in(self, token: str) -> aiohttp.ClientResponse:
        page = f"/signin/{token}"
        _, _, response = await self.submit(page, page, allow_redirects=False)
        return response

    def cookie(self, name: str) -> str | None:
        for cookie in self.http.cookie_jar:
            if cookie.key == name:
                return cookie.value
        return None

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.http.close()


class PageOutline(HTMLParser):
    """What the accessibility checks need: headings, landmarks, inputs and their labels."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def unlabelled_inputs(self) -> list[dict[str, str | None]]:
        labelled = {attrs.get("for") for attrs in self.all("label")}
        return [attrs for attrs in self.all("input") + self.all("textarea") + self.all("select")
                if attrs.get("type") != "hidden" and attrs.get("id") not in labelled]
