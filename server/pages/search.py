"""The archive's search page (`/search`): a GET form (words, theme, year, stage, tag, kind)
and the results a person may read, each linked to its exact place (rooms/search.py).

For signed-in members of a theme (the lead: of all). Rate-limited per person (30 searches
a minute in each worker, server/pages/limits.py): a clear message past that. A form that
does not validate is shown again with what was typed and what to fix."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from rooms.directory import stage_names, visible_themes
from rooms.fulltext import MAX_QUERY_CHARS
from rooms.models import Person
from rooms.search import search
from server.i18n import gettext as _
from server.i18n import ngettext
from server.keys import SESSIONS
from server.pages.auth import error_page, render
from server.pages.limits import PostingLimit
from server.pages.resolving import person_signed_in, resolved

PER_PAGE = 20
MAX_PAGE = 50
SEARCHES, WINDOW = 30, 60.0  # per person, per minute
SEARCH_LIMIT = web.AppKey("search_limit", PostingLimit)
KINDS = ("summary", "note", "question", "help", "answer", "announcement", "reply",
         "follow_up", "recording")
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]


class SearchForm(BaseModel):
    """The query string; an empty field is no filter."""

    model_config = ConfigDict(extra="ignore")
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_QUERY_CHARS)] = ""
    theme: Short | None = None
    year: Annotated[int, Field(ge=2000, le=2100)] | None = None
    stage: Short | None = None
    tag: Short | None = None
    kind: Short | None = None
    page: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 1

    @field_validator("theme", "year", "stage", "tag", "kind", mode="before")
    @classmethod
    def blank_is_none(cls, raw: object) -> object:
        return None if isinstance(raw, str) and not raw.strip() else raw

    @field_validator("page", mode="before")
    @classmethod
    def blank_is_first(cls, raw: object) -> object:
        return 1 if isinstance(raw, str) and not raw.strip() else raw


def kind_labels() -> dict[str, str]:
    return {"summary": _("Summary"), "note": _("Group notes"),
            "question": _("Question in a gathering"), "help": _("Request for help"),
            "answer": _("Answer"), "announcement": _("Announcement"), "reply": _("Reply"),
            "follow_up": _("Follow-up"), "recording": _("Recording")}


def state_labels() -> dict[str, str]:
    return {"answered": _("Answered"), "open": _("Not answered")}


def _form_error(error: ValidationError) -> str:
    fields = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
    if "q" in fields:
        return ngettext("The search is too long: at most %(count)s character.",
                        "The search is too long: at most %(count)s characters.",
                        MAX_QUERY_CHARS) % {"count": MAX_QUERY_CHARS}
    return _("Check the filters: a year between 2000 and 2100, and a theme, stage, tag and "
             "kind of at most 40 characters each.")


@resolved(person_signed_in)
async def search_page(request: web.Request, person: Person) -> web.Response:
    sessions = request.app[SESSIONS]
    themes = [theme for theme, _role in await visible_themes(sessions, person)]
    if not themes:
        return error_page(request, 403, _("The archive is for the members of a theme."))
    typed = {k: v for k, v in request.query.items() if k in SearchForm.model_fields}
    context: dict[str, Any] = {
        "typed": typed, "themes": themes, "stages": await stage_names(sessions),
        "kinds": kind_labels(), "states": state_labels(), "hits": None, "error": None,
        "max_query": MAX_QUERY_CHARS}
    try:
        form = SearchForm.model_validate(typed)
    except ValidationError as error:
        return render(request, "pages/search.html", {**context, "error": _form_error(error)},
                      status=400)
    theme = next((t for t in themes if t.slug == form.theme), None)
    if (form.theme and theme is None) or (form.kind and form.kind not in KINDS):
        return render(request, "pages/search.html", {**context, "error": _(
            "Choose a theme and a kind from the lists.")}, status=400)
    if not form.q:
        return render(request, "pages/search.html", context)
    if not request.app[SEARCH_LIMIT].allow(person.id):
        return render(request, "pages/search.html", {**context, "error": _(
            "You have searched very often just now. Wait a minute and try again.")},
            status=429)
    offset = (form.page - 1) * PER_PAGE
    hits = await search(sessions, person, form.q, theme_id=theme.id if theme else None,
                        year=form.year, stage=form.stage, tag=form.tag,
                        kinds=[form.kind] if form.kind else None, limit=PER_PAGE + 1,
                        offset=offset)
    query = {k: v for k, v in form.model_dump().items() if v not in (None, "") and k != "page"}
    return render(request, "pages/search.html", {
        **context, "hits": hits[:PER_PAGE], "page": form.page,
        "previous": f"/search?{urlencode({**query, 'page': form.page - 1})}"
        if form.page > 1 else None,
        "next": f"/search?{urlencode({**query, 'page': form.page + 1})}"
        if len(hits) > PER_PAGE and form.page < MAX_PAGE else None})


def setup_search(app: web.Application) -> None:
    app[SEARCH_LIMIT] = PostingLimit(SEARCHES, WINDOW)
    app.router.add_get("/search", search_page)
