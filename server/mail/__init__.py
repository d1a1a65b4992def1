"""E-mail: sign-in links, invitations and notices to a theme's members.

`compose.py` is the one place messages are built (a plain-text and an HTML part from the
templates in server/templates/mail/, in the recipient's language); `postbox.py` sends
them over SMTP in background tasks with retries, or writes them to the log when no SMTP
server is set; `tokens.py` signs the links that stop non-essential mail
(server/pages/mail_choice.py)."""

from server.mail.compose import (
    GATHERING_CANCELLED,
    GATHERING_RESCHEDULED,
    INVITATION,
    KINDS,
    SIGN_IN,
    Recipient,
    compose,
)
from server.mail.postbox import Postbox

__all__ = ["GATHERING_CANCELLED", "GATHERING_RESCHEDULED", "INVITATION", "KINDS", "SIGN_IN",
           "Postbox", "Recipient", "compose"]
