"""Ask the network, and find peers (issue 10, points 4 and 5), in plain HTML forms that
work by keyboard and without scripts.

`/themes/{slug}/help`: the theme's help requests, those that match the reader's project
first (with why), and the form to ask. `/themes/{slug}/help/{id}`: a request, its answers,
the answer form; the asker's (and the facilitator's) "helpful" and "close" buttons; the
facilitator's "bring to the next gathering". `/themes/{slug}/peers`: the directory of the
theme's municipalities, projects and people, and "projects like ours" with the reasons;
each person's address only if they chose to show it, else a message through the forum.
`/messages`: the inbox. The rules and rights are in rooms/network.py; the matching in
facilitation/matching.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from facilitation.digest import Choice
from facilitation.matching import NOT_MET, SAME_STAGE, SHARED_TAGS, THEY_SHARE, YOU_SHARE, Reason
from rooms import network
from rooms.models import Person
from rooms.network import MAX_ANSWER, MAX_BODY, MAX_MESSAGE, MAX_TITLE, Refused
from rooms.projects import stages
from server.i18n import gettext as _
from server.keys import LIVE, POSTBOX, SESSIONS
from server.mail.compose import FORUM_MESSAGE
from server.markdown import render_markdown
from server.pages.access import ThemeMember, theme_member
from server.pages.auth import error_page, render, see_other
from server.pages.limits import PostingLimit
from server.pages.planning import rejection_text
from server.pages.resolving import form_texts, person_signed_in, resolved

#: requests, answers and messages a person may post: 10 in any 5 minutes (per worker)
POSTS, POSTS_WINDOW = 10, 300.0
POSTING = web.AppKey("network_posting", PostingLimit)


def _bounded(most: int) -> Any:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=most)


class AskForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: Annotated[str, _bounded(MAX_TITLE)]
    body: Annotated[str, _bounded(MAX_BODY)]


class AnswerForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    body: Annotated[str, _bounded(MAX_ANSWER)]


class MessageForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    recipient_id: int
    body: Annotated[str, _bounded(MAX_MESSAGE)]


def _now() -> datetime:
    return datetime.now(UTC)


def _count_post(request: web.Request, person: Person) -> None:
    """One post from the person's budget, or Refused("rate_limited")."""
    if not request.app[POSTING].allow(person.id):
        raise Refused("rate_limited")


# --- words -----------------------------------------------------------------------------------


def reason_text(reasons: tuple[Reason, ...], stage_names: Mapping[str, str]) -> str:
    """The reasons for a match as one phrase in the reader's language, as in "både i
    gjennomføring, begge: skolekjøkken; dere har ikke vært i gruppe sammen"."""
    parts: list[str] = []
    for code, value in reasons:
        if code == SAME_STAGE:
            name = stage_names.get(str(value), str(value))
            parts.append(_("both in %(stage)s") % {"stage": name.lower()})
        elif code == SHARED_TAGS:
            parts.append(_("both: %(topics)s") % {"topics": ", ".join(value)})  # type: ignore[arg-type]
        elif code == THEY_SHARE:
            parts.append(_("they can share what you need: %(words)s")
                         % {"words": ", ".join(value)})  # type: ignore[arg-type]
        elif code == YOU_SHARE:
            parts.append(_("you can share what they need: %(words)s")
                         % {"words": ", ".join(value)})  # type: ignore[arg-type]
        elif code == NOT_MET:
            parts.append(_("you have not been in a group together"))
    if len(parts) > 1 and reasons[0][0] == SAME_STAGE:  # "both in X, both: a, b"
        parts[:2] = [f"{parts[0]}, {parts[1]}"]
    return "; ".join(parts)


def refusal_text(refused: Refused) -> tuple[int, str]:
    """A refusal as (HTTP status, what the person reads)."""
    texts: dict[str, tuple[int, str]] = {
        "forbidden": (403, _("You may not do this in this theme.")),
        "not_found": (404, _("There is no such request or message here.")),
        "invalid": (400, _("Check what you wrote: it is empty or too long.")),
        "closed": (409, _("This request is closed and takes no more answers.")),
        "rate_limited": (429, _("You have posted a lot in a short time. Wait a few minutes "
                                "and try again.")),
        "no_gathering": (409, _("The theme has no upcoming gathering to bring this to.")),
        "started": (409, _("The next gathering has started; bring it up from the "
                           "facilitator console instead.")),
        "already": (409, _("This request is already on a gathering's agenda.")),
    }
    if refused.code == "rejected":
        return 409, rejection_text(refused.detail)
    return texts.get(refused.code, (400, _("That did not work. Reload the page and try "
                                           "again.")))


def ask_error() -> str:
    return _("Give your request a title of 1 to 200 characters and a question of 1 to "
             "5,000 characters.")


def answer_error() -> str:
    return _("Write an answer of 1 to 5,000 characters.")


def message_error() -> str:
    return _("Write a message of 1 to 2,000 characters.")


