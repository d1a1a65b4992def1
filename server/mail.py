"""Sign-in links by e-mail over SMTP, or to the server log when no SMTP server is set."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage

from server.i18n import gettext as _
from server.settings import Settings

log = logging.getLogger(__name__)


def sign_in_message(settings: Settings, to: str, link: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = _("Your sign-in link for Klimasats-forum")
    message.set_content(_(
        "Hello,\n\nopen this link to sign in to Klimasats-forum:\n\n{link}\n\n"
        "The link is valid for {days} days and works once. If you did not ask for it, "
        "you can ignore this e-mail.\n"
    ).format(link=link, days=settings.invitation_days))
    return message


def _deliver(settings: Settings, message: EmailMessage) -> None:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_port == 465:
        smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=30,
                                context=context)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
    with smtp:
        if not isinstance(smtp, smtplib.SMTP_SSL):
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
            elif settings.smtp_user:
                raise smtplib.SMTPException("refusing to send a password without STARTTLS")
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)


class Postbox:
    """Sends in the background, so a known address answers as fast as an unknown one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._sending: set[asyncio.Task[None]] = set()

    def post_sign_in_link(self, to: str, link: str) -> None:
        if not self.settings.smtp_host:
            log.info("sign-in link for %s (no SMTP_HOST set, so not e-mailed): %s", to, link)
            return
        task = asyncio.create_task(self._send(sign_in_message(self.settings, to, link)))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, message: EmailMessage) -> None:
        try:
            await asyncio.to_thread(_deliver, self.settings, message)
        except (OSError, smtplib.SMTPException):
            log.exception("could not e-mail a sign-in link to %s", message["To"])
        else:
            log.info("e-mailed a sign-in link to %s", message["To"])

    async def close(self) -> None:
        """Let mail already on its way finish before the process ends."""
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
