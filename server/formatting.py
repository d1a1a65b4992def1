"""Dates, times and labels as people read them: in Norway's time zone and the page's
language. Shared by the pages, the calendars, the mail and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal

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


def date_time(moment: datetime) -> str:
    """A short date and time in the page's language: `8. des. 2026, 10:00`."""
    return format_datetime(local(moment), format="d. MMM y, HH:mm", locale=current_locale())


def number(value: float) -> str:
    """A number as the page's language writes it: `12 345,5` in bokmål and nynorsk."""
    return format_decimal(value, locale=current_locale())


def iso(moment: datetime) -> str:
    return local(moment).isoformat()


def role_label(role: Role | str) -> str:
    labels = {Role.PROGRAMME_LEAD: _("Programme lead"), Role.FACILITATOR: _("Facilitator"),
              Role.EXPERT: _("Expert"), Role.PARTICIPANT: _("Participant"),
              Role.OBSERVER: _("Observer")}
    return labels[Role(role)]