# --- access ----------------------------------------------------------------------------------


def _refused(request: web.Request, refused: Refused) -> web.Response:
    status, text = refusal_text(refused)
    return error_page(request, status, text)


async def _form(request: web.Request) -> dict[str, str]:
    return form_texts(await request.post())


class FormPage(Protocol):
    """A page with a form, shown again with what was typed and what is wrong."""

    def __call__(self, request: web.Request, /, *, form: Mapping[str, str] | None = None,
                 error: str | None = None, status: int = 200) -> Awaitable[web.Response]: ...


async def _shown_again(request: web.Request, page: FormPage, form: Mapping[str, str],
                       problem: ValidationError | Refused, invalid: str,
                       on_form: Collection[str] | None = None) -> web.Response:
    """The form's page again: `invalid` for a form that does not validate, a refusal's text
    for a refusal (only the codes `on_form`, if given; any other: the refusal's own page)."""
    if isinstance(problem, ValidationError):
        return await page(request, form=form, error=invalid, status=400)
    if on_form is not None and problem.code not in on_form:
        return _refused(request, problem)
    status, text = refusal_text(problem)
    return await page(request, form=form, error=text, status=status)


async def _stage_names(request: web.Request) -> dict[str, str]:
    return {s.slug: s.name for s in await stages(request.app[SESSIONS])}


# --- help requests -------------------------------------------------------------------------


@resolved(theme_member)
async def help_page(request: web.Request, member: ThemeMember, *,
                    form: Mapping[str, str] | None = None, error: str | None = None,
                    status: int = 200) -> web.Response:
    theme = member.theme
    return render(request, "pages/help_list.html", {
        "theme": theme,
        "requests": await network.requests_for(request.app[SESSIONS], member.person, theme.id),
        "may_ask": member.role in network.POSTERS, "stage_names": await _stage_names(request),
        "reason_text": reason_text, "form": form or {}, "error": error,
        "max_title": MAX_TITLE, "max_body": MAX_BODY,
    }, status=status)


@resolved(theme_member)
async def ask_page(request: web.Request, member: ThemeMember) -> web.Response:
    person, theme = member.person, member.theme
    data = await _form(request)
    try:
        form = AskForm.model_validate(data)
        _count_post(request, person)
        request_id = await network.ask(request.app[SESSIONS], person, theme.id,
                                       title=form.title, body=form.body, now=_now())
    except (ValidationError, Refused) as problem:
        return await _shown_again(request, help_page, data, problem, ask_error(),
                                  on_form=("invalid", "rate_limited"))
    return see_other(f"/themes/{theme.slug}/help/{request_id}")


@resolved(theme_member)
async def request_page(request: web.Request, member: ThemeMember, *,
                       form: Mapping[str, str] | None = None, error: str | None = None,
                       status: int = 200) -> web.Response:
    theme = member.theme
    try:
        page = await network.request_page(request.app[SESSIONS], member.person,
                                          int(request.match_info["request"]))
    except Refused as refused:
        return _refused(request, refused)
    if page.request.theme_id != theme.id:
        return _refused(request, Refused("not_found"))
    return render(request, "pages/help_request.html", {
        "theme": theme, "page": page, "item": page.request,
        "stage_names": await _stage_names(request), "reason_text": reason_text,
        "markdown": render_markdown, "form": form or {}, "error": error,
        "max_answer": MAX_ANSWER, "brought": request.query.get("brought"),
    }, status=status)


Action = Callable[[Person, int], Awaitable[object]]


async def _request_action(request: web.Request, action: Action, *,
                          anchor: str = "") -> web.Response:
    """A button on a request's page: do it, then back to the page (a refusal: its page)."""
    member = await theme_member(request)
    if isinstance(member, web.Response):
        return member
    request_id = int(request.match_info["request"])
    try:
        await action(member.person, request_id)
    except Refused as refused:
        return _refused(request, refused)
    return see_other(f"/themes/{member.theme.slug}/help/{request_id}{anchor}")


@resolved(theme_member)
async def answer_page(request: web.Request, member: ThemeMember) -> web.Response:
    data = await _form(request)
    request_id = int(request.match_info["request"])
    try:
        form = AnswerForm.model_validate(data)
        _count_post(request, member.person)
        answer_id = await network.answer(request.app[SESSIONS], member.person, request_id,
                                         body=form.body, now=_now())
    except (ValidationError, Refused) as problem:
        return await _shown_again(request, request_page, data, problem, answer_error(),
                                  on_form=("invalid", "rate_limited", "closed"))
    return see_other(f"/themes/{member.theme.slug}/help/{request_id}#answer-{answer_id}")


async def helpful_page(request: web.Request) -> web.Response:
    data = await _form(request)
    answer_id = int(request.match_info["answer"])

    async def mark(person: Person, request_id: int) -> None:
        if await network.request_of_answer(request.app[SESSIONS], answer_id) != request_id:
            raise Refused("not_found")
        await network.mark_helpful(request.app[SESSIONS], person, answer_id,
                                   data.get("helpful") != "0")

    return await _request_action(request, mark, anchor=f"#answer-{answer_id}")


