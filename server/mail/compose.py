"""The one place e-mails are built: each kind's subject and its two templates
(server/templates/mail/<kind>.txt and .html), rendered in the recipient's language.

A kind is essential (sign-in links, invitations: always sent) or not (notices about
gatherings): non-essential mail carries `List-Unsubscribe` with a signed one-click link
(RFC 8058) and a footer link to the same page, and is never sent to someone who opted out."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import jinja2

from rooms.models import Person
from server.formatting import clock, long_date
from server.i18n import gettext, ngettext, using_locale
from server.i18n import gettext as _
from server.mail.tokens import unsubscribe_url
from server.settings import Settings

SIGN_IN = "sign_in"
INVITATION = "invitation"
GATHERING_RESCHEDULED = "gathering_rescheduled"
GATHERING_CANCELLED = "gathering_cancelled"
FORUM_NEWS = "forum_news"  # one new item, to those who chose instant mail
WEEKLY_DIGEST = "weekly_digest"  # the week's new items, to those who chose the digest
FOLLOW_UP_REMINDER = "follow_up_reminder"
ANNOUNCEMENT = "announcement"
# to those who signed up as coming, with the room link and the .ics attached: non-essential
# (stopped by mail_opt_out, with the one-click link) but sent whatever Person.notify says,
# since signing up asked for it (server/pages/signups.py)
GATHERING_REMINDER = "gathering_reminder"
EXPERT_INVITATION = "expert_invitation"  # the link to accept or decline: essential
# the expert's answer, to the facilitator who invited: essential, as the answer to their
# own request (like a sign-in link they asked for), not news they may choose to skip
EXPERT_ANSWER = "expert_answer"
# a member's message through the forum, to its recipient at once unless they chose no forum
# mail (Person.notify "never"): it is addressed to them, not news (server/pages/network.py)
FORUM_MESSAGE = "forum_message"


@dataclass(frozen=True)
class Kind:
    name: str
    essential: bool
    subject: Callable[[Mapping[str, Any]], str]  # called in the recipient's language
    required: frozenset[str]  # the data its templates need


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind(SIGN_IN, True, lambda d: _("Your sign-in link for Klimasats-forum"),
         frozenset({"link", "days"})),
    Kind(INVITATION, True,
         lambda d: (_("You are invited to {theme} in Klimasats-forum").format(theme=d["theme"])
                    if d.get("theme") else _("You are invited to Klimasats-forum")),
         frozenset({"link", "days"})),
    Kind(GATHERING_RESCHEDULED, False,
         lambda d: _("New time: {title}").format(title=d["title"]),
         frozenset({"theme", "title", "starts_at", "previous_starts_at", "url"})),
    Kind(GATHERING_CANCELLED, False,
         lambda d: _("Cancelled: {title}").format(title=d["title"]),
         frozenset({"theme", "title", "starts_at"})),
    Kind(FORUM_NEWS, False,
         lambda d: _("New in {theme}: {title}").format(theme=d["theme"], title=d["title"]),
         frozenset({"theme", "item_kind", "title", "url"})),
    Kind(WEEKLY_DIGEST, False,
         lambda d: _("This week in Klimasats-forum (week {week})").format(week=d["week"]),
         frozenset({"week", "themes", "settings_url"})),
    Kind(FOLLOW_UP_REMINDER, False,
         lambda d: _("Your follow-ups before {title}").format(title=d["title"]),
         frozenset({"theme", "title", "starts_at", "municipality", "follow_ups", "url"})),
    Kind(ANNOUNCEMENT, False,  # the text part: the Markdown as written; HTML: rendered
         lambda d: _("Announcement: {title}").format(title=d["title"]),
         frozenset({"theme", "title", "author", "body", "body_html", "url"})),
    Kind(GATHERING_REMINDER, False,
         lambda d: _("Reminder: {title}").format(title=d["title"]),
         frozenset({"theme", "title", "starts_at", "url", "wish"})),
    Kind(EXPERT_INVITATION, True,
         lambda d: _("Invitation to speak: {title}").format(title=d["title"]),
         frozenset({"theme", "title", "starts_at", "topic", "minutes", "inviter", "url"})),
    Kind(EXPERT_ANSWER, True,
         lambda d: (_("{expert} accepted: {title}") if d["accepted"]
                    else _("{expert} declined: {title}")).format(expert=d["expert"],
                                                                  title=d["title"]),
         frozenset({"expert", "accepted", "title", "topic", "url"})),
    Kind(FORUM_MESSAGE, False,
         lambda d: _("A message from {sender} in Klimasats-forum").format(sender=d["sender"]),
         frozenset({"sender", "body", "url"})),
)}


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail (`compose(..., attachments=...)`), e.g. a gathering's .ics."""

    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "octet-stream"


