"""Agenda planning pages: the planner (`/g/{id}/plan`, runners only) and the published
agenda (`/g/{id}/agenda`, the theme's members).

The planner is plain HTML forms, so it works without scripts and by keyboard. Every form
becomes the same command a socket client sends (`agenda.add_item`, ...), validated by the
same schema (server/sockets/protocol.py) and carried out by the one command path
(`LiveRooms.execute`): consoles and rooms that are open see the change as events. Each
rendered page gives its forms a fresh command id, so a form sent twice acts once."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import replace
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from facilitation import AgendaSlot, Command, GatheringState, Phase, Rejected
from facilitation.planning import (
    EXPERT_KINDS,
    FOLLOW_UP_KINDS,
    KINDS,
    MAX_MINUTES,
    MAX_TITLE_CHARS,
    MIN_MINUTES,
    TEMPLATES,
    TemplateMerge,
    frozen_prefix,
    merge_template,
    planned_clock,
    template_agenda,
)
from facilitation.polls import (
    CHECKIN_KIND,
    MAX_OPTION_CHARS,
    MAX_OPTIONS,
    MAX_QUESTION_CHARS,
    MIN_OPTIONS,
)
from facilitation.stage import TALK_KIND
from facilitation.state import GroupingRule, PollKind
from rooms.directory import actor_in_gathering, gatherings_of, names_of, theme_members
from rooms.live import Forbidden
from server.i18n import gettext as _
from server.i18n import ngettext
from server.keys import LIVE, SESSIONS
from server.pages.access import Access, gathering_access, published_summary, runner_access
from server.pages.auth import error_page, render, see_other
from server.pages.resolving import resolved
from server.sockets.protocol import COMMANDS, AddAgendaItem, Payload, UpdateAgendaItem

COMMAND_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EXPERT_ROLES = ("expert", "participant", "facilitator")  # who may present in a slot


def kind_labels() -> dict[str, str]:
    return {"welcome": _("Welcome and check-in"), "expert_talk": _("Expert talk"),
            "qa": _("Questions and answers"), "breakout": _("Breakout groups"),
            "plenary": _("Plenary sharing"), "break": _("Break"), "wrap_up": _("Wrap-up")}


def proposed_talk(agenda: tuple[AgendaSlot, ...]) -> AgendaSlot | None:
    """The expert talk that ends the agenda, if it names an expert: the add form proposes
    its expert, for the Q&A that usually follows (which keeps them on stage anyway)."""
    last = agenda[-1] if agenda else None
    return last if last and last.kind == TALK_KIND and last.expert_id is not None else None


def rule_labels() -> dict[str, str]:
    return {GroupingRule.SAME_STAGE: _("Same project stage"),
            GroupingRule.MIXED: _("Mixed stages, an experienced municipality in each group"),
            GroupingRule.BY_TAG: _("By tag"), GroupingRule.RANDOM: _("Random"),
            GroupingRule.SELF_SELECT: _("Participants choose their group")}


def poll_kind_labels() -> dict[str, str]:
    return {PollKind.SINGLE: _("One choice"), PollKind.MULTIPLE: _("Several choices"),
            PollKind.WORD: _("A word (a word cloud)")}


def template_labels() -> dict[str, str]:
    labels = {"standard": _("Standard gathering (two hours)"),
              "workshop": _("Workshop with two rounds of groups (two hours)")}
    return {name: labels.get(name, name) for name in TEMPLATES}


def rejection_text(reason: str) -> str:
    """The planning rules' reasons (English, for developers) as a message for people."""
    known = [
        ("ended", _("The gathering has ended: its agenda can no longer be changed.")),
        ("agenda has started", _("The agenda has started: it can no longer be replaced as "
                                 "a whole. Change the items that have not started yet.")),
        ("started", _("That item has started, so it can no longer be changed. Change the "
                      "items that have not started yet.")),
        ("no such agenda item", _("That item is no longer on the agenda.")),
        ("position", _("The item cannot be placed there.")),
        ("no place left", _("The item cannot be placed there.")),
        ("expert", _("Only an expert talk or a Q&A item names an expert, who must be a "
                     "person of this theme.")),
        ("check-in", _("Only a welcome item has a check-in poll.")),
        ("poll", poll_text()),
        ("option", poll_text()),
        ("at most", _("The agenda is full.")),
        ("template", _("There is no such agenda to start from.")),
        ("gathering", _("There is no such agenda to start from.")),
        ("empty", _("That agenda is empty.")),
    ]
    return next((text for key, text in known if key in reason),
                _("The agenda could not be changed. Reload the page and try again."))


