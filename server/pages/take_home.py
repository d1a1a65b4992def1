""""What I bring home" (`/g/{id}/take-home`): a member's own share of a gathering (their
group's notes, the questions they asked or voted for, their municipality's follow-ups, the
peers they met, the recordings; rooms/take_home.py), printable (the site's print stylesheet
leaves out menus and forms), as Markdown, and as read-only share links
(`/take-home/{token}`) that expire and can be revoked.

A share link needs no sign-in, so its page carries nothing personal of anyone but its
maker without consent: peers named only if they chose to be seen by peers, no addresses at
all, questions without who asked them, recordings' speakers only with consent. It is
`noindex`, never cached, and a link that has expired or been revoked answers 410 with one
page saying so (404 for a token that never existed)."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from facilitation.take_home import DAY_CHOICES, DEFAULT_DAYS, MAX_DAYS, LinkState
from rooms.models import Gathering
from rooms.take_home import (
    TOKEN_PATTERN,
    NotAllowed,
    QuestionView,
    TakeHome,
    TooManyLinks,
    create_link,
    links_of,
    may_take_home,
    revoke_link,
    shared_by_token,
    take_home,
)
from server.formatting import clock, date_time, long_date
from server.i18n import gettext as _
from server.i18n import ngettext
from server.keys import SESSIONS, SETTINGS, STORE
from server.pages.access import Access, gathering_access
from server.pages.auth import error_page, render, see_other
from server.pages.follow_ups import status_labels
from server.pages.resolving import resolved
from server.pages.summary import markdown_attachment, md, md_literal, summaries

NOINDEX = {"X-Robots-Tag": "noindex, nofollow, noarchive"}


class LinkForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    days: Annotated[int, Field(ge=1, le=MAX_DAYS)] = DEFAULT_DAYS


def safe_link(url: str) -> str | None:
    """A follow-up's file link, only if it is a web address (never javascript: and such)."""
    return url if url.startswith(("https://", "http://")) else None


def _page(gathering: Gathering) -> str:
    return f"/g/{gathering.id}/take-home"


def _not_member(request: web.Request) -> web.Response:
    return error_page(request, 403, _("This gathering belongs to a theme you are not a "
                                      "member of."))


async def _access(request: web.Request) -> Access | web.Response:
    access = await gathering_access(request)
    if isinstance(access, web.Response):
        return access
    if not await may_take_home(request.app[SESSIONS], access.person, access.gathering):
        return _not_member(request)
    return access


async def _gathered(request: web.Request, access: Access) -> TakeHome:
    return await take_home(summaries(request.app), access.person, access.gathering)


@resolved(_access)
async def own_page(request: web.Request, access: Access, *, new_link: str | None = None,
                   error: str | None = None, status: int = 200) -> web.Response:
    th = await _gathered(request, access)
    links = await links_of(request.app[SESSIONS], access.person, access.gathering)
    return render(request, "pages/take_home.html", {
        **_context(th, shared=False), "links": links, "new_link": new_link, "error": error,
        "day_choices": DAY_CHOICES, "default_days": DEFAULT_DAYS, "active": LinkState.ACTIVE,
        "link_states": {LinkState.ACTIVE: _("The link works"),
                        LinkState.EXPIRED: _("The link has expired"),
                        LinkState.REVOKED: _("The link was revoked")},
        "summary_url": f"/g/{access.gathering.id}/summary"}, status=status)


def _context(th: TakeHome, *, shared: bool) -> dict[str, Any]:
    return {"th": th, "gathering": th.gathering, "theme": th.gathering.theme, "shared": shared,
            "status_labels": status_labels(), "safe_link": safe_link}


@resolved(_access)
async def create(request: web.Request, access: Access) -> web.Response:
    try:
        form = LinkForm.model_validate({k: v for k, v in (await request.post()).items()
                                        if isinstance(v, str)})
    except ValidationError:
        return await own_page(request, status=400, error=ngettext(
            "Choose how long the link works: %(count)s day at most.",
            "Choose how long the link works: %(count)s days at most.", MAX_DAYS)
            % {"count": MAX_DAYS})
    try:
        token = await create_link(request.app[SESSIONS], access.person, access.gathering,
                                  form.days)
    except NotAllowed:
        return _not_member(request)
    except TooManyLinks:
        return await own_page(request, status=409, error=_(
            "You have many working share links to this page already. Revoke one you no "
            "longer need first."))
    url = str(request.app[SETTINGS].base_url / "take-home" / token)
    # shown once, on this answer: only the token's hash is kept
    return await own_page(request, new_link=url)


@resolved(_access)
async def revoke(request: web.Request, access: Access) -> web.Response:
    link_id = int(request.match_info["link"])
    if not await revoke_link(request.app[SESSIONS], access.person, link_id):
        return error_page(request, 404, _("You have no such share link."))
    return see_other(f"{_page(access.gathering)}#share-heading")


@resolved(_access)
async def markdown_file(request: web.Request, access: Access) -> web.Response:
    th = await _gathered(request, access)
    g = access.gathering
    return markdown_attachment(take_home_markdown(th), f"ta-med-hjem-{g.year}-{g.number}.md")


