"""Planning the year's gatherings (`/schedule`): the programme lead (every theme) and a
theme's facilitators (their theme) create, edit, reschedule and cancel gatherings. The
rules are rooms/schedule.py's; here are the forms, their errors, and telling the theme's
members (a notice in the forum, and e-mail through the postbox)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated

from aiohttp import web
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from rooms.models import Gathering, Notice, Person, Theme
from rooms.schedule import (
    CANCELLED,
    MAX_LENGTH,
    MAX_NUMBER,
    MAX_TITLE,
    MIN_LENGTH,
    MIN_NUMBER,
    OSLO,
    RESCHEDULED,
    Change,
    ScheduleError,
    cancel_gathering,
    create_gathering,
    edit_gathering,
    gatherings_in,
    notices_for,
    oslo_wall,
    schedulable_themes,
    template_minutes,
)
from server.formatting import clock, long_date
from server.i18n import gettext as _
from server.keys import POSTBOX, SESSIONS, SOCKETS
from server.mail import GATHERING_CANCELLED, GATHERING_RESCHEDULED, Postbox
from server.pages.auth import error_page, render, see_other, signed_in
from server.pages.planning import template_labels
from server.pages.resolving import cut_texts, field_errors, resolved

DEFAULT_TEMPLATE = "standard"
MIN_YEAR, MAX_YEAR = 2000, 2100
Day = date  # the form has a field named `date`
TEXT_LIMIT = 400  # a posted field longer than this is cut before it is shown again


class GatheringForm(BaseModel):
    """The gathering form's fields (the theme and the template only when creating)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    number: Annotated[int, Field(ge=MIN_NUMBER, le=MAX_NUMBER)]
    title: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TITLE)]
    date: date
    time: time
    minutes: Annotated[int, Field(ge=MIN_LENGTH, le=MAX_LENGTH)]

    @field_validator("date")
    @classmethod
    def plausible(cls, day: Day) -> Day:
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise ValueError(f"a year from {MIN_YEAR} to {MAX_YEAR}")
        return day

    @property
    def starts_local(self) -> datetime:
        return datetime.combine(self.date, self.time.replace(second=0, microsecond=0))


def field_messages() -> dict[str, str]:
    return {
        "theme": _("Choose a theme whose gatherings you plan."),
        "number": _("Choose the gathering's number in the year, %(low)s to %(high)s.")
        % {"low": MIN_NUMBER, "high": MAX_NUMBER},
        "title": _("Give a title of 1 to %(count)s characters.") % {"count": MAX_TITLE},
        "date": _("Give the date, for example 2027-03-04."),
        "time": _("Give the starting time in Norwegian time, for example 09:00."),
        "minutes": _("A gathering lasts %(low)s to %(high)s minutes.")
        % {"low": MIN_LENGTH, "high": MAX_LENGTH},
        "template": _("Choose one of the agendas to start from."),
    }


def schedule_text(error: ScheduleError, year: int, number: int) -> tuple[str, str]:
    """A refusal of the rules as (field or '', message for people)."""
    texts = {
        "number_taken": ("number", _("The theme already has a gathering number %(number)s in "
                                     "%(year)s. Choose another number, or cancel that "
                                     "gathering first.") % {"number": number, "year": year}),
        "no_such_time": ("time", _("That time does not exist in Norway: the clocks go "
                                   "forward from 02:00 to 03:00 that night.")),
        "no_template": ("template", field_messages()["template"]),
        "bounds": ("", _("Check the fields.")),
        "cancelled": ("", _("The gathering is cancelled: it can no longer be changed.")),
        "live": ("", _("The gathering's room is open: it can no longer be moved or "
                       "cancelled.")),
        "ended": ("", _("The gathering has ended: it can no longer be moved or cancelled.")),
    }
    return texts.get(error.code, ("", _("Something went wrong. Reload the page and try "
                                        "again.")))


def when(moment: datetime) -> str:
    return _("%(day)s at %(time)s") % {"day": long_date(moment), "time": clock(moment)}


def notice_text(notice: Notice) -> str:
    """A notice in the reader's language, from the data it was stored with."""
    data = notice.data
    names = {"number": data.get("number"), "title": data.get("title", "")}
    starts = datetime.fromisoformat(str(data["starts_at"]))
    before = datetime.fromisoformat(str(data.get("previous_starts_at", data["starts_at"])))
    if notice.kind == CANCELLED:
        return _("Gathering %(number)s, “%(title)s”, on %(when)s is cancelled.") % {
            **names, "when": when(before)}
    parts = []
    if starts != before:
        parts.append(_("Gathering %(number)s, “%(title)s”, has moved from %(before)s to "
                       "%(after)s.") % {**names, "before": when(before), "after": when(starts)})
    if data.get("minutes") != data.get("previous_minutes"):
        parts.append(_("Gathering %(number)s, “%(title)s”, now lasts %(minutes)s minutes "
                       "(before: %(previous)s).") % {**names, "minutes": data.get("minutes"),
                                                    "previous": data.get("previous_minutes")})
    return " ".join(parts)


