"""Sending: SMTP with aiosmtplib in background tasks, retried with backoff, so a request
never waits for a mail server; without SMTP_HOST every mail is written to the log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from email.errors import MessageDefect
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.mailing import theme_members
from rooms.models import Person
from server.mail.compose import INVITATION, SIGN_IN, Recipient, compose, wants
from server.settings import Settings

log = logging.getLogger("server.mail")

ATTEMPTS = 4  # one try and three retries...
FIRST_DELAY = 30.0  # ...after 30 s, 1 min and 2 min
TIMEOUT = 30.0  # seconds for each SMTP exchange


async def deliver(settings: Settings, message: EmailMessage) -> None:
    """One attempt: TLS from the start on port 465, else STARTTLS when the server offers
    it; a password is never sent in the clear."""
    implicit_tls = settings.smtp_port == 465
    smtp = aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port,
                           use_tls=implicit_tls, start_tls=False, timeout=TIMEOUT,
                           tls_context=ssl.create_default_context())
    async with smtp:
        if not implicit_tls:
            await smtp.ehlo()
            if smtp.supports_extension("starttls"):
                await smtp.starttls()
            elif settings.smtp_user:
                raise aiosmtplib.SMTPException("refusing to send a password without STARTTLS")
        if settings.smtp_user:
            await smtp.login(settings.smtp_user, settings.smtp_password)
        await smtp.send_message(message)


def permanent(error: Exception) -> bool:
    """A 5xx answer will be the same next time; a 4xx, a timeout or a lost connection may
    not."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(refused.code >= 500 for refused in error.recipients)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return error.code >= 500
    return False


def one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


class Postbox:
    """Posts mail in background tasks: a request that sends mail answers at once, and a
    known address answers as fast as an unknown one."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker | None = None, *,
                 attempts: int = ATTEMPTS, first_delay: float = FIRST_DELAY) -> None:
        self.settings = settings
        self.sessions = sessions
        self.attempts = max(1, attempts)
        self.first_delay = first_delay
        self._sending: set[asyncio.Task[None]] = set()
        self._closing = asyncio.Event()

    def post_sign_in_link(self, to: str, link: str, language: str = "nb") -> None:
        """A sign-in link (essential: always sent) to an address."""
        self.post(SIGN_IN, Recipient(to, language=language), link=link,
                  days=self.settings.invitation_days)

    def post_invitation(self, person: Person, link: str, theme: str = "",
                        inviter: str = "") -> bool:
        """An invitation with its sign-in link (essential: always sent). `theme` is the
        theme's name, `inviter` who invites (both optional, shown when given)."""
        return self.post(INVITATION, person, link=link, theme=theme, inviter=inviter,
                         days=self.settings.invitation_days)

    def post(self, kind: str, person: Person | Recipient, **data: Any) -> bool:
        """Queue one mail of `kind` (server.mail.KINDS) to one person, in their language,
        and return at once; False when not queued (a non-essential kind and the person
        stopped such mail). The data each kind needs: see server/mail/compose.py's KINDS
        and /tmp/readme/mail-api.md; missing data raises TypeError here, at the caller."""
        recipient = person if isinstance(person, Recipient) else Recipient.of(person)
        if not wants(kind, recipient):
            return False
        try:
            message = compose(self.settings, kind, recipient, **data)
        except MessageDefect as error:  # an address no mail server would take
            log.warning("cannot e-mail %s mail to %r: %s", kind, recipient.email,
                        one_line(error))
            return False
        self._queue(kind, message)
        return True

    async def post_to_theme(self, theme_id: int, kind: str, **data: Any) -> int:
        """Queue one mail of `kind` to every member of the theme (whatever their role) and
        return how many were queued. Awaits only the query of who the members are: the
        sending runs in the background. People who stopped non-essential mail get none."""
        if self.sessions is None:
            raise RuntimeError("this postbox has no database to find a theme's members")
        people = await theme_members(self.sessions, theme_id)
        return sum(self.post(kind, person, **data) for person in people)

    def _queue(self, kind: str, message: EmailMessage) -> None:
        if not self.settings.smtp_host:
            log.info("%s mail to %s (no SMTP_HOST set, so not e-mailed): %s\n%s", kind,
                     message["To"], message["Subject"], _text_of(message))
            return
        task = asyncio.create_task(self._send(kind, message))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _pause(self, seconds: float) -> None:
        """The backoff between attempts, cut short when the server is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def _send(self, kind: str, message: EmailMessage) -> None:
        to = message["To"].addresses[0].addr_spec
        for attempt in range(1, self.attempts + 1):
            try:
                await deliver(self.settings, message)
            except (OSError, TimeoutError, aiosmtplib.SMTPException) as error:
                last = (attempt == self.attempts or permanent(error)
                        or (self._closing.is_set() and attempt > 1))
                delay = self.first_delay * 2 ** (attempt - 1)
                log.warning("could not e-mail %s mail to %s (attempt %d of %d): %s; %s", kind,
                            to, attempt, self.attempts, one_line(error),
                            "giving up" if last else f"trying again in {delay:g} s")
                if last:
                    return
                await self._pause(delay)
            else:
                log.info("e-mailed %s mail to %s", kind, to)
                return

    async def close(self) -> None:
        """At shutdown: mail on its way gets one more attempt at once instead of waiting
        out its backoff, and the process ends when every mail is sent or given up."""
        self._closing.set()
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content().strip() if part is not None else ""
