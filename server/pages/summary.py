"""Summaries: the page of a gathering's summary (`/g/{id}/summary`), its introduction and
publication (runners), and its exports (Markdown, print-friendly HTML).

Everyone in the theme sees a published summary; only runners see a draft. Everything a
person wrote (names, titles, notes, the introduction) is escaped: by Jinja in HTML, and in
Markdown by backslash-escaping every punctuation character (notes go in code fences), so
the export cannot carry markup when someone renders it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from facilitation import Phase
from rooms.summaries import MAX_INTRO_CHARS, GatheringSummary, Summaries
from server.formatting import clock, long_date
from server.i18n import gettext as _
from server.i18n import ngettext
from server.keys import LIVE, NOTES, RECORDINGS, SESSIONS, STORE
from server.pages.access import Access, gathering_access, runner_access
from server.pages.auth import error_page, render, see_other
from server.pages.planning import kind_labels, rule_labels
from server.pages.resolving import resolved

PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character


def summaries(app: web.Application) -> Summaries:
    return Summaries(app[SESSIONS], app[STORE], app[NOTES])


def moment(at: float | None) -> datetime | None:
    return None if at is None else datetime.fromtimestamp(at, UTC)


def paragraphs(text: str) -> list[list[str]]:
    """Blank lines part paragraphs; each paragraph keeps its lines."""
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return [[line.strip() for line in block.split("\n")] for block in blocks if block.strip()]


# --- pages -------------------------------------------------------------------------------------


Shown = tuple[Access, GatheringSummary]


async def _summary_access(request: web.Request) -> Shown | web.Response:
    access = await gathering_access(request)
    if isinstance(access, web.Response):
        return access
    summary = await summaries(request.app).build(access.gathering)
    if not summary.published and not access.runs:
        return error_page(request, 404, _("The summary of this gathering has not been "
                                          "published yet."))
    return access, summary


async def _context(request: web.Request, access: Access, summary: GatheringSummary
                   ) -> dict[str, Any]:
    recordings = await request.app[RECORDINGS].of_gathering(access.gathering.id)
    return {"gathering": access.gathering, "theme": access.gathering.theme, "s": summary,
            "recordings": recordings,
            "runs": access.runs, "ended": summary.history.state.phase is Phase.ENDED,
            "kind_labels": kind_labels(), "rule_labels": rule_labels(), "moment": moment,
            "paragraphs": paragraphs, "max_intro": MAX_INTRO_CHARS}


@resolved(_summary_access)
async def summary_page(request: web.Request, found: Shown, *, error: str | None = None,
                       status: int = 200) -> web.Response:
    return render(request, "pages/summary.html",
                  {**await _context(request, *found), "error": error}, status=status)


@resolved(_summary_access)
async def summary_print(request: web.Request, found: Shown) -> web.Response:
    return render(request, "pages/summary_print.html", await _context(request, *found))


@resolved(runner_access)
async def save_summary(request: web.Request, access: Access) -> web.Response:
    """Save the introduction; `action` publish or unpublish as well."""
    form = await request.post()
    intro = str(form.get("intro", "")).replace("\r\n", "\n").strip()
    action = str(form.get("action", "save"))
    if len(intro) > MAX_INTRO_CHARS:
        return await summary_page(request, status=400, error=ngettext(
            "The introduction is too long: at most %(count)s character.",
            "The introduction is too long: at most %(count)s characters.", MAX_INTRO_CHARS)
            % {"count": MAX_INTRO_CHARS})
    if action == "publish":
        state = await request.app[LIVE].state(access.gathering.id)
        if state.phase is not Phase.ENDED:
            return await summary_page(request, status=409, error=_(
                "A summary can be published when the gathering has ended."))
    await summaries(request.app).save(
        access.gathering.id, intro,
        publish_by=access.person.id if action == "publish" else None,
        unpublish=action == "unpublish")
    return see_other(f"/g/{access.gathering.id}/summary")


@resolved(_summary_access)
async def summary_markdown_file(request: web.Request, found: Shown) -> web.Response:
    access, summary = found
    gathering = access.gathering
    return markdown_attachment(summary_markdown(summary),
                               f"oppsummering-{gathering.year}-{gathering.number}.md")


def markdown_attachment(text: str, filename: str) -> web.Response:
    """A Markdown file to download, never cached."""
    return web.Response(
        text=text, content_type="text/markdown", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                 "Cache-Control": "no-store"})


# --- Markdown ----------------------------------------------------------------------------------


def md(text: str | None) -> str:
    """User text for Markdown, on one line: every punctuation character escaped."""
    return PUNCTUATION.sub(r"\\\1", " ".join((text or "").split()))


def md_paragraphs(text: str) -> list[str]:
    return ["\\\n".join(md(line) for line in block if line) for block in paragraphs(text)]


def md_literal(text: str) -> str:
    """A code fence longer than any run of backticks in the text: shown as is, never markup."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _minutes(value: int | None) -> str:
    return "–" if value is None else str(value)