async def shared_page(request: web.Request) -> web.Response:
    sessions = request.app[SESSIONS]
    found = await shared_by_token(sessions, request.match_info["token"])
    if found is None or found.state is not LinkState.ACTIVE:
        response = render(request, "pages/take_home_gone.html",
                          status=404 if found is None else 410)
        response.headers.update(NOINDEX)
        return response
    gathering = await request.app[STORE].gathering(found.gathering_id)
    if gathering is None:  # deleted since: the link's row went with it, but be safe
        return error_page(request, 404, _("There is no gathering at this address."))
    th = await take_home(summaries(request.app), found.person, gathering)
    response = render(request, "pages/take_home_shared.html",
                      _context(th.shared(), shared=True))
    response.headers.update(NOINDEX)
    return response


async def old_address(request: web.Request) -> web.Response:
    """`/gatherings/{id}/take-home` (as first specified): the page lives with the gathering's
    other pages under /g/."""
    suffix = ".md" if request.path.endswith(".md") else ""
    return see_other(f"/g/{request.match_info['gathering']}/take-home{suffix}")


# --- Markdown ----------------------------------------------------------------------------------


def take_home_markdown(th: TakeHome) -> str:
    """The person's own page as Markdown: everything anyone wrote is escaped (notes go in
    code fences), as in the summary's export; no addresses (the file travels). (gettext
    calls stay outside f-strings, where the message extractor sees them.)"""
    g = th.gathering
    written_by = _("Written down by %(name)s.") % {"name": th.owner}
    out = [_heading(1, _("What I bring home: %(title)s") % {"title": g.title}),
           f"{md(g.theme.name)}, {md(long_date(g.starts_at))}. {md(written_by)}", ""]
    if not th.ended:
        out += [_emphasis(_("The gathering has not ended yet: this page fills in as it goes.")),
                ""]
    out.append(_heading(2, _("Our group notes")))
    for group in th.groups:
        out.append(_heading(3, " – ".join(x for x in (group.group, group.title) if x)))
        if group.task:
            out += [f"{_emphasis(_('Task') + ':')} {md(group.task)}", ""]
        out += [md_literal(group.notes) if group.notes else md(_("Nothing was written.")), ""]
    if not th.groups:
        out += [md(_("You were not in a breakout group in this gathering.")), ""]
    out.append(_heading(2, _("Questions I asked or voted for")))
    out += [f"- {md(q.text)} — {md(_question_status(q))}" for q in th.questions]
    if not th.questions:
        out.append(md(_("You did not ask or vote for a question.")))
    out += ["", _heading(2, _("Our follow-ups"))]
    labels = status_labels()
    for f in th.follow_ups:
        line = f"- {md(f.text)} — {md(labels.get(f.status, f.status))}"
        if f.due:
            line += " (" + md(_("due before %(title)s") % {"title": f.due}) + ")"
        out.append(line)
        if f.report:
            out.append(f"  {md(f.report)}")
        if safe_link(f.link):
            out.append(f"  {md(f.link)}")
    if not th.follow_ups:
        out.append(md(_("Your municipality has no follow-ups from this gathering.")))
    out += ["", _heading(2, _("People I met"))]
    out += [f"- {md(p.name)}" + (f" ({md(p.municipality)})" if p.municipality else "")
            for p in th.peers]
    out += [f"- {md(_unnamed(u.count, u.municipality))}" for u in th.unnamed]
    if not th.peer_count:
        out.append(md(_("You met nobody in a breakout group.")))
    out += ["", _heading(2, _("Recordings"))]
    out += [f"- {md(_recording_line(r.title, r.speaker, r.started_at))}" for r in th.recordings]
    if not th.recordings:
        out.append(md(_("There are no recordings of this gathering.")))
    return "\n".join(out).rstrip() + "\n"


def _heading(level: int, text: str) -> str:
    return f"{'#' * level} {md(text)}\n"


def _emphasis(text: str) -> str:
    return f"*{md(text)}*"


def _question_status(q: QuestionView) -> str:
    if not q.answered:
        return _("Not answered in the gathering")
    at = clock(q.answered_at) if q.answered_at else ""
    if q.item:
        return _("Answered at %(time)s, during %(item)s") % {"time": at, "item": q.item}
    return _("Answered at %(time)s") % {"time": at}


def _unnamed(count: int, municipality: str | None) -> str:
    if municipality:
        return ngettext("%(count)s person from %(place)s who has not chosen to be named",
                        "%(count)s people from %(place)s who have not chosen to be named",
                        count) % {"count": count, "place": municipality}
    return ngettext("%(count)s person who has not chosen to be named",
                    "%(count)s people who have not chosen to be named", count) % {"count": count}


def _recording_line(title: str | None, speaker: str | None, started: Any) -> str:
    what = ", ".join(x for x in (title, speaker) if x) or _("A recording without a title")
    return _("%(what)s, recorded %(when)s") % {"what": what, "when": date_time(started)}


def setup_take_home(app: web.Application) -> None:
    page = "/g/{gathering}/take-home"
    app.router.add_get(page, own_page)
    app.router.add_get(page + ".md", markdown_file)
    app.router.add_post(page + "/links", create)
    app.router.add_post(page + r"/links/{link:\d{1,9}}/revoke", revoke)
    app.router.add_get(f"/take-home/{{token:{TOKEN_PATTERN}}}", shared_page)
    app.router.add_get("/gatherings/{gathering}/take-home", old_address)
    app.router.add_get("/gatherings/{gathering}/take-home.md", old_address)
