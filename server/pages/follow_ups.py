"""Follow-ups from a gathering in the browser, and their reminder by e-mail.

- `/g/{id}/follow-ups`: what was said, turned into follow-ups. The gathering's shared notes
  (the plenary's and each breakout group's, harvested as the summary reads them, while the
  gathering runs and after it) line by line, each line with a form to make it a follow-up;
  and a free form. Runners choose the owner municipality; a participant proposes for their
  own municipality only. Experts and observers read.
- `/themes/{slug}/follow-ups`: the theme's follow-ups, the person's municipality's first,
  with status, due gathering and an overdue mark.
- `/follow-ups/{id}`: one follow-up; its owners and the runners change its status, short
  report and file link.
- `/g/{id}/follow-ups.json`: for the live room (static/src/follow-ups.js): the agenda
  items that list follow-ups and the follow-ups due at this gathering; members only.
- The reminder (`remind_follow_ups`, in server/mail/jobs.py JOBS): REMINDER_DAYS before a
  gathering, once across workers (rooms/once.py), to each owner municipality's members of
  the theme who have unfinished follow-ups due there.

The rules are in facilitation/follow_ups.py, the writes in rooms/follow_ups.py."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from facilitation.follow_ups import MAX_LINK, MAX_REPORT, MAX_SOURCE, MAX_TEXT, Status
from rooms.directory import role_in_theme
from rooms.follow_ups import (
    FollowUpView,
    Refused,
    create,
    due_at_gathering,
    follow_up,
    made_at_gathering,
    may_edit,
    of_theme,
    reminders,
    theme_municipalities,
    update,
)
from rooms.models import Person
from rooms.once import claim
from rooms.summaries import GatheringSummary
from server.i18n import gettext as _
from server.keys import LIVE, POSTBOX, SESSIONS, SETTINGS
from server.mail.compose import FOLLOW_UP_REMINDER, absolute
from server.mail.jobs import JOBS
from server.pages.access import Access, ThemeMember, gathering_access, theme_member
from server.pages.auth import error_page, render, see_other, signed_in
from server.pages.limits import PostingLimit
from server.pages.resolving import form_texts, resolved
from server.pages.summary import summaries

log = logging.getLogger("server.pages.follow_ups")

FOLLOW_UPS_SETTING = "follow_ups"  # an agenda item's flag: list the follow-ups due here
# writes (new follow-ups and updates together) per person: a facilitator making one of
# every line of a long note stays well inside; a runaway script does not
FOLLOW_UP_LIMIT = 60
LIMIT_WINDOW = 600.0  # seconds
LIMITS = web.AppKey("follow_up_limits", PostingLimit)


def _too_many() -> str:
    return _("Too many changes in a short time. Wait a few minutes and try again.")


def status_labels() -> dict[str, str]:
    return {Status.OPEN: _("Open"), Status.DOING: _("In progress"), Status.DONE: _("Done"),
            Status.DROPPED: _("Dropped")}


def now() -> datetime:
    return datetime.now(UTC)


class NewFollowUp(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=MAX_TEXT)]
    source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_SOURCE)] = ""
    municipality_id: int


class FollowUpUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: Status
    report: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_REPORT)] = ""
    link: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_LINK)] = ""


# --- from what was said ----------------------------------------------------------------------


def note_lines(summary: GatheringSummary) -> list[tuple[str, list[str]]]:
    """The shared notes' lines worth a follow-up, each note under its heading: the
    plenary's, then each breakout group's by round (blank lines left out)."""
    def lines(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines() if line.strip()]

    found: list[tuple[str, list[str]]] = []
    if summary.plenary_notes:
        found.append((_("Plenary notes"), lines(summary.plenary_notes)))
    for r in summary.history.rounds:
        for group in r.groups:
            text = summary.group_notes(r.round, group.id)
            if text:
                found.append((_("%(group)s, round %(round)s") % {
                    "group": group.name, "round": r.round}, lines(text)))
    return found


async def _owner_choices(request: web.Request, access: Access) -> list[tuple[int, str]]:
    """Whom the person may make follow-ups for: any of the theme's municipalities (runners),
    their own (a participant), nobody (the others)."""
    person = access.person
    if access.runs:
        return await theme_municipalities(request.app[SESSIONS], access.gathering.theme_id)
    if access.role.value == "participant" and person.municipality is not None:
        return [(person.municipality.id, person.municipality.name)]
    return []


@resolved(gathering_access)
async def harvest_page(request: web.Request, access: Access, *,
                       form: dict[str, str] | None = None, error: str | None = None,
                       status: int = 200) -> web.Response:
    summary = await summaries(request.app).build(access.gathering)
    return render(request, "pages/follow_ups_harvest.html", {
        "gathering": access.gathering, "theme": access.gathering.theme, "runs": access.runs,
        "notes": note_lines(summary),
        "owners": await _owner_choices(request, access),
        "made": await made_at_gathering(request.app[SESSIONS], access.gathering.id, now()),
        "labels": status_labels(), "form": form, "error": error,
        "max_text": MAX_TEXT, "saved": request.query.get("saved"),
    }, status=status)


@resolved(gathering_access)
async def make_follow_up(request: web.Request, access: Access) -> web.Response:
    data = form_texts(await request.post())
    if not request.app[LIMITS].allow(access.person.id):
        return await harvest_page(request, form=data, status=429, error=_too_many())
    try:
        form = NewFollowUp.model_validate(data)
        await create(request.app[SESSIONS], access.person, gathering_id=access.gathering.id,
                     municipality_id=form.municipality_id, text=form.text, source=form.source,
                     now=now())
    except (ValidationError, Refused) as problem:
        if isinstance(problem, Refused) and problem.status == 403:
            return error_page(request, 403, _(
                "You can make follow-ups only for your own municipality."))
        return await harvest_page(request, form=data, status=400, error=_(
            "Write what the municipality will try (1 to %(count)s characters) and choose "
            "the municipality.") % {"count": MAX_TEXT})
    return see_other(f"/g/{access.gathering.id}/follow-ups?saved=1#made")


# --- the theme's list and one follow-up ------------------------------------------------------


@resolved(theme_member)
async def theme_follow_ups(request: web.Request, member: ThemeMember) -> web.Response:
    everything = await of_theme(request.app[SESSIONS], member.theme.id, now())
    own = member.person.municipality_id
    return render(request, "pages/follow_ups_theme.html", {
        "theme": member.theme, "labels": status_labels(),
        "mine": [f for f in everything if own is not None and f.municipality_id == own],
        "others": [f for f in everything if own is None or f.municipality_id != own],
    })


@dataclass(frozen=True)
class Opened:
    """A follow-up of the URL, opened by a member of its theme."""

    person: Person
    follow_up: FollowUpView
    editable: bool


async def _one(request: web.Request) -> Opened | web.Response:
    """The follow-up of the URL for a member of its theme, or the page to show instead."""
    person = signed_in(request)
    if person is None:
        return see_other("/")
    sessions = request.app[SESSIONS]
    shown = await follow_up(sessions, int(request.match_info["id"]), now())
    if shown is None:
        return error_page(request, 404, _("There is no follow-up at this address."))
    if await role_in_theme(sessions, person, shown.theme_id) is None:
        return error_page(request, 403, _("You are not a member of this theme."))
    return Opened(person, shown, await may_edit(sessions, person, shown))


@resolved(_one)
async def follow_up_page(request: web.Request, opened: Opened, *,
                         form: dict[str, str] | None = None, error: str | None = None,
                         status: int = 200) -> web.Response:
    return render(request, "pages/follow_up.html", {
        "f": opened.follow_up, "editable": opened.editable, "labels": status_labels(), "form": form,
        "error": error, "saved": request.query.get("saved"), "max_report": MAX_REPORT,
        "max_link": MAX_LINK,
    }, status=status)


@resolved(_one)
async def save_follow_up(request: web.Request, opened: Opened) -> web.Response:
    person, shown = opened.person, opened.follow_up
    if not opened.editable:
        return error_page(request, 403, _(
            "Only the owner municipality's participants, the theme's facilitator and the "
            "programme lead can update this follow-up."))
    data = form_texts(await request.post())
    if not request.app[LIMITS].allow(person.id):
        return await follow_up_page(request, form=data, error=_too_many(), status=429)
    problem = _("Choose a status; the report is at most %(report)s characters and the link "
                "an address that starts with https:// or http://.") % {"report": MAX_REPORT}
    try:
        form = FollowUpUpdate.model_validate(data)
        await update(request.app[SESSIONS], person, shown.id, status=form.status,
                     report=form.report, link=form.link, now=now())
    except ValidationError:
        return await follow_up_page(request, form=data, error=problem, status=400)
    except Refused as refused:
        if refused.status == 400 and "cannot become" in refused.reason:
            problem = _("A follow-up that is done or dropped is opened again before it "
                        "changes to anything else.")
        return await follow_up_page(request, form=data, error=problem, status=refused.status)
    return see_other(f"/follow-ups/{shown.id}?saved=1")


# --- the live room ---------------------------------------------------------------------------


async def follow_ups_json(request: web.Request) -> web.Response:
    """The agenda items that list follow-ups, and the follow-ups due at this gathering."""
    access = await gathering_access(request)
    if isinstance(access, web.Response):  # signed out (a redirect to sign in), 403, 404
        status = 401 if access.status == 303 else access.status
        return web.json_response({"error": access.reason}, status=status)
    state = await request.app[LIVE].state(access.gathering.id)
    items = [slot.id for slot in state.agenda if getattr(slot, FOLLOW_UPS_SETTING, False)]
    due = await due_at_gathering(request.app[SESSIONS], access.gathering, now())
    return web.json_response({"items": items, "follow_ups": [f.as_json() for f in due]},
                             headers={"Cache-Control": "no-store"})


# --- the reminder ----------------------------------------------------------------------------


async def remind_follow_ups(app: web.Application, moment: datetime) -> None:
    """Each owner municipality's members, once per due gathering across workers. People
    who chose never to hear from the forum by e-mail get none (and the postbox skips those
    who stopped notices)."""
    sessions = app[SESSIONS]
    for reminder in await reminders(sessions, moment):
        if not await claim(sessions, FOLLOW_UP_REMINDER, reminder.key, moment):
            continue
        gathering = reminder.gathering
        listed = [{"text": f.text, "status": f.status.value,
                   "url": absolute(app[SETTINGS], f"/follow-ups/{f.id}")}
                  for f in reminder.follow_ups]
        sent = sum(app[POSTBOX].post(
            FOLLOW_UP_REMINDER, person, theme=gathering.theme.name, title=gathering.title,
            starts_at=gathering.starts_at, municipality=reminder.municipality,
            follow_ups=listed, url=f"/themes/{gathering.theme.slug}/follow-ups")
            for person in reminder.people if person.notify != "never")
        log.info("follow-up reminder for %s: %d mails", reminder.key, sent)


JOBS.append(remind_follow_ups)


def setup_follow_ups(app: web.Application) -> None:
    app[LIMITS] = PostingLimit(FOLLOW_UP_LIMIT, LIMIT_WINDOW)
    gathering = "/g/{gathering:[0-9A-Za-z]{1,64}}"
    app.router.add_get(gathering + "/follow-ups", harvest_page)
    app.router.add_post(gathering + "/follow-ups", make_follow_up)
    app.router.add_get(gathering + "/follow-ups.json", follow_ups_json)
    app.router.add_get("/themes/{slug}/follow-ups", theme_follow_ups)
    app.router.add_get(r"/follow-ups/{id:\d{1,9}}", follow_up_page)
    app.router.add_post(r"/follow-ups/{id:\d{1,9}}", save_follow_up)