def _signed(value: int | None) -> str:
    return "–" if value is None else f"{value:+d}"


def summary_markdown(s: GatheringSummary) -> str:
    g = s.gathering
    out: list[str] = [
        f"# {md(_('Summary'))}: {md(g.title)}", "",
        f"{md(g.theme.name)}, {md(long_date(g.starts_at))}", ""]
    if not s.published:
        out += [f"*{md(_('Draft: not published yet.'))}*", ""]
    out += [*(p + "\n" for p in md_paragraphs(s.intro))]
    out += _md_agenda(s)
    out += _md_attendance(s)
    out += _md_breakouts(s)
    out += _md_questions(s)
    out += _md_polls(s)
    if s.plenary_notes:
        out += [f"## {md(_('Plenary notes'))}", "", md_literal(s.plenary_notes), ""]
    return "\n".join(out).rstrip() + "\n"


def _md_agenda(s: GatheringSummary) -> list[str]:
    kinds = kind_labels()
    out = [f"## {md(_('The agenda as run'))}", "",
           f"| {_('Item')} | {_('Kind')} | {_('Planned minutes')} | {_('Started')} "
           f"| {_('Actual minutes')} | {_('Difference')} |",
           "| --- | --- | ---: | --- | ---: | ---: |"]
    for run in s.history.items:
        started = moment(run.started_at)
        expert = s.names.get(run.slot.expert_id) if run.slot.expert_id else None
        title = md(run.slot.title) + (f" ({md(expert)})" if expert else "")
        out.append(f"| {title} | {md(kinds.get(run.slot.kind, run.slot.kind))} "
                   f"| {run.slot.planned_minutes} | {clock(started) if started else '–'} "
                   f"| {_minutes(run.actual_minutes)} | {_signed(run.difference_minutes)} |")
    return [*out, ""]


def _md_attendance(s: GatheringSummary) -> list[str]:
    out = [f"## {md(_('Attendance'))}", ""]
    for municipality, people in s.history.by_municipality():
        where = md(municipality) if municipality else md(_("Without a municipality"))
        out.append(f"- **{where}**: {', '.join(md(p.name) for p in people)}")
    if not s.history.attendees:
        out.append(md(_("Nobody came.")))
    return [*out, ""]


def _md_breakouts(s: GatheringSummary) -> list[str]:
    out: list[str] = []
    for r in s.history.rounds:
        title = s.history.item_title(r.item_id) or _("Breakout groups")
        out += [f"## {md(_('Breakout groups'))} {r.round}: {md(title)}", ""]
        if r.plan.task:
            out += [f"*{md(_('Task'))}:* {md(r.plan.task)}", ""]
        for group in r.groups:
            out += [f"### {md(group.name)}", ""]
            names = ", ".join(md(m.name) + (f" ({md(m.municipality)})" if m.municipality else "")
                              for m in group.members)
            out += [names or md(_("Nobody was in this group.")), ""]
            notes = s.group_notes(r.round, group.id)
            if notes:
                out += [md_literal(notes), ""]
    return out


def _md_questions(s: GatheringSummary) -> list[str]:
    if not s.questions:
        return []
    out = [f"## {md(_('Questions'))}", ""]
    for q in s.questions:
        who = (md(q.author.name) + (f" ({md(q.author.municipality)})"
                                    if q.author.municipality else "")
               if q.author else md(_("Anonymous")))
        status = _("Answered") if q.status == "answered" else _("Not answered")
        votes = ngettext("%(count)s vote", "%(count)s votes", q.votes) % {"count": q.votes}
        out.append(f"- {md(q.text)} — {who}, {md(votes)}, {md(status)}")
    return [*out, ""]


def _md_polls(s: GatheringSummary) -> list[str]:
    if not s.polls:
        return []
    out = [f"## {md(_('Polls'))}", ""]
    for result in s.polls:
        out += [f"### {md(result.poll.question)}", ""]
        out += [f"- {md(option)}: {count}" for option, count in result.options]
        out += [f"- {md(w.word)}: {w.count}" for w in result.words]
        out.append("")
    return out


def setup_summaries(app: web.Application) -> None:
    app.router.add_get("/g/{gathering}/summary", summary_page)
    app.router.add_post("/g/{gathering}/summary", save_summary)
    app.router.add_get("/g/{gathering}/summary.md", summary_markdown_file)
    app.router.add_get("/g/{gathering}/summary/print", summary_print)
