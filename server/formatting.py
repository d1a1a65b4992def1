"""Dates, times and labels as people read them: in Norway's time zone and the page's
language. Shared by the pages, the calendars, the mail and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_time

from facilitation import Role
from server.i18n import current_locale
from server.i18n import gettext as _


def local_zone() -> ZoneInfo:
    try:
        return ZoneInfo("Europe/Oslo")
    except ZoneInfoNotFoundError:  # no tz database on this machine: install `tzdata`
        return ZoneInfo("UTC")


def local(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite gives naive UTC
    return aware.astimezone(local_zone())


def long_date(moment: datetime) -> str:
    return format_date(local(moment), format="full", locale=current_locale())


def clock(moment: datetime) -> str:
    return format_time(local(moment), "HH:mm", locale=current_locale())


def iso(moment: datetime) -> str:
    return local(moment).isoformat()


def role_label(role: Role | str) -> str:
    labels = {Role.PROGRAMME_LEAD: _("Programme lead"), Role.FACILITATOR: _("Facilitator"),
              Role.EXPERT: _("Expert"), Role.PARTICIPANT: _("Participant"),
              Role.OBSERVER: _("Observer")}
    return labels[Role(role)]
