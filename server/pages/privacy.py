"""Privacy pages: what the forum stores, why and for how long (`/privacy`, for everyone);
a person's own data (`/me/data`: a summary, the JSON download, and erasing themselves after
a confirmation); the programme lead's list of people, each to download or erase
(`/privacy/people`). Erasing is rooms/privacy.py's `erase_person`; the recordings' files go
after its commit. Also the hourly sweep of old sign-in links and sessions
(SIGN_IN_RECORDS_DAYS)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from recordings.storage import StorageError, recording_path
from rooms.channels import person_anywhere
from rooms.mailing import person_by_id
from rooms.models import Person
from rooms.privacy import (
    Erased,
    LastProgrammeLead,
    erase_person,
    is_deleted,
    people,
    personal_data,
    purge_sign_in_records,
)
from rooms.tasks import running
from server.i18n import gettext as _
from server.keys import LIVE, RECORDINGS, SESSIONS, SETTINGS, SOCKETS
from server.pages.auth import clear_session_cookie, error_page, render, see_other
from server.pages.resolving import person_signed_in, resolved, the_programme_lead
from server.sockets.bus import disconnect_everywhere

log = logging.getLogger(__name__)
SWEEP_SECONDS = 3600


class ConfirmForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    confirm: Literal["yes"]


def _counts(data: dict[str, Any]) -> list[tuple[str, int]]:
    """How many of each kind the forum holds, as the summary of "My data" lists them."""
    return [
        (_("Themes you are a member of"), len(data["memberships"])),
        (_("Projects you are a contact for"), len(data["project_contact_for"])),
        (_("Project stage changes you made"), len(data["stage_changes_made"])),
        (_("Sign-in links sent to you"), len(data["invitations"])),
        (_("Browsers signed in as you"), len(data["sessions"])),
        (_("Things you did or were named in, in gatherings"), len(data["gathering_events"])),
        (_("Shared notes you wrote in"), len(data["notes_written"])),
        (_("Recordings of you or started by you"), len(data["recordings"])),
    ]


def _download(data: dict[str, Any], person_id: int) -> web.Response:
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return web.Response(text=body, content_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="klimasats-forum-data-{person_id}.json"',
        "Cache-Control": "no-store"})


async def _erase(request: web.Request, person_id: int, by: int) -> Erased | None:
    """Erase in the database, then (committed) the recordings' files and cached states."""
    erased = await erase_person(request.app[SESSIONS], person_id, by)
    if erased is None:
        return None
    directory = request.app[RECORDINGS].directory
    for recording_id in erased.recording_ids:
        try:
            recording_path(directory, recording_id).unlink(missing_ok=True)
        except (StorageError, OSError):
            log.exception("could not delete the file of recording %s", recording_id)
    for gathering_id in erased.gathering_ids:
        request.app[LIVE].forget(gathering_id)
    # their open tabs, on every worker (their presence leaves with the connections); the
    # other workers reload the gatherings' states by themselves (`log_rewrites`)
    await disconnect_everywhere(request.app[SOCKETS].sio, person_anywhere(person_id))
    return erased


async def privacy_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    return render(request, "pages/privacy.html", {
        "deleted": request.query.get("deleted") == "1",
        "recording_days": settings.recording_retention_days,
        "invitation_days": settings.invitation_days,
        "session_days": settings.session_days,
        "sign_in_records_days": settings.sign_in_records_days})


@resolved(person_signed_in)
async def my_data(request: web.Request, person: Person) -> web.Response:
    data = await personal_data(request.app[SESSIONS], person.id)
    if data is None:
        return see_other("/")
    return render(request, "pages/my_data.html", {
        "profile": data["profile"], "memberships": data["memberships"],
        "counts": _counts(data)})


@resolved(person_signed_in)
async def my_data_json(request: web.Request, person: Person) -> web.Response:
    data = await personal_data(request.app[SESSIONS], person.id)
    return see_other("/") if data is None else _download(data, person.id)


@resolved(person_signed_in)
async def confirm_delete_me(request: web.Request, person: Person, *,
                            error: str | None = None, status: int = 200) -> web.Response:
    return render(request, "pages/privacy_erase.html", {
        "subject": person, "own": True, "action": "/me/delete", "error": error,
        "back": "/me/data"}, status=status)


@resolved(person_signed_in)
async def delete_me(request: web.Request, person: Person) -> web.Response:
    refused = await _erase_confirmed(request, person.id, person.id, confirm_delete_me, _(
        "Tick the box to confirm that you want to be deleted."), _(
        "You are the only programme lead. Make someone else programme lead first."))
    return refused or _gone()