async def notices_of(request: web.Request, theme_ids: list[int]) -> list[tuple[Notice, str]]:
    """The themes' recent notices with their text, for the theme page and `/gatherings`."""
    notices = await notices_for(request.app[SESSIONS], theme_ids)
    return [(notice, notice_text(notice)) for notice in notices]


async def notify_members(postbox: Postbox, change: Change, kind: str) -> int:
    """E-mail the theme's members about a reschedule or a cancellation; how many mails were
    queued. The postbox sends in the background, in each person's language, and skips those
    who stopped such mail (server/mail/)."""
    gathering = change.gathering
    common = {"theme": gathering.theme.name, "title": gathering.title}
    if kind == RESCHEDULED:
        return await postbox.post_to_theme(
            gathering.theme_id, GATHERING_RESCHEDULED, **common, url=f"/g/{gathering.id}",
            starts_at=gathering.starts_at, previous_starts_at=change.previous_starts_at)
    return await postbox.post_to_theme(
        gathering.theme_id, GATHERING_CANCELLED, **common,
        starts_at=change.previous_starts_at, url=f"/themes/{gathering.theme.slug}")


# --- the pages -------------------------------------------------------------------------------


def this_year() -> int:
    return datetime.now(OSLO).year


def _year(request: web.Request) -> int:
    raw = request.query.get("year", "")
    year = int(raw) if raw.isdigit() and len(raw) == 4 else 0
    return year if MIN_YEAR <= year <= MAX_YEAR else this_year()


def _forbidden(request: web.Request) -> web.Response:
    return error_page(request, 403, _("Only the programme lead and the theme's facilitators "
                                      "plan its gatherings."))


@dataclass(frozen=True)
class Planner:
    """The signed-in person and the themes whose gatherings they plan."""

    person: Person
    themes: list[Theme]


async def _planner(request: web.Request) -> Planner | web.Response:
    """Who plans here, or the page to show instead."""
    person = signed_in(request)
    if person is None:
        return see_other("/")
    themes = await schedulable_themes(request.app[SESSIONS], person)
    if not themes:
        return _forbidden(request)
    return Planner(person, themes)


@resolved(_planner)
async def schedule_page(request: web.Request, planner: Planner) -> web.Response:
    themes, year = planner.themes, _year(request)
    gatherings = await gatherings_in(request.app[SESSIONS], [t.id for t in themes], year)
    per_theme = [(theme, [g for g in gatherings if g.theme_id == theme.id]) for theme in themes]
    return render(request, "pages/schedule.html", {
        "year": year, "per_theme": per_theme, "done": request.query.get("done", ""),
        "changed": request.query.get("gathering", ""),
        "notices": await notices_of(request, [t.id for t in themes])})


async def _form(request: web.Request, *, themes: list[Theme], gathering: Gathering | None,
                values: dict[str, str], errors: dict[str, str] | None = None,
                general: str = "", status: int = 200) -> web.Response:
    return render(request, "pages/schedule_form.html", {
        "gathering": gathering, "themes": themes, "values": values, "errors": errors or {},
        "general": general, "templates": template_labels(), "numbers": range(MIN_NUMBER,
                                                                             MAX_NUMBER + 1),
        "min_length": MIN_LENGTH, "max_length": MAX_LENGTH, "max_title": MAX_TITLE,
    }, status=status)


def _values(gathering: Gathering) -> dict[str, str]:
    wall = oslo_wall(gathering.starts_at)
    return {"number": str(gathering.number), "title": gathering.title,
            "date": wall.date().isoformat(), "time": f"{wall:%H:%M}",
            "minutes": str(gathering.planned_minutes)}


@resolved(_planner)
async def new_page(request: web.Request, planner: Planner) -> web.Response:
    themes = planner.themes
    values = {"theme": request.query.get("theme", themes[0].slug), "number": "",
              "title": "", "date": "", "time": "09:00",
              "minutes": str(template_minutes(DEFAULT_TEMPLATE)), "template": DEFAULT_TEMPLATE,
              "year": str(_year(request))}
    return await _form(request, themes=themes, gathering=None, values=values)


@resolved(_planner)
async def create(request: web.Request, planner: Planner) -> web.Response:
    themes = planner.themes
    values = cut_texts(await request.post(), TEXT_LIMIT)
    errors: dict[str, str] = {}
    theme = next((t for t in themes if t.slug == values.get("theme")), None)
    if theme is None:
        errors["theme"] = field_messages()["theme"]
    template = values.get("template", "")
    if template and template not in template_labels():
        errors["template"] = field_messages()["template"]
    try:
        form = GatheringForm.model_validate(values)
    except ValidationError as invalid:
        errors |= field_errors(invalid, field_messages())
    if errors or theme is None:
        return await _form(request, themes=themes, gathering=None, values=values, errors=errors,
                           status=400)
    try:
        gathering = await create_gathering(request.app[SESSIONS], planner.person,
                                           theme_id=theme.id, number=form.number,
                                           title=form.title, starts_local=form.starts_local,
                                           minutes=form.minutes, template=template)
    except ScheduleError as refused:
        return await _refused(request, refused, form, themes, None, values)
    return see_other(f"/schedule?year={gathering.year}&done=created&gathering={gathering.id}"
                     f"#gathering-{gathering.id}")


