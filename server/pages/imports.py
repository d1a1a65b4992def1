"""Importing the grant list, for the programme lead: upload a file (`/import`), read the dry
run (what would be created, updated, skipped, and every broken row with its line and why),
then import it (`/import/{upload}`) and see what was done.

Between the dry run and the import the file waits server-side in a private temporary
folder under a random id bound to the person who uploaded it; it is deleted when imported
and swept after UPLOAD_HOURS."""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from sqlalchemy import select

from rooms.grant_import import MAX_BYTES, MAX_ROWS, FileProblem, Plan, Problem
from rooms.grant_store import NoStages, UnknownMapping, import_grants, saved_mapping
from rooms.models import ImportMapping, Person
from server.i18n import gettext as _
from server.keys import SESSIONS
from server.pages.auth import error_page, programme_lead, render
from server.pages.resolving import resolved

UPLOAD_HOURS = 6
UPLOAD_FIELD_SLACK = 64 * 1024  # the form's other fields and multipart's framing


def N_(message: str) -> str:
    """Marks a message for the catalogue; translated where it is shown."""
    return message


FIELD_LABELS = {
    "municipality": N_("municipality"), "county": N_("county"), "title": N_("project title"),
    "theme": N_("theme or measure category"), "grant_year": N_("grant year"),
    "amount": N_("amount"), "contact_name": N_("contact name"),
    "contact_email": N_("contact e-mail"),
}
PROBLEMS = {
    "missing": N_("%(field)s is missing"),
    "too_long": N_("%(field)s is longer than %(value)s characters"),
    "unknown_theme": N_("no theme matches the category \u201c%(value)s\u201d"),
    "bad_year": N_("\u201c%(value)s\u201d is not a grant year (2016 or later)"),
    "bad_amount": N_("\u201c%(value)s\u201d is not an amount in kroner"),
    "bad_email": N_("\u201c%(value)s\u201d is not an e-mail address"),
    "duplicate": N_("the same project as on line %(value)s"),
}
FILE_PROBLEMS = {
    "too_large": N_("The file is larger than 5 MB."),
    "empty": N_("The file is empty."),
    "too_many_rows": N_("The file has more than 5000 rows."),
    "unreadable": N_("The file could not be read as a spreadsheet (.xlsx) or as CSV."),
    "missing_columns": N_("No header row names these columns: %(detail)s. Name them in the "
                          "first rows, or choose a saved mapping."),
}
CHANGES = {
    "municipality": N_("new municipality"), "county": N_("county"),
    "project": N_("new project"), "grant_year": N_("grant year"), "amount": N_("amount"),
    "person": N_("new contact person"), "person_municipality": N_("contact's municipality"),
    "contact": N_("contact on the project"), "membership": N_("member of the theme"),
}


def problem_text(problem: Problem, translate: Callable[[str], str] | None = None) -> str:
    """A broken row's problem in words (English with `translate=str`, for the CLI)."""
    t = translate or _
    field = t(FIELD_LABELS.get(problem.field, problem.field))
    return t(PROBLEMS[problem.kind]) % {"field": field, "value": problem.value}


def file_problem_text(problem: FileProblem, translate: Callable[[str], str] | None = None) -> str:
    t = translate or _
    detail = ", ".join(t(FIELD_LABELS.get(f, f)) for f in problem.detail.split(", ") if f)
    return t(FILE_PROBLEMS[problem.kind]) % {"detail": detail}


def changes_text(changes: tuple[str, ...]) -> str:
    return ", ".join(_(CHANGES[c]) for c in changes)


class UploadForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    mapping: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""


def _upload_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / f"klimasats-forum-imports-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _upload_path(person: Person, upload: str) -> Path:
    return _upload_dir() / f"{person.id}-{upload}"


def _sweep() -> None:
    old = time.time() - UPLOAD_HOURS * 3600
    for path in _upload_dir().iterdir():
        try:
            if path.stat().st_mtime < old:
                path.unlink()
        except OSError:
            pass


async def _lead(request: web.Request) -> Person | web.Response:
    return programme_lead(request, _("Only the programme lead can import the grant list."))