async def close_page(request: web.Request) -> web.Response:
    async def close(person: Person, request_id: int) -> None:
        await network.close_request(request.app[SESSIONS], person, request_id, _now())

    return await _request_action(request, close)


async def agenda_page(request: web.Request) -> web.Response:
    async def bring(person: Person, request_id: int) -> None:
        await network.bring_to_next_gathering(request.app[SESSIONS], request.app[LIVE],
                                              person, request_id, _now())

    response = await _request_action(request, bring)
    if response.status == 303:
        response.headers["Location"] += "?brought=1"
    return response


# --- peers -----------------------------------------------------------------------------------


@resolved(theme_member)
async def peers_page(request: web.Request, member: ThemeMember, *,
                     form: Mapping[str, str] | None = None, error: str | None = None,
                     status: int = 200) -> web.Response:
    theme = member.theme
    return render(request, "pages/peers.html", {
        "theme": theme,
        "found": await network.directory(request.app[SESSIONS], request.app[LIVE],
                                         member.person, theme.id),
        "stage_names": await _stage_names(request), "reason_text": reason_text,
        "may_message": member.role in network.POSTERS, "form": form or {}, "error": error,
        "max_message": MAX_MESSAGE, "sent": request.query.get("sent"),
        "contact_saved": request.query.get("contact"),
    }, status=status)


async def _send(request: web.Request, person: Person, data: dict[str, str]) -> None:
    """Send the form's message and tell the recipient by mail. Raises ValidationError or
    Refused."""
    form = MessageForm.model_validate(data)
    _count_post(request, person)
    recipient = await network.send_message(request.app[SESSIONS], person, form.recipient_id,
                                           body=form.body, now=_now())
    if recipient.notify != Choice.NEVER:  # addressed to them: at once, unless they want no mail
        request.app[POSTBOX].post(FORUM_MESSAGE, recipient, sender=person.name,
                                  body=form.body, url="/messages")


@resolved(theme_member)
async def peer_message_page(request: web.Request, member: ThemeMember) -> web.Response:
    data = await _form(request)
    try:
        await _send(request, member.person, data)
    except (ValidationError, Refused) as problem:
        return await _shown_again(request, peers_page, data, problem, message_error())
    return see_other(f"/themes/{member.theme.slug}/peers?sent={data.get('recipient_id', '')}"
                     f"#person-{data.get('recipient_id', '')}")


@resolved(theme_member)
async def contact_page(request: web.Request, member: ThemeMember) -> web.Response:
    data = await _form(request)
    await network.set_show_email(request.app[SESSIONS], member.person,
                                 data.get("show_email") == "on")
    return see_other(f"/themes/{member.theme.slug}/peers?contact=1#contact")


# --- messages --------------------------------------------------------------------------------


@resolved(person_signed_in)
async def messages_page(request: web.Request, person: Person, *,
                        form: Mapping[str, str] | None = None, error: str | None = None,
                        status: int = 200) -> web.Response:
    return render(request, "pages/messages.html", {
        "messages": await network.inbox(request.app[SESSIONS], person),
        "form": form or {}, "error": error, "max_message": MAX_MESSAGE,
        "sent": request.query.get("sent"),
    }, status=status)


@resolved(person_signed_in)
async def reply_page(request: web.Request, person: Person) -> web.Response:
    data = await _form(request)
    try:
        await _send(request, person, data)
    except (ValidationError, Refused) as problem:
        return await _shown_again(request, messages_page, data, problem, message_error())
    return see_other("/messages?sent=1")


@resolved(person_signed_in)
async def read_page(request: web.Request, person: Person) -> web.Response:
    message_id = int(request.match_info["message"])
    try:
        await network.mark_read(request.app[SESSIONS], person, message_id, _now())
    except Refused as refused:
        return _refused(request, refused)
    return see_other(f"/messages#message-{message_id}")


def setup_network(app: web.Application) -> None:
    app[POSTING] = PostingLimit(POSTS, POSTS_WINDOW)
    help_ = "/themes/{slug}/help"
    one = help_ + r"/{request:\d+}"
    app.router.add_get(help_, help_page)
    app.router.add_post(help_, ask_page)
    app.router.add_get(one, request_page)
    app.router.add_post(one + "/answers", answer_page)
    app.router.add_post(one + r"/answers/{answer:\d+}/helpful", helpful_page)
    app.router.add_post(one + "/close", close_page)
    app.router.add_post(one + "/agenda", agenda_page)
    app.router.add_get("/themes/{slug}/peers", peers_page)
    app.router.add_post("/themes/{slug}/peers/message", peer_message_page)
    app.router.add_post("/themes/{slug}/peers/contact", contact_page)
    app.router.add_get("/messages", messages_page)
    app.router.add_post("/messages", reply_page)
    app.router.add_post(r"/messages/{message:\d+}/read", read_page)