def characters(count: int) -> str:
    return ngettext("%(count)s character", "%(count)s characters", count) % {"count": count}


def minutes(count: int) -> str:
    return ngettext("%(count)s minute", "%(count)s minutes", count) % {"count": count}


def invalid_text() -> str:
    return _("Check the fields: a title has 1 to %(chars)s and an item lasts %(low)s to "
             "%(high)s.") % {"chars": characters(MAX_TITLE_CHARS), "low": MIN_MINUTES,
                             "high": minutes(MAX_MINUTES)}


def poll_text() -> str:
    options = ngettext("%(count)s different option", "%(count)s different options",
                       MAX_OPTIONS) % {"count": MAX_OPTIONS}
    return _("Check the check-in poll: a question has 1 to %(chars)s; a choice poll has "
             "%(low)s to %(options)s, one per line, of at most %(option)s each; a word poll "
             "has no options.") % {
        "chars": characters(MAX_QUESTION_CHARS), "low": MIN_OPTIONS, "options": options,
        "option": characters(MAX_OPTION_CHARS)}


# --- the pages -------------------------------------------------------------------------------


async def _state(request: web.Request, access: Access) -> GatheringState:
    return await request.app[LIVE].state(access.gathering.id)


async def _planner(request: web.Request, access: Access, *, error: str | None = None,
                   status: int = 200) -> web.Response:
    sessions = request.app[SESSIONS]
    state = await _state(request, access)
    gathering = access.gathering
    others = [g for g in await gatherings_of(sessions, gathering.theme_id) if g.id != gathering.id]
    experts = [(p, r) for p, r in await theme_members(sessions, gathering.theme_id)
               if r.value in EXPERT_ROLES]
    names = {p.id: p.name for p, _ in experts}
    missing = {s.expert_id for s in state.agenda if s.expert_id and s.expert_id not in names}
    names |= await names_of(sessions, missing)
    frozen = frozen_prefix(state)
    return render(request, "pages/plan.html", {
        "gathering": gathering, "theme": gathering.theme, "state": state,
        "clock": planned_clock(state.agenda, gathering.starts_at, gathering.planned_minutes),
        "frozen": frozen, "ended": state.phase is Phase.ENDED, "others": others,
        "experts": experts, "names": names, "error": error,
        "kinds": KINDS, "kind_labels": kind_labels(), "rule_labels": rule_labels(),
        "templates": template_labels(), "expert_kinds": sorted(EXPERT_KINDS),
        "poll_kinds": poll_kind_labels(), "command_id": uuid.uuid4().hex,
        "proposed_talk": proposed_talk(state.agenda),
    }, status=status)


@resolved(runner_access)
async def plan_page(request: web.Request, access: Access) -> web.Response:
    return await _planner(request, access)


@resolved(runner_access)
async def item_page(request: web.Request, access: Access, *, error: str | None = None,
                    status: int = 200) -> web.Response:
    state = await _state(request, access)
    item_id = int(request.match_info["item"])
    index = next((i for i, s in enumerate(state.agenda) if s.id == item_id), None)
    if index is None:
        return error_page(request, 404, _("That item is no longer on the agenda."))
    sessions = request.app[SESSIONS]
    experts = [(p, r) for p, r in await theme_members(sessions, access.gathering.theme_id)
               if r.value in EXPERT_ROLES]
    return render(request, "pages/plan_item.html", {
        "gathering": access.gathering, "item": state.agenda[index],
        "changeable": index >= frozen_prefix(state) and state.phase is not Phase.ENDED,
        "experts": experts, "error": error, "kinds": KINDS, "kind_labels": kind_labels(),
        "rule_labels": rule_labels(), "expert_kinds": sorted(EXPERT_KINDS),
        "poll_kinds": poll_kind_labels(), "command_id": uuid.uuid4().hex,
    }, status=status)


