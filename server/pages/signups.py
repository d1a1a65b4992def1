"""Who is coming (issue 10, point 10).

`/gatherings/{id}/signup`: a member of the theme answers coming / not coming / a colleague
comes instead, with a short wish, and changes it until the gathering starts.
`/gatherings/{id}/expected` (the theme's runners): the expected municipalities with their
projects' stages, the counts and the wishes; per breakout item, "propose groups" groups the
sign-ups by the item's own rule (facilitation/grouping.py, as the live breakouts do) and
keeps the proposal (rooms/signups.py). When the item starts on the day, the live decision
uses it, adjusted for who arrived (facilitation/signups.py `adjust_proposal`).

The day-before reminder (`remind_coming`, appended to server/mail/jobs.py JOBS): from 26 to
2 hours before the start, each person who signed up as coming gets one mail with the room
link and the gathering's .ics attached, claimed once across workers (rooms/once.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from facilitation.grouping import propose_groups
from facilitation.signups import (
    ANSWERS,
    COLLEAGUE,
    COMING,
    MAX_WISH_CHARS,
    NOT_COMING,
    advance_members,
    counts,
    expected_municipalities,
    is_seat,
    may_answer,
    planned_for,
)
from facilitation.state import AdvanceGroups, GroupingRule
from rooms import signups
from rooms.context import met_in
from rooms.directory import earlier_gatherings, stage_names
from rooms.once import claim
from rooms.signups import Closed, NotAllowed
from server.i18n import gettext as _
from server.i18n import using_locale
from server.keys import LIVE, POSTBOX, SESSIONS, STORE
from server.mail.compose import GATHERING_REMINDER, Attachment
from server.mail.jobs import JOBS
from server.pages.access import Access, gathering_access
from server.pages.auth import error_page, render, see_other
from server.pages.calendar import ics_filename, ics_of
from server.pages.planning import rule_labels


class SignUpForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    answer: Literal["coming", "not_coming", "colleague"]
    wish: Annotated[str, StringConstraints(strip_whitespace=True,
                                           max_length=MAX_WISH_CHARS)] = ""


def answer_labels() -> dict[str, str]:
    return {COMING: _("I am coming"), NOT_COMING: _("I am not coming"),
            COLLEAGUE: _("Someone else from our municipality comes")}


def _closed(access: Access, now: datetime) -> bool:
    gathering = access.gathering
    return not may_answer(gathering.starts_at, gathering.cancelled_at is not None, now)


async def _signup_page(request: web.Request, access: Access, *, error: str | None = None,
                       typed: dict[str, str] | None = None, status: int = 200) -> web.Response:
    mine = await signups.answer_of(request.app[SESSIONS], access.person.id,
                                   access.gathering.id)
    form = typed if typed is not None else {
        "answer": mine.answer if mine else "", "wish": mine.wish if mine else ""}
    return render(request, "pages/signup.html", {
        "gathering": access.gathering, "theme": access.gathering.theme, "runs": access.runs,
        "mine": mine, "form": form, "error": error, "labels": answer_labels(),
        "answers": ANSWERS, "max_wish": MAX_WISH_CHARS,
        "closed": _closed(access, datetime.now(UTC)), "saved": "saved" in request.query,
    }, status=status)


async def signup_page(request: web.Request) -> web.Response:
    access = await gathering_access(request)
    if isinstance(access, web.Response):
        return access
    return await _signup_page(request, access)


async def save_signup(request: web.Request) -> web.Response:
    access = await gathering_access(request)
    if isinstance(access, web.Response):
        return access
    posted = await request.post()
    typed = {"answer": str(posted.get("answer", ""))[:20],
             "wish": str(posted.get("wish", "")).replace("\r\n", "\n")}
    try:
        form = SignUpForm.model_validate(typed)
    except ValidationError:
        return await _signup_page(request, access, typed=typed, status=400, error=_(
            "Choose one of the three answers; what you want from the gathering has at most "
            "%(count)s characters.") % {"count": MAX_WISH_CHARS})
    try:
        await signups.sign_up(request.app[SESSIONS], access.person, access.gathering.id,
                              answer=form.answer, wish=form.wish, now=datetime.now(UTC))
    except Closed:
        return await _signup_page(request, access, typed=typed, status=409, error=_(
            "The gathering has started or was cancelled: answers can no longer change."))
    except NotAllowed:
        return error_page(request, 403, _("This gathering belongs to a theme you are not a "
                                          "member of."))
    return see_other(f"/gatherings/{access.gathering.id}/signup?saved=1#answer")


# --- the runners' view -------------------------------------------------------------------------


async def _expected_page(request: web.Request, access: Access, *, error: str | None = None,
                         status: int = 200) -> web.Response:
    sessions = request.app[SESSIONS]
    gathering = access.gathering
    answers = await signups.answers(sessions, gathering)
    places = {a.municipality_id for a in answers if a.municipality_id is not None}
    projects = await signups.projects_of(sessions, gathering.theme_id, places)
    stages = {place: [p.stage for p in found] for place, found in projects.items()}
    names = dict(await stage_names(sessions))
    state = await request.app[LIVE].state(gathering.id)
    saved = signups.proposals_of(gathering)
    items = [(slot, saved.get(slot.id), saved.get(slot.id) is not None and planned_for(
        [saved[slot.id].advance], slot.id, slot.breakout) is None)
        for slot in state.agenda if slot.breakout is not None]
    return render(request, "pages/signups_expected.html", {
        "gathering": gathering, "theme": gathering.theme, "error": error,
        "expected": expected_municipalities(answers, stages), "counts": counts(answers),
        "wishes": [a for a in answers if a.wish and a.answer != NOT_COMING],
        "stage_names": names, "items": items, "rule_labels": rule_labels(),
        "self_select": GroupingRule.SELF_SELECT, "is_seat": is_seat,
        "labels": answer_labels(),
    }, status=status)


async def expected_page(request: web.Request) -> web.Response:
    access = await gathering_access(request, runners_only=True)
    if isinstance(access, web.Response):
        return access
    return await _expected_page(request, access)


async def propose(request: web.Request) -> web.Response:
    """Groups for one breakout item from the sign-ups, by the item's rule; kept."""
    access = await gathering_access(request, runners_only=True)
    if isinstance(access, web.Response):
        return access
    sessions = request.app[SESSIONS]
    gathering = access.gathering
    state = await request.app[LIVE].state(gathering.id)
    item_id = int(request.match_info["item"])
    slot = next((s for s in state.agenda if s.id == item_id and s.breakout is not None), None)
    if slot is None or slot.breakout is None:
        return error_page(request, 404, _("That item is no longer on the agenda."))
    if slot.breakout.rule is GroupingRule.SELF_SELECT:
        return await _expected_page(request, access, status=409, error=_(
            "In this item the participants choose their own group: there is nothing to "
            "propose."))
    answers = await signups.answers(sessions, gathering)
    places = {a.municipality_id for a in answers if a.municipality_id is not None}
    newest = {place: (found[-1].stage, tuple(found[-1].tags or ()))
              for place, found in (await signups.projects_of(
                  sessions, gathering.theme_id, places)).items()}
    members = advance_members(answers, newest)
    if not members:
        return await _expected_page(request, access, status=409, error=_(
            "Nobody has signed up as coming yet: there is no one to put in groups."))
    met = await met_in(request.app[STORE], await earlier_gatherings(sessions, gathering))
    groups = propose_groups(members, slot.breakout, met=met,
                            stage_names=dict(await stage_names(sessions)),
                            seed=f"{gathering.id}:advance:{item_id}")
    try:
        await signups.save_proposal(sessions, access.person, gathering.id,
                                    AdvanceGroups(item_id, slot.breakout, groups),
                                    datetime.now(UTC))
    except NotAllowed:
        return error_page(request, 403, _("Only the facilitator of this theme and the "
                                          "programme lead can do this."))
    return see_other(f"/gatherings/{gathering.id}/expected#item-{item_id}")


