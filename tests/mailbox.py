"""A real SMTP server in the test process (aiosmtpd) and a forum that mails to it: the
`inbox` and `mail_server` fixtures (registered for every test by tests/conftest.py)."""

from __future__ import annotations

import asyncio
import email
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller

from server.app import create_app
from server.keys import POSTBOX
from server.settings import Settings
from tests.conftest import WAIT, free_port
from tests.factories import World
from tests.server.live_helpers import eventually


class Inbox:
    """An aiosmtpd handler (it runs on the controller's own thread) keeping what arrives.
    `refuse` answers that many DATA commands with `refusal` first; `gate` holds every
    delivery until the test opens it."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        self.refuse = 0
        self.refusal = "451 4.3.0 Try again later"
        self.refused = 0
        self.gate = threading.Event()
        self.gate.set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, WAIT)
        if self.refuse:
            self.refuse -= 1
            self.refused += 1
            return self.refusal
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(
            envelope.content, policy=default_policy))  # type: ignore[arg-type]
        return "250 2.0.0 OK"

    async def wait_for(self, count: int) -> list[EmailMessage]:
        await eventually(lambda: len(self.messages) >= count, what=f"{count} mails")
        return self.messages

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"].addresses[0].addr_spec == address]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        handler.gate.set()
        controller.stop()


def with_smtp(settings: Settings, port: int) -> Settings:
    return replace(settings, smtp_host="127.0.0.1", smtp_port=port,
                   public_url="https://forum.example.org")


@pytest.fixture
async def mail_server(settings: Settings, world: World,
                      inbox: tuple[Inbox, int]) -> AsyncIterator[TestServer]:
    app = create_app(with_smtp(settings, inbox[1]))
    app[POSTBOX].first_delay = 0.05  # the backoff, shortened for tests
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "both a plain-text and an HTML part"
    return text.get_content(), html.get_content()