@resolved(gathering_access)
async def agenda_page(request: web.Request, access: Access) -> web.Response:
    """The published agenda with its planned times, for everyone in the theme."""
    state = await _state(request, access)
    gathering = access.gathering
    experts = {s.expert_id for s in state.agenda if s.expert_id is not None}
    return render(request, "pages/agenda.html", {
        "gathering": gathering, "theme": gathering.theme, "runs": access.runs,
        "clock": planned_clock(state.agenda, gathering.starts_at, gathering.planned_minutes),
        "names": await names_of(request.app[SESSIONS], experts), "kind_labels": kind_labels(),
        "phase": state.phase.value, "summary_url": await published_summary(request, state),
    })


# --- the forms ---------------------------------------------------------------------------------

Form = MultiDictProxy[Any]


def payload(command_type: str, fields: dict[str, Any]) -> Payload:
    """A form's fields as the command's payload, by the same schema as a socket client's."""
    return COMMANDS[command_type].schema.model_validate(fields)


def _text(form: Form, name: str) -> str:
    return str(form.get(name, "")).replace("\r\n", "\n")


def _int(form: Form, name: str) -> int | None:
    value = _text(form, name).strip()
    return int(value) if value else None


def _checkin_poll(form: Form) -> dict[str, Any] | None:
    """The check-in poll fieldset: none without a question; options one per line (blank
    lines skipped), and none for a word poll."""
    question = _text(form, "checkin_question").strip()
    if not question:
        return None
    kind = _text(form, "checkin_kind")
    options = [line.strip() for line in _text(form, "checkin_options").split("\n")]
    return {"question": question, "kind": kind,
            "options": [] if kind == PollKind.WORD else [o for o in options if o]}


def _item_fields(form: Form) -> dict[str, Any]:
    """The fields of the item form as a command's payload: the expert only for the kinds
    that have one, the breakout settings only for a breakout item, the check-in poll only
    for a welcome item (an empty question: no check-in poll)."""
    kind = _text(form, "kind")
    fields: dict[str, Any] = {"kind": kind, "title": _text(form, "title").strip(),
                              "planned_minutes": _int(form, "planned_minutes")}
    if kind in EXPERT_KINDS:
        fields["expert_id"] = _int(form, "expert_id")
    if kind == "breakout":
        fields["breakout"] = {
            "rule": _text(form, "rule") or None, "group_size": _int(form, "group_size"),
            "task": _text(form, "task").strip(), "note_template": _text(form, "note_template"),
            "spread_municipalities": form.get("spread_municipalities") == "on"}
    if kind == CHECKIN_KIND:
        fields["checkin_poll"] = _checkin_poll(form)
    if kind in FOLLOW_UP_KINDS:  # the follow-ups due here, listed in the room
        fields["follow_ups"] = form.get("follow_ups") == "on"
    return fields


async def _execute(request: web.Request, access: Access, form: Form, command: Command) -> None:
    actor = await actor_in_gathering(request.app[SESSIONS], access.person, access.gathering)
    if actor is None:
        raise Forbidden("not a member of the theme")
    command_id = _text(form, "command_id")
    outcome = await request.app[LIVE].execute(
        actor, access.gathering.id, command, command_id if COMMAND_ID.match(command_id) else None)
    if not outcome.answer.get("ok"):  # a form sent again gets its first answer, a refusal too
        raise Rejected(str(outcome.answer.get("error", {}).get("message", "")))


@resolved(runner_access)
async def _planning_form(request: web.Request, access: Access, build: Any, *,
                         anchor: str = "agenda", on_item_page: bool = False) -> web.Response:
    form = await request.post()
    try:
        command = build(form).to_command()
    except (ValueError, KeyError):  # pydantic's ValidationError is a ValueError
        error, status = invalid_text(), 400
        if _text(form, "kind") == CHECKIN_KIND and _text(form, "checkin_question").strip():
            error = f"{error} {poll_text()}"
    else:
        try:
            await _execute(request, access, form, command)
        except Rejected as rejected:
            error, status = rejection_text(rejected.reason), 409
        except Forbidden:
            return error_page(request, 403, _("Only the facilitator of this theme and the "
                                              "programme lead can do this."))
        else:
            return see_other(f"/g/{access.gathering.id}/plan#{anchor}")
    if on_item_page:
        return await item_page(request, error=error, status=status)
    return await _planner(request, access, error=error, status=status)


