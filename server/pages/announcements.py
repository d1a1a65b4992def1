"""Announcements from the facilitator, in the browser.

`/themes/{slug}/announcements`: what the reader may read in the theme (its own and those to
every theme); `/themes/{slug}/announcements/new`: a theme's facilitators and the lead write
one, to the whole theme or to chosen municipalities, optionally e-mailed to everyone it is
for; `/themes/{slug}/announcements/{id}`: one announcement (Markdown, rendered safely by
server/markdown.py), its replies and the reply form; `/announcements/new`: the lead writes to
every theme; `/announcements/{id}`: an announcement to every theme, opened in one of the
reader's themes. The rules are rooms/announcements.py's.

Posting is rate-limited per person: ANNOUNCEMENT_LIMIT posts (announcements and replies
together) per LIMIT_WINDOW seconds, counted in each worker's memory (server/pages/limits.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from rooms.announcements import (
    MAX_BODY,
    MAX_REPLY,
    MAX_TITLE,
    AnnouncementError,
    announcement_url,
    announcements_for,
    audience_of,
    delete_announcement,
    delete_reply,
    home_theme,
    mark_emailed,
    post_announcement,
    post_reply,
    theme_municipalities,
    thread,
)
from rooms.forum_models import Announcement
from rooms.models import Municipality, Person, Theme
from server.i18n import gettext as _
from server.keys import POSTBOX, SESSIONS
from server.mail.compose import ANNOUNCEMENT
from server.markdown import render_markdown
from server.pages.access import ThemeMember, theme_member
from server.pages.auth import error_page, render, see_other, signed_in
from server.pages.limits import PostingLimit
from server.pages.resolving import field_errors, person_signed_in, resolved

ANNOUNCEMENT_LIMIT = 10
LIMIT_WINDOW = 600.0  # seconds
LIMITS = web.AppKey("announcement_limits", PostingLimit)
PAGE_SIZE = 30  # announcements on a page of the list

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                         max_length=MAX_TITLE)]
Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                        max_length=MAX_BODY)]
ReplyBody = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=MAX_REPLY)]


class AnnouncementForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: Title
    body: Body
    audience: Literal["theme", "chosen"] = "theme"
    municipalities: tuple[int, ...] = ()
    email: bool = False


class ReplyForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    body: ReplyBody


def count(limit: int) -> str:
    """A number of characters as the page writes it: 20 000."""
    return f"{limit:,}".replace(",", " ")


def field_messages() -> dict[str, str]:
    return {
        "title": _("Give a title of 1 to %(count)s characters.") % {"count": MAX_TITLE},
        "body": _("Write the announcement: 1 to %(count)s characters.") % {
            "count": count(MAX_BODY)},
        "audience": _("Choose who the announcement is for."),
        "municipalities": _("Choose at least one of the theme's municipalities."),
    }


def _reply_message() -> str:
    return _("Write a reply of 1 to %(count)s characters.") % {"count": count(MAX_REPLY)}


def _too_many() -> str:
    return _("You have posted many times in a short while. Wait a few minutes and try "
             "again; what you wrote is kept below.")


def _not_runner(request: web.Request) -> web.Response:
    return error_page(request, 403, _("Only the theme's facilitators and the programme lead "
                                      "write announcements."))


def _not_found(request: web.Request) -> web.Response:
    return error_page(request, 404, _("There is no announcement at this address."))


def _values(posted: MultiDictProxy[Any]) -> dict[str, Any]:
    """What was typed, as the form shows it again (nothing cut: the fields' bounds are the
    schema's, and the request's size is aiohttp's)."""
    values: dict[str, Any] = {k: v for k, v in posted.items()
                              if isinstance(v, str) and k != "csrf_token"}
    values["municipalities"] = [v for v in posted.getall("municipalities", ())
                                if isinstance(v, str)]
    values["email"] = "email" in posted
    return values


@dataclass(frozen=True)
class Writer:
    """The signed-in person who writes an announcement, and where to: a theme, or (None)
    every theme."""

    person: Person
    theme: Theme | None
    municipalities: list[Municipality]


async def _writer(request: web.Request) -> Writer | web.Response:
    """Who writes, to the theme of the URL (its runners) or, without one, to every theme
    (the programme lead)."""
    if "slug" in request.match_info:
        member = await theme_member(request)
        if isinstance(member, web.Response):
            return member
        if not member.runs:
            return _not_runner(request)
        return Writer(member.person, member.theme,
                      await theme_municipalities(request.app[SESSIONS], member.theme.id))
    person = signed_in(request)
    if person is None:
        return see_other("/")
    if not person.is_programme_lead:
        return error_page(request, 403, _("Only the programme lead writes to every theme."))
    return Writer(person, None, [])


def _action(writer: Writer) -> str:
    if writer.theme is None:
        return "/announcements/new"
    return f"/themes/{writer.theme.slug}/announcements/new"


async def _form_page(request: web.Request, writer: Writer, values: dict[str, Any], *,
                     errors: dict[str, str] | None = None, general: str = "",
                     preview: bool = False, status: int = 200) -> web.Response:
    return render(request, "pages/announcement_form.html", {
        "theme": writer.theme, "municipalities": writer.municipalities,
        "action": _action(writer), "values": values, "errors": errors or {},
        "general": general, "max_title": MAX_TITLE, "max_body": count(MAX_BODY),
        "preview": render_markdown(values.get("body", ""), top=4) if preview else None,
    }, status=status)


@resolved(_writer)
async def new_page(request: web.Request, writer: Writer) -> web.Response:
    return await _form_page(request, writer, {"audience": "theme", "municipalities": [],
                                              "email": False})


@resolved(_writer)
async def create(request: web.Request, writer: Writer) -> web.Response:
    posted = await request.post()
    values = _values(posted)
    errors: dict[str, str] = {}
    form: AnnouncementForm | None = None
    try:
        form = AnnouncementForm.model_validate(values)
    except ValidationError as invalid:
        errors = field_errors(invalid, field_messages())
    if form is not None and writer.theme is not None and form.audience == "chosen" \
            and not form.municipalities:
        errors["municipalities"] = field_messages()["municipalities"]
    if form is None or errors:
        return await _form_page(request, writer, values, errors=errors, status=400)
    if "preview" in posted:
        return await _form_page(request, writer, values, preview=True)
    if not request.app[LIMITS].allow(writer.person.id):
        return await _form_page(request, writer, values, general=_too_many(), status=429)
    chosen = form.municipalities if writer.theme is not None and form.audience == "chosen" \
        else ()
    sessions = request.app[SESSIONS]
    try:
        row = await post_announcement(
            sessions, writer.person, theme_id=writer.theme.id if writer.theme else None,
            title=form.title, body=form.body, municipality_ids=chosen)
    except AnnouncementError as refused:
        if refused.code == "not_allowed":
            return _not_runner(request)
        field = "municipalities" if refused.code == "audience" else "body"
        return await _form_page(request, writer, values, status=400,
                                errors={field: field_messages()[field]})
    url = announcement_url(writer.theme.slug if writer.theme else None, row.id)
    if not form.email:
        return see_other(f"{url}?posted=1")
    mailed = await email_audience(request.app, writer.person, writer.theme, row, url)
    return see_other(f"{url}?posted=1&mailed={mailed}")


async def email_audience(app: web.Application, author: Person, theme: Theme | None,
                         row: Announcement, url: str) -> int:
    """The announcement by e-mail to everyone it is for (its author excepted), each in
    their language; those who stopped non-essential mail (Person.mail_opt_out) get none.
    Marked as e-mailed, so the instant notices do not send it again."""
    postbox = app[POSTBOX]
    html = render_markdown(row.body, top=2)
    sent = 0
    for person in await audience_of(app[SESSIONS], row.id):
        sent += postbox.post(ANNOUNCEMENT, person, theme=theme.name if theme else "",
                             title=row.title, author=author.name, body=row.body,
                             body_html=html, url=url)
    await mark_emailed(app[SESSIONS], row.id)
    return sent


@resolved(theme_member)
async def list_page(request: web.Request, member: ThemeMember) -> web.Response:
    person, theme = member.person, member.theme
    raw = request.query.get("page", "1")
    page = int(raw) if raw.isdigit() and 0 < len(raw) < 6 and int(raw) > 0 else 1
    shown = await announcements_for(request.app[SESSIONS], person, theme.id, limit=PAGE_SIZE + 1,
                                    offset=(page - 1) * PAGE_SIZE)
    return render(request, "pages/announcements.html", {
        "theme": theme, "announcements": shown[:PAGE_SIZE], "page": page,
        "older": len(shown) > PAGE_SIZE,
        "writes": member.runs,
        "writes_to_all": person.is_programme_lead,
        "deleted": request.query.get("deleted"),
    })


def _id(request: web.Request, name: str = "id") -> int:
    return int(request.match_info[name])


@resolved(theme_member)
async def thread_page(request: web.Request, member: ThemeMember, *, reply: str = "",
                      error: str = "", status: int = 200) -> web.Response:
    try:
        shown = await thread(request.app[SESSIONS], member.person, _id(request),
                             member.theme.id)
    except AnnouncementError:
        return _not_found(request)
    return render(request, "pages/announcement.html", {
        "theme": member.theme, "thread": shown, "markdown": render_markdown,
        "reply": reply, "error": error, "max_reply": count(MAX_REPLY),
        "posted": request.query.get("posted"), "replied": request.query.get("replied"),
        "mailed": request.query.get("mailed", ""),
    }, status=status)


@resolved(theme_member)
async def reply(request: web.Request, member: ThemeMember) -> web.Response:
    person, theme = member.person, member.theme
    posted = await request.post()
    typed = posted.get("body")
    typed = typed if isinstance(typed, str) else ""
    try:
        form = ReplyForm.model_validate({"body": typed})
    except ValidationError:
        return await thread_page(request, reply=typed, error=_reply_message(), status=400)
    if not request.app[LIMITS].allow(person.id):
        return await thread_page(request, reply=typed, error=_too_many(), status=429)
    announcement_id = _id(request)
    try:
        made = await post_reply(request.app[SESSIONS], person, announcement_id, form.body)
    except AnnouncementError as refused:
        if refused.code == "bounds":
            return await thread_page(request, reply=typed, error=_reply_message(), status=400)
        return _not_found(request)
    return see_other(f"/themes/{theme.slug}/announcements/{announcement_id}?replied=1"
                     f"#reply-{made.id}")


def _not_deleted(request: web.Request, refused: AnnouncementError) -> web.Response:
    if refused.code == "not_allowed":
        return error_page(request, 403, _("Only its author and the theme's facilitators "
                                          "may delete this."))
    return _not_found(request)


@resolved(theme_member)
async def delete(request: web.Request, member: ThemeMember) -> web.Response:
    person, theme, sessions = member.person, member.theme, request.app[SESSIONS]
    try:
        await thread(sessions, person, _id(request), theme.id)  # of this theme, readable
        await delete_announcement(sessions, person, _id(request))
    except AnnouncementError as refused:
        return _not_deleted(request, refused)
    return see_other(f"/themes/{theme.slug}/announcements?deleted=1")


@resolved(theme_member)
async def delete_reply_page(request: web.Request, member: ThemeMember) -> web.Response:
    person, theme, sessions = member.person, member.theme, request.app[SESSIONS]
    announcement_id = _id(request)
    try:
        shown = await thread(sessions, person, announcement_id, theme.id)
        if _id(request, "reply") not in {r.id for r in shown.replies}:
            raise AnnouncementError("not_found")
        await delete_reply(sessions, person, _id(request, "reply"))
    except AnnouncementError as refused:
        return _not_deleted(request, refused)
    return see_other(f"/themes/{theme.slug}/announcements/{announcement_id}#replies")


@resolved(person_signed_in)
async def every_theme_page(request: web.Request, person: Person) -> web.Response:
    """An announcement to every theme, opened in the reader's first theme."""
    slug = await home_theme(request.app[SESSIONS], person)
    if slug is None:
        return _not_found(request)
    query = f"?{request.query_string}" if request.query_string else ""
    return see_other(f"/themes/{slug}/announcements/{_id(request)}{query}")


def setup_announcements(app: web.Application) -> None:
    app[LIMITS] = PostingLimit(ANNOUNCEMENT_LIMIT, LIMIT_WINDOW)
    theme = "/themes/{slug}/announcements"
    one = theme + "/{id:[0-9]{1,12}}"
    app.router.add_get(theme, list_page)
    app.router.add_get(theme + "/new", new_page)
    app.router.add_post(theme + "/new", create)
    app.router.add_get(one, thread_page)
    app.router.add_post(one + "/replies", reply)
    app.router.add_post(one + "/delete", delete)
    app.router.add_post(one + "/replies/{reply:[0-9]{1,12}}/delete", delete_reply_page)
    app.router.add_get("/announcements/new", new_page)
    app.router.add_post("/announcements/new", create)
    app.router.add_get("/announcements/{id:[0-9]{1,12}}", every_theme_page)