async def _mappings(request: web.Request) -> list[str]:
    async with request.app[SESSIONS]() as session:
        return list(await session.scalars(select(ImportMapping.name).order_by(
            ImportMapping.name)))


@resolved(_lead)
async def upload_page(request: web.Request, _person: Person, *, error: str | None = None,
                      mapping: str = "", status: int = 200) -> web.Response:
    return render(request, "pages/import.html", {
        "mappings": await _mappings(request), "mapping": mapping, "error": error,
        "max_rows": MAX_ROWS}, status=status)


async def _plan(request: web.Request, data: bytes, mapping: str, *,
                apply: bool, by: int) -> Plan | str:
    """The plan, or what is wrong with the file or the mapping, in words."""
    sessions = request.app[SESSIONS]
    try:
        columns = await saved_mapping(sessions, mapping) if mapping else None
        return await import_grants(sessions, data, mapping=columns, apply=apply, by=by)
    except UnknownMapping:
        return _("There is no saved mapping of that name.")
    except FileProblem as problem:
        return file_problem_text(problem)
    except NoStages:
        return _("The forum has no project stages yet, so new projects cannot be created.")


@resolved(_lead)
async def upload(request: web.Request, person: Person) -> web.Response:
    posted = await request.post()
    try:
        form = UploadForm.model_validate(dict(posted))
    except ValidationError:
        return await upload_page(request, error=_("Choose a saved mapping from the list."),
                                 status=400)
    sent = posted.get("file")
    if not isinstance(sent, web.FileField):
        return await upload_page(request, error=_("Choose a file to upload."),
                                 mapping=form.mapping, status=400)
    data = sent.file.read(MAX_BYTES + 1)
    plan = await _plan(request, data, form.mapping, apply=False, by=person.id)
    if isinstance(plan, str):
        return await upload_page(request, error=plan, mapping=form.mapping, status=400)
    _sweep()
    upload_id = secrets.token_urlsafe(16)
    path = _upload_path(person, upload_id)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        out.write(data)
    return _plan_page(request, plan, filename=sent.filename, upload_id=upload_id,
                      mapping=form.mapping)


def _plan_page(request: web.Request, plan: Plan, *, filename: str, upload_id: str,
               mapping: str) -> web.Response:
    return render(request, "pages/import_plan.html", {
        "plan": plan, "counts": plan.counts, "filename": filename, "upload_id": upload_id,
        "mapping": mapping, "problem_text": problem_text, "changes_text": changes_text,
        "field_labels": {f: _(label) for f, label in FIELD_LABELS.items()}})


@resolved(_lead)
async def confirm(request: web.Request, person: Person) -> web.Response:
    upload_id = request.match_info["upload"]
    try:
        form = UploadForm.model_validate(dict(await request.post()))
        data = _upload_path(person, upload_id).read_bytes()
    except (ValidationError, OSError):
        return await upload_page(request, error=_(
            "That upload is no longer here (it was imported already, or it is more than "
            "6 hours old). Upload the file again."), status=400)
    plan = await _plan(request, data, form.mapping, apply=True, by=person.id)
    if isinstance(plan, str):
        return await upload_page(request, error=plan, mapping=form.mapping, status=400)
    _upload_path(person, upload_id).unlink(missing_ok=True)
    return render(request, "pages/import_done.html", {"counts": plan.counts, "plan": plan,
                                                      "problem_text": problem_text})


@web.middleware
async def larger_uploads(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The upload form alone may send a file of up to MAX_BYTES (the app's bound on a body is
    far smaller); a larger one gets a page that says so."""
    if request.method == "POST" and request.path == "/import":
        request = request.clone(client_max_size=MAX_BYTES + UPLOAD_FIELD_SLACK)
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return error_page(request, 413, _("The file is larger than 5 MB."))
    return await handler(request)


def setup_imports(app: web.Application) -> None:
    app.middlewares.insert(0, larger_uploads)  # before the form check reads the body
    app.router.add_get("/import", upload_page)
    app.router.add_post("/import", upload)
    app.router.add_post(r"/import/{upload:[A-Za-z0-9_-]{22}}", confirm)