# --- the day-before reminder -------------------------------------------------------------------


async def remind_coming(app: web.Application, now: datetime) -> None:
    """Each person signed up as coming to a gathering in its reminder window gets one
    reminder (claimed per gathering and person, so once across workers), in their language,
    with the .ics attached. Person.mail_opt_out stops it (the postbox checks)."""
    sessions = app[SESSIONS]
    for gathering, people in await signups.reminders_due(sessions, now, GATHERING_REMINDER):
        files: dict[str, bytes] = {}  # the .ics in each language, made before any claim
        for person in people:
            language = person.language or "nb"
            if language not in files:
                with using_locale(language):
                    files[language] = await ics_of(app, gathering, now)
            if not await claim(sessions, GATHERING_REMINDER, f"{gathering.id}:{person.id}", now):
                continue
            mine = await signups.answer_of(sessions, person.id, gathering.id)
            app[POSTBOX].post(
                GATHERING_REMINDER, person, theme=gathering.theme.name, title=gathering.title,
                starts_at=gathering.starts_at, url=f"/g/{gathering.id}",
                wish=mine.wish if mine else "", attachments=[
                    Attachment(ics_filename(gathering), files[language], "text", "calendar")])


JOBS.append(remind_coming)


def _routes() -> list[tuple[str, str, Any]]:
    base = "/gatherings/{gathering:[0-9A-Za-z]{1,64}}"
    return [("GET", base + "/signup", signup_page), ("POST", base + "/signup", save_signup),
            ("GET", base + "/expected", expected_page),
            ("POST", base + "/expected/{item:[0-9]{1,9}}/propose", propose)]


def setup_signups(app: web.Application) -> None:
    for method, path, handler in _routes():
        app.router.add_route(method, path, handler)