async def _refused(request: web.Request, refused: ScheduleError, form: GatheringForm | None,
                   themes: list[Theme], gathering: Gathering | None,
                   values: dict[str, str]) -> web.Response:
    if refused.code == "not_allowed":
        return _forbidden(request)
    if refused.code == "not_found":
        return error_page(request, 404, _("There is no gathering at this address."))
    year = form.date.year if form else 0
    field, message = schedule_text(refused, year, form.number if form else 0)
    return await _form(request, themes=themes, gathering=gathering, values=values,
                       errors={field: message} if field else {},
                       general="" if field else message, status=409)


Planned = tuple[Person, Gathering, list[Theme]]


async def _gathering(request: web.Request) -> Planned | web.Response:
    """The signed-in person, the gathering of the URL, and the themes they plan; or the page
    to show instead."""
    person = signed_in(request)
    if person is None:
        return see_other("/")
    gathering_id = request.match_info["gathering"]
    async with request.app[SESSIONS]() as session:
        gathering = await session.get(Gathering, gathering_id)
    if gathering is None:
        return error_page(request, 404, _("There is no gathering at this address."))
    themes = await schedulable_themes(request.app[SESSIONS], person)
    if gathering.theme_id not in {t.id for t in themes}:
        return _forbidden(request)
    return person, gathering, themes


@resolved(_gathering)
async def edit_page(request: web.Request, found: Planned) -> web.Response:
    _person, gathering, themes = found
    if gathering.cancelled_at is not None:
        return await _form(request, themes=themes, gathering=gathering, values=_values(gathering),
                           general=schedule_text(ScheduleError("cancelled"), 0, 0)[1])
    return await _form(request, themes=themes, gathering=gathering, values=_values(gathering))


@resolved(_gathering)
async def edit(request: web.Request, found: Planned) -> web.Response:
    person, gathering, themes = found
    values = cut_texts(await request.post(), TEXT_LIMIT)
    try:
        form = GatheringForm.model_validate(values)
    except ValidationError as invalid:
        return await _form(request, themes=themes, gathering=gathering, values=values,
                           errors=field_errors(invalid, field_messages()), status=400)
    try:
        change = await edit_gathering(request.app[SESSIONS], person, gathering.id,
                                      title=form.title, number=form.number,
                                      starts_local=form.starts_local, minutes=form.minutes)
    except ScheduleError as refused:
        return await _refused(request, refused, form, themes, gathering, values)
    request.app[SOCKETS].headers.forget(gathering.id)  # the room's title bar shows it now
    if change.rescheduled:
        await notify_members(request.app[POSTBOX], change, RESCHEDULED)
    done = "rescheduled" if change.rescheduled else "saved"
    return see_other(f"/schedule?year={change.gathering.year}&done={done}"
                     f"&gathering={gathering.id}#gathering-{gathering.id}")


@resolved(_gathering)
async def cancel_page(request: web.Request, found: Planned) -> web.Response:
    return render(request, "pages/schedule_cancel.html", {"gathering": found[1], "error": ""})


@resolved(_gathering)
async def cancel(request: web.Request, found: Planned) -> web.Response:
    person, gathering, _themes = found
    try:
        change = await cancel_gathering(request.app[SESSIONS], person, gathering.id,
                                        now=datetime.now(UTC))
    except ScheduleError as refused:
        if refused.code in {"not_allowed", "not_found"}:
            return await _refused(request, refused, None, [], gathering, {})
        return render(request, "pages/schedule_cancel.html", {
            "gathering": gathering, "error": schedule_text(refused, 0, 0)[1]}, status=409)
    request.app[SOCKETS].headers.forget(gathering.id)  # joining is refused from now on
    if change.changed:
        await notify_members(request.app[POSTBOX], change, CANCELLED)
    return see_other(f"/schedule?year={gathering.year}&done=cancelled&gathering={gathering.id}"
                     f"#gathering-{gathering.id}")


def setup_schedule(app: web.Application) -> None:
    gathering = "/schedule/{gathering:[0-9A-Za-z]{1,64}}"
    app.router.add_get("/schedule", schedule_page)
    app.router.add_get("/schedule/new", new_page)
    app.router.add_post("/schedule/new", create)
    app.router.add_get(gathering + "/edit", edit_page)
    app.router.add_post(gathering + "/edit", edit)
    app.router.add_get(gathering + "/cancel", cancel_page)
    app.router.add_post(gathering + "/cancel", cancel)