def _gone() -> web.Response:
    """After erasing oneself: signed out, on the privacy page that says it is done."""
    response = see_other("/privacy?deleted=1")
    clear_session_cookie(response)
    return response


async def _erase_confirmed(request: web.Request, person_id: int, by: int,
                           again: Callable[..., Awaitable[web.Response]], unconfirmed: str,
                           last_lead: str) -> web.Response | None:
    """Erase once the form confirms it; else the confirmation page `again`, with why."""
    try:
        ConfirmForm.model_validate(dict(await request.post()))
    except ValidationError:
        return await again(request, status=400, error=unconfirmed)
    try:
        await _erase(request, person_id, by)
    except LastProgrammeLead:
        return await again(request, status=409, error=last_lead)
    return None


async def _subject(request: web.Request) -> Person | web.Response:
    try:
        person_id = int(request.match_info["person"])
    except ValueError:
        person_id = 0
    subject = await person_by_id(request.app[SESSIONS], person_id)
    if subject is not None and not is_deleted(subject):
        return subject
    return error_page(request, 404, _("There is no such person, or they have been deleted."))


async def _lead_and_subject(request: web.Request) -> tuple[Person, Person] | web.Response:
    """The signed-in programme lead and the person of the URL, or the page to show instead."""
    lead = await the_programme_lead(request)
    if isinstance(lead, web.Response):
        return lead
    subject = await _subject(request)
    return subject if isinstance(subject, web.Response) else (lead, subject)


@resolved(the_programme_lead)
async def people_page(request: web.Request, _lead: Person) -> web.Response:
    everyone = await people(request.app[SESSIONS])
    return render(request, "pages/privacy_people.html", {
        "people": everyone, "erased": request.query.get("erased") == "1"})


@resolved(_lead_and_subject)
async def person_data_json(request: web.Request, both: tuple[Person, Person]) -> web.Response:
    _lead_person, subject = both
    data = await personal_data(request.app[SESSIONS], subject.id)
    return error_page(request, 404, _("There is no such person, or they have been deleted.")) \
        if data is None else _download(data, subject.id)


@resolved(_lead_and_subject)
async def confirm_erase(request: web.Request, both: tuple[Person, Person], *,
                        error: str | None = None, status: int = 200) -> web.Response:
    lead, subject = both
    return render(request, "pages/privacy_erase.html", {
        "subject": subject, "own": subject.id == lead.id, "error": error,
        "action": f"/privacy/people/{subject.id}", "back": "/privacy/people"}, status=status)


@resolved(_lead_and_subject)
async def erase(request: web.Request, both: tuple[Person, Person]) -> web.Response:
    lead, subject = both
    refused = await _erase_confirmed(request, subject.id, lead.id, confirm_erase, _(
        "Tick the box to confirm that this person is to be deleted."), _(
        "This is the only programme lead. Make someone else programme lead first."))
    if refused is not None:
        return refused
    return _gone() if subject.id == lead.id else see_other("/privacy/people?erased=1")


async def _sweep(app: web.Application, days: int) -> None:
    while True:
        try:
            gone = await purge_sign_in_records(app[SESSIONS], days)
            if gone:
                log.info("deleted %d old sign-in links and sessions", gone)
        except Exception:
            log.exception("the sign-in records' sweep failed")
        await asyncio.sleep(SWEEP_SECONDS)


@contextlib.asynccontextmanager
async def _sweeping(app: web.Application) -> AsyncIterator[None]:
    days = app[SETTINGS].sign_in_records_days
    if days <= 0:
        yield
        return
    async with running(_sweep(app, days)):
        yield


def setup_privacy(app: web.Application) -> None:
    app.router.add_get("/privacy", privacy_page)
    app.router.add_get("/me/data", my_data)
    app.router.add_get("/me/data.json", my_data_json)
    app.router.add_get("/me/delete", confirm_delete_me)
    app.router.add_post("/me/delete", delete_me)
    app.router.add_get("/privacy/people", people_page)
    app.router.add_get("/privacy/people/{person:\\d{1,9}}", confirm_erase)
    app.router.add_post("/privacy/people/{person:\\d{1,9}}", erase)
    app.router.add_get("/privacy/people/{person:\\d{1,9}}/data.json", person_data_json)
    app.cleanup_ctx.append(_sweeping)