@dataclass(frozen=True)
class Recipient:
    """Who a mail goes to; `person_id` None for a bare address (no unsubscribe link)."""

    email: str
    name: str = ""
    language: str = "nb"
    person_id: int | None = None
    opted_out: bool = False

    @classmethod
    def of(cls, person: Person) -> Recipient:
        return cls(person.email, person.name, person.language or "nb", person.id,
                   bool(person.mail_opt_out))


@functools.cache
def _templates(html: bool) -> jinja2.Environment:
    """Each kind's template (mail/<kind>.html) is rendered twice: for the HTML part in an
    autoescaping environment extending _html.html, for the text part in a plain one
    extending _text.html."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("server", "templates/mail"),
        extensions=["jinja2.ext.i18n"],
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(long_date=long_date, clock=clock)
    return env


def _render(kind: str, html: bool, context: Mapping[str, Any]) -> str:
    layout = "_html.html" if html else "_text.html"
    return _templates(html).get_template(f"{kind}.html").render(context, layout=layout)


def absolute(settings: Settings, url: str) -> str:
    """A path of ours ("/g/12") as a link that works from a mail client."""
    if url.startswith(("https://", "http://")):
        return url
    return str(settings.base_url).rstrip("/") + "/" + url.lstrip("/")


def wants(kind: str, recipient: Recipient) -> bool:
    """Whether this kind of mail may go to this person at all."""
    return KINDS[kind].essential or not recipient.opted_out


def compose(settings: Settings, kind: str, recipient: Recipient,
            attachments: Sequence[Attachment] = (), **data: Any) -> EmailMessage:
    """A ready message of `kind` to `recipient`, in their language. Raises KeyError for an
    unknown kind, TypeError when the kind's data is incomplete (at the caller, before
    anything is queued), email.errors.MessageDefect for an address that is none."""
    spec = KINDS[kind]
    missing = spec.required - data.keys()
    if missing:
        raise TypeError(f"{kind} mail needs {', '.join(sorted(missing))}")
    if "url" in data:
        data["url"] = absolute(settings, data["url"])
    unsubscribe = None
    if not spec.essential and recipient.person_id is not None:
        unsubscribe = unsubscribe_url(settings, recipient.person_id)
    with using_locale(recipient.language) as locale:
        context = {**data, "name": recipient.name, "unsubscribe_url": unsubscribe,
                   "home_url": absolute(settings, "/"), "lang": locale}
        subject = spec.subject(data)
        text = _render(kind, False, context).strip() + "\n"
        html = _render(kind, True, {**context, "subject": subject})

    message = EmailMessage()
    message["From"] = settings.mail_from
    # raises a MessageDefect (a ValueError) for an address no mail server would take
    message["To"] = Address(display_name=recipient.name, addr_spec=recipient.email)
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to us
    if unsubscribe is not None:
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attached in attachments:
        message.add_attachment(attached.content, maintype=attached.maintype,
                               subtype=attached.subtype, filename=attached.filename)
    message["Content-Language"] = locale  # after the parts: set_content drops Content-*
    return message
