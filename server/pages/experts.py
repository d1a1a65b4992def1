"""Expert bookings and the questions asked before a gathering.

- `/gatherings/{id}/experts` (the theme's runners): the gathering's bookings with their
  answers, and the form that invites an expert to an expert slot (an `expert_invitation`
  mail with the expert's own link).
- `/experts/{token}` (no sign-in: the link is the key): the brief, the slot's planned time,
  the questions asked so far by votes, and Accept / Decline. After accepting: the
  gathering's .ics and the green room (the gathering's room, signed in as the expert).
  The forms here carry no CSRF token: the token in their address is a secret only the
  expert's mail holds, which is all a CSRF token proves (server/pages/auth.py
  `TOKEN_FORM_PATHS`); a foreign Origin is still refused, GET changes nothing (mail
  scanners follow links), and answering twice is answering once.
- `/gatherings/{id}/questions` (the theme's members): ask and upvote questions for the
  expert before the day. When the room opens, the server brings them into the live Q&A
  (`question.bring_advance` as SYSTEM, on the worker that committed `room.opened`); the
  runners may bring them earlier with a button here. Each comes once (the log says which)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from facilitation import Actor, Phase, Rejected, Role
from facilitation.planning import planned_clock
from facilitation.questions import BringAdvance
from facilitation.roles import SPEAKERS
from rooms import experts as ex
from rooms.accounts import start_session
from rooms.faults import Faults
from rooms.forum_models import ExpertBooking
from rooms.invitations import EMAIL
from rooms.live import LiveRooms
from rooms.models import Gathering
from server.formatting import clock, long_date
from server.i18n import current_locale
from server.i18n import gettext as _
from server.keys import LIVE, POSTBOX, SESSIONS, SETTINGS, SOCKETS, STORE
from server.mail.compose import EXPERT_ANSWER, EXPERT_INVITATION, Recipient
from server.markdown import render_markdown
from server.pages.access import Access, gathering_access, runner_access
from server.pages.auth import error_page, render, see_other, set_session_cookie
from server.pages.calendar import ics_filename, ics_of, ics_response
from server.pages.planning import kind_labels
from server.pages.resolving import cut_texts, field_errors, resolved

log = logging.getLogger(__name__)
TOKEN = r"{token:[A-Za-z0-9_-]{20,100}}"
GATHERING = r"/gatherings/{gathering:[0-9A-Za-z]{1,64}}"
SYSTEM = Actor(person_id=0, name="Klimasats-forum", role=Role.SYSTEM)
TEXT_LIMIT = 6000  # a form value longer than any field may be is cut before it is shown back
# the server's own bringing of the questions when a room opens: tasks kept until done
_BRINGING = web.AppKey("experts_bringing", set)


class InviteForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    item_id: int
    name: Annotated[str, StringConstraints(min_length=1, max_length=ex.MAX_NAME)]
    email: Annotated[str, StringConstraints(max_length=320, pattern=EMAIL.pattern)]
    organisation: Annotated[str, StringConstraints(max_length=ex.MAX_ORGANISATION)] = ""
    topic: Annotated[str, StringConstraints(min_length=1, max_length=ex.MAX_TOPIC)]
    minutes: Annotated[int, Field(ge=ex.MIN_MINUTES, le=ex.MAX_MINUTES)]
    brief: Annotated[str, StringConstraints(max_length=ex.MAX_BRIEF)] = ""


class QuestionForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    text: Annotated[str, StringConstraints(min_length=1, max_length=ex.MAX_QUESTION)]


def field_messages() -> dict[str, str]:
    return {
        "item_id": _("Choose the agenda item the expert is invited to."),
        "name": _("Give the expert's name, 1 to %(count)s characters.") % {"count": ex.MAX_NAME},
        "email": _("Give the expert's e-mail address, for example navn@example.org."),
        "organisation": _("The organisation has at most %(count)s characters.")
        % {"count": ex.MAX_ORGANISATION},
        "topic": _("Give the topic, 1 to %(count)s characters.") % {"count": ex.MAX_TOPIC},
        "minutes": _("The slot lasts %(low)s to %(high)s minutes.")
        % {"low": ex.MIN_MINUTES, "high": ex.MAX_MINUTES},
        "brief": _("The brief has at most %(count)s characters.") % {"count": ex.MAX_BRIEF},
    }


def refusal_text(code: str) -> str:
    return {
        "not_allowed": _("Only the facilitator of this theme and the programme lead can do "
                         "this."),
        "not_found": _("There is no such invitation."),
        "no_slot": field_messages()["item_id"],
        "ended": _("The gathering has ended."),
        "cancelled": _("The gathering is cancelled."),
        "started": _("The gathering has started: questions are asked in the room now."),
        "answered": _("This invitation has been answered already. To change the answer, "
                      "contact the facilitator, who can send a new invitation."),
        "too_many": _("No more questions can be asked for this gathering here."),
        "own": _("You cannot vote for your own question."),
    }.get(code, _("Something went wrong. Reload the page and try again."))


def status_labels() -> dict[str, str]:
    return {ex.INVITED: _("Waiting for an answer"), ex.ACCEPTED: _("Accepted"),
            ex.DECLINED: _("Declined")}


# --- the runners' page -----------------------------------------------------------------------


async def _experts_page(request: web.Request, access: Access, *,
                        values: dict[str, str] | None = None,
                        errors: dict[str, str] | None = None, general: str = "",
                        status: int = 200) -> web.Response:
    gathering = access.gathering
    state = await request.app[LIVE].state(gathering.id)
    slots = [s for s in ex.expert_slots(state.agenda) if s.id not in state.started_items]
    bookings = await ex.bookings_of(request.app[SESSIONS], access.person, gathering.id)
    titles = {s.id: s.title for s in state.agenda}
    return render(request, "pages/experts.html", {
        "gathering": gathering, "slots": slots, "bookings": bookings, "titles": titles,
        "kinds": kind_labels(), "statuses": status_labels(),
        "values": values or {"minutes": "20"}, "errors": errors or {}, "general": general,
        "done": request.query.get("done", ""), "limits": {
            "topic": ex.MAX_TOPIC, "brief": ex.MAX_BRIEF, "name": ex.MAX_NAME,
            "organisation": ex.MAX_ORGANISATION, "min": ex.MIN_MINUTES, "max": ex.MAX_MINUTES},
    }, status=status)


@resolved(runner_access)
async def experts_page(request: web.Request, access: Access) -> web.Response:
    return await _experts_page(request, access)


@resolved(runner_access)
async def invite(request: web.Request, access: Access) -> web.Response:
    gathering = access.gathering
    values = cut_texts(await request.post(), TEXT_LIMIT)
    try:
        form = InviteForm.model_validate(values)
    except ValidationError as invalid:
        return await _experts_page(request, access, values=values, status=400,
                                   errors=field_errors(invalid, field_messages()))
    try:
        booking, token = await ex.invite(request.app[SESSIONS], request.app[LIVE],
                                         access.person, gathering.id,
                                         ex.Invite(**form.model_dump()))
    except ex.ExpertError as refusal:
        if refusal.code == "not_allowed":
            return error_page(request, 403, refusal_text(refusal.code))
        errors = {"item_id": refusal_text("no_slot")} if refusal.code in {"no_slot",
                                                                          "started"} else {}
        return await _experts_page(request, access, values=values, errors=errors,
                                   general="" if errors else refusal_text(refusal.code),
                                   status=409)
    request.app[POSTBOX].post(
        EXPERT_INVITATION, Recipient(booking.email, booking.name, current_locale()),
        theme=gathering.theme.name, title=gathering.title, starts_at=gathering.starts_at,
        topic=booking.topic, minutes=booking.minutes, inviter=access.person.name,
        url=f"/experts/{token}")
    return see_other(f"/gatherings/{gathering.id}/experts?done=invited#booking-{booking.id}")


# --- the expert's page, by their link ------------------------------------------------------------


async def _booking(request: web.Request) -> tuple[ExpertBooking, Gathering] | web.Response:
    booking = await ex.booking_for(request.app[SESSIONS], request.match_info["token"])
    gathering = None if booking is None else await request.app[STORE].gathering(
        booking.gathering_id)
    if booking is None or gathering is None:
        return error_page(request, 404, _("This invitation link is not valid. Ask the "
                                          "facilitator who invited you for a new one."))
    return booking, gathering


@resolved(_booking)
async def booking_page(request: web.Request, found: tuple[ExpertBooking, Gathering], *,
                       message: str = "", status: int = 200) -> web.Response:
    booking, gathering = found
    state = await request.app[LIVE].state(gathering.id)
    plan = planned_clock(state.agenda, gathering.starts_at, gathering.planned_minutes)
    slot = next((p for p in plan.items if p.slot.id == booking.item_id), None)
    questions = await ex.questions_for(request.app[SESSIONS], gathering.id, None)
    return render(request, "pages/expert_booking.html", {
        "booking": booking, "gathering": gathering, "slot": slot, "kinds": kind_labels(),
        "brief": render_markdown(booking.brief), "questions": questions,
        "token": request.match_info["token"], "message": message,
        "when": _("%(day)s at %(time)s") % {"day": long_date(gathering.starts_at),
                                            "time": clock(gathering.starts_at)},
        "ended": state.phase is Phase.ENDED,
    }, status=status)


async def _answer(request: web.Request, accept: bool) -> web.Response:
    app = request.app
    token = request.match_info["token"]
    try:
        answered = await ex.answer(app[SESSIONS], app[LIVE], token, accept)
    except ex.ExpertError as refusal:
        if refusal.code == "not_found":
            return await booking_page(request)
        return await booking_page(request, message=refusal_text(refusal.code), status=409)
    booking = answered.booking
    if answered.changed and answered.inviter is not None:
        async with app[SESSIONS]() as session:
            gathering = await session.get(Gathering, booking.gathering_id)
        assert gathering is not None
        app[POSTBOX].post(EXPERT_ANSWER, answered.inviter, expert=booking.name,
                          accepted=accept, title=gathering.title, topic=booking.topic,
                          url=f"/gatherings/{booking.gathering_id}/experts#booking-{booking.id}")
    return see_other(f"/experts/{token}")


async def accept(request: web.Request) -> web.Response:
    return await _answer(request, True)


async def decline(request: web.Request) -> web.Response:
    return await _answer(request, False)


@resolved(_booking)
async def booking_ics(request: web.Request,
                      found: tuple[ExpertBooking, Gathering]) -> web.Response:
    booking, gathering = found
    if booking.status != ex.ACCEPTED:
        return error_page(request, 404, _("The calendar file comes after accepting."))
    return ics_response(await ics_of(request.app, gathering, datetime.now(UTC)),
                        ics_filename(gathering))


@resolved(_booking)
async def green_room(request: web.Request,
                     found: tuple[ExpertBooking, Gathering]) -> web.Response:
    """Sign in as the accepted expert and go to the gathering's room: the link works as
    their sign-in link (POST only, so a mail scanner following it signs nobody in) until
    the gathering ends; after that, they ask for a link on the front page like anyone."""
    booking, gathering = found
    person = await ex.person_of_booking(request.app[SESSIONS], booking)
    if person is None:
        return await booking_page(request, message=_("The room opens to you after accepting."),
                                  status=409)
    if (await request.app[LIVE].state(gathering.id)).phase is Phase.ENDED:
        return await booking_page(request, message=_("The gathering has ended."), status=409)
    settings = request.app[SETTINGS]
    token = await start_session(request.app[SESSIONS], person.id, days=settings.session_days)
    response = see_other(f"/g/{gathering.id}")
    set_session_cookie(response, settings, token)
    return response


# --- questions asked before the day -------------------------------------------------------------


@resolved(gathering_access)
async def questions_page(request: web.Request, access: Access, *,
                         values: dict[str, str] | None = None, error: str = "",
                         status: int = 200) -> web.Response:
    gathering = access.gathering
    state = await request.app[LIVE].state(gathering.id)
    questions = await ex.questions_for(request.app[SESSIONS], gathering.id, access.person.id)
    return render(request, "pages/advance_questions.html", {
        "gathering": gathering, "questions": questions, "runs": access.runs,
        "may_ask": access.role in SPEAKERS and state.phase.value == "lobby"
        and gathering.cancelled_at is None,
        "phase": state.phase.value, "values": values or {}, "error": error,
        "max_chars": ex.MAX_QUESTION, "done": request.query.get("done", ""),
        "waiting": sum(1 for q in questions if not q.brought),
    }, status=status)


@resolved(gathering_access)
async def ask(request: web.Request, access: Access) -> web.Response:
    person, gathering_id = access.person, access.gathering.id
    values = cut_texts(await request.post(), TEXT_LIMIT)
    try:
        form = QuestionForm.model_validate(values)
    except ValidationError:
        return await questions_page(request, values=values, status=400, error=_(
            "Write a question of 1 to %(count)s characters.") % {"count": ex.MAX_QUESTION})
    try:
        question = await ex.ask(request.app[SESSIONS], person, gathering_id, form.text)
    except ex.ExpertError as refusal:
        if refusal.code == "not_allowed":
            return error_page(request, 403, _("Observers follow the questions; they do not "
                                              "ask them."))
        return await questions_page(request, values=values, error=refusal_text(refusal.code),
                                    status=409)
    return see_other(f"/gatherings/{gathering_id}/questions?done=asked#question-{question.id}")


@resolved(gathering_access)
async def vote(request: web.Request, access: Access) -> web.Response:
    person, gathering_id = access.person, access.gathering.id
    form = await request.post()
    question_id = request.match_info["question"]
    try:
        await ex.vote(request.app[SESSIONS], person, gathering_id, int(question_id),
                      up=form.get("vote") != "down")
    except ex.ExpertError as refusal:
        if refusal.code == "not_allowed":
            return error_page(request, 403, _("Observers follow the questions; they do not "
                                              "vote."))
        if refusal.code == "not_found":
            return error_page(request, 404, _("There is no such question."))
        return await questions_page(request, error=refusal_text(refusal.code), status=409)
    return see_other(f"/gatherings/{gathering_id}/questions#question-{question_id}")


@resolved(runner_access)
async def bring(request: web.Request, access: Access) -> web.Response:
    """The runners bring the questions into the live Q&A now (the room does it itself when
    it opens)."""
    gathering_id = access.gathering.id
    actor = Actor(access.person.id, access.person.name, access.role)
    try:
        await request.app[LIVE].execute(actor, gathering_id, BringAdvance())
    except Rejected:
        return await questions_page(request, error=_("The gathering has ended."), status=409)
    return see_other(f"/gatherings/{gathering_id}/questions?done=brought")


# --- the live side: the mirror of what was brought, and the bringing at the opening -----------


def after_publish(app: web.Application
                  ) -> Callable[[str, list[dict[str, Any]]], Awaitable[None]]:
    """A hook for the socket layer: called after each commit's broadcast, on the worker that
    committed, under the gathering's command lock (so the bringing waits in a task)."""

    async def hook(gathering_id: str, events: list[dict[str, Any]]) -> None:
        brought = [e["data"]["advance_id"] for e in events if e["type"] == "question.brought"]
        if brought:
            await ex.mark_brought(app[SESSIONS], brought)
        if any(e["type"] == "room.opened" for e in events):
            task = asyncio.create_task(bring_at_opening(app[LIVE], app[SOCKETS].faults,
                                                        gathering_id))
            app[_BRINGING].add(task)
            task.add_done_callback(app[_BRINGING].discard)

    return hook