async def add_item(request: web.Request) -> web.Response:
    def build(form: Form) -> AddAgendaItem:
        return AddAgendaItem.model_validate({**_item_fields(form),
                                             "position": _int(form, "position")})

    return await _planning_form(request, build)


async def update_item(request: web.Request) -> web.Response:
    def build(form: Form) -> UpdateAgendaItem:
        return UpdateAgendaItem.model_validate({"item_id": int(request.match_info["item"]),
                                                **_item_fields(form)})

    return await _planning_form(request, build, anchor=f"item-{request.match_info['item']}",
                                on_item_page=True)


async def move_item(request: web.Request) -> web.Response:
    def build(form: Form) -> Payload:
        return payload("agenda.move_item", {"item_id": int(request.match_info["item"]),
                                            "position": _int(form, "position")})

    return await _planning_form(request, build, anchor=f"item-{request.match_info['item']}")


async def remove_item(request: web.Request) -> web.Response:
    def build(form: Form) -> Payload:
        return payload("agenda.remove_item", {"item_id": int(request.match_info["item"])})

    return await _planning_form(request, build)


def confirmed_as(merge: TemplateMerge) -> str:
    """What a template's confirmation showed, in short: the agenda it gives and the items it
    removes. Its form carries this, so the template is applied only as it was shown."""
    shown = (tuple(replace(slot, id=0) for slot in merge.agenda), merge.removed)
    return hashlib.sha256(repr(shown).encode()).hexdigest()[:32]


async def _template_confirmation(request: web.Request, access: Access, name: str, *,
                                 error: str | None = None, status: int = 200) -> web.Response:
    """What using the template would do to the agenda: which items are kept (in the place
    of the template's item of their kind), added and removed; and the form that does it."""
    state = await _state(request, access)
    template = template_agenda(name)
    if template is None:
        return await _planner(request, access, error=rejection_text("template"), status=404)
    if state.phase is Phase.ENDED or frozen_prefix(state):
        reason = "ended" if state.phase is Phase.ENDED else "agenda has started"
        return await _planner(request, access, error=rejection_text(reason), status=409)
    merge = merge_template(state.agenda, template)
    experts = {s.expert_id for s in merge.agenda if s.expert_id is not None}
    return render(request, "pages/plan_template.html", {
        "gathering": access.gathering, "template": name, "label": template_labels()[name],
        "merge": merge, "confirmed_as": confirmed_as(merge), "error": error,
        "names": await names_of(request.app[SESSIONS], experts), "kind_labels": kind_labels(),
        "command_id": uuid.uuid4().hex,
    }, status=status)


@resolved(runner_access)
async def template_page(request: web.Request, access: Access) -> web.Response:
    return await _template_confirmation(request, access, request.query.get("template", ""))


@resolved(runner_access)
async def use_template(request: web.Request, access: Access) -> web.Response:
    """Apply a template as its confirmation showed it; a form that shows something else
    (the agenda changed meanwhile, or nothing was shown) gets the confirmation again."""
    form = await request.post()
    name = _text(form, "template")
    template = template_agenda(name)
    if template is not None:
        merge = merge_template((await _state(request, access)).agenda, template)
        shown = _text(form, "confirmed_as")
        if shown != confirmed_as(merge):
            changed = _("The agenda has changed since: check what the template does now.")
            return await _template_confirmation(request, access, name,
                                                error=changed if shown else None,
                                                status=409 if shown else 200)

    def build(form: Form) -> Payload:
        return payload("agenda.use_template", {"template": name})

    return await _planning_form(request, build)


async def copy_agenda(request: web.Request) -> web.Response:
    def build(form: Form) -> Payload:
        return payload("agenda.copy_from", {"from_gathering": _text(form, "from_gathering")})

    return await _planning_form(request, build)


def setup_planning(app: web.Application) -> None:
    base = "/g/{gathering}/plan"
    item = base + "/{item:[0-9]{1,9}}"
    app.router.add_get(base, plan_page)
    app.router.add_post(base + "/add", add_item)
    app.router.add_get(base + "/template", template_page)
    app.router.add_post(base + "/template", use_template)
    app.router.add_post(base + "/copy", copy_agenda)
    app.router.add_get(item, item_page)
    app.router.add_post(item, update_item)
    app.router.add_post(item + "/move", move_item)
    app.router.add_post(item + "/remove", remove_item)
    app.router.add_get("/g/{gathering}/agenda", agenda_page)