def bringing(app: web.Application) -> bool:
    """Whether an opening's bringing of the advance questions is still under way."""
    return bool(app[_BRINGING])


async def bring_at_opening(live: LiveRooms, faults: Faults, gathering_id: str) -> None:
    try:
        await live.execute(SYSTEM, gathering_id, BringAdvance())
    except Exception as error:  # the room runs without them; the facilitator has the button
        if not faults.failed(error):  # an outage is told once, by rooms/faults.py
            log.exception("bringing the advance questions into gathering %s failed",
                          gathering_id)


def setup_experts(app: web.Application) -> None:
    app[_BRINGING] = set()
    app[SOCKETS].after_publish.append(after_publish(app))
    app.router.add_get(GATHERING + "/experts", experts_page)
    app.router.add_post(GATHERING + "/experts", invite)
    app.router.add_get(GATHERING + "/questions", questions_page)
    app.router.add_post(GATHERING + "/questions", ask)
    app.router.add_post(GATHERING + "/questions/bring", bring)
    app.router.add_post(GATHERING + r"/questions/{question:[0-9]{1,12}}/vote", vote)
    app.router.add_get(f"/experts/{TOKEN}", booking_page)
    app.router.add_post(f"/experts/{TOKEN}/accept", accept)
    app.router.add_post(f"/experts/{TOKEN}/decline", decline)
    app.router.add_get(f"/experts/{TOKEN}/calendar.ics", booking_ics)
    app.router.add_post(f"/experts/{TOKEN}/room", green_room)

