"""Every page added for the programme year, in real headless Chromium, once in bokmål and
once in nynorsk: axe-core finds nothing, `<html lang>` is the language chosen, and no text on
the page is a string of the other language (or an untranslated English msgid) that the
chosen language's catalogues say differently.

The untranslated check reads both languages' catalogues (both domains): a text on the page
is suspect when it is, whole, another language's translation (or an msgid) and not also a
translation of the chosen language; `%(name)s` placeholders match any text."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from rooms import follow_ups, network
from rooms.announcements import post_announcement, post_reply
from rooms.language import save_language
from rooms.models import Project
from rooms.take_home import create_link
from server.i18n import DOMAINS, LOCALE_DIR
from tests.e2e.conftest import LiveServer, axe_violations, chromium
from tests.e2e.test_live_room import sign_in
from tests.server.test_experts import booked
from tests.server.test_signups import gathering_with_sign_ups

pytestmark = pytest.mark.e2e

LANGUAGES = ("nb", "nn")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")
MIN_LITERAL = 4  # a pattern with fewer letters of its own than this matches too much
BROKEN_LIST = Path(__file__).resolve().parents[1] / "data" / "tilskudd_feil.csv"

# What a page quotes rather than says: the header row of an uploaded file (in the file's
# language, whatever the page's)
QUOTED = "dl.import-columns dd, [data-quoted]"  # and what people wrote (agenda titles)
# Every text of the page's body, whole: each element's own text and each text node, as a
# person would read it (spaces collapsed); scripts, styles and quotes are not its text.
PAGE_TEXTS = """(quoted) => {
  const squeeze = (s) => s.replace(/\\s+/g, " ").trim();
  const texts = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ALL);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    if (parent && parent.closest(`script, style, ${quoted}`)) continue;
    const text = squeeze(node.textContent || "");
    if (text) texts.add(text);
    if (node.nodeType === Node.ELEMENT_NODE) {
      for (const name of ["aria-label", "title", "alt", "placeholder"]) {
        const value = squeeze(node.getAttribute(name) || "");
        if (value) texts.add(value);
      }
    }
  }
  return [...texts];
}"""


def _strings(entry: Any) -> list[str]:
    values = entry if isinstance(entry, (list, tuple)) else [entry]
    return [" ".join(str(v).split()) for v in values if v]


@functools.cache
def catalogue(language: str) -> tuple[set[str], set[str]]:
    """A language's translations and the msgids they translate, both domains."""
    translated: set[str] = set()
    msgids: set[str] = set()
    for domain in DOMAINS:
        path = LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
        with path.open("rb") as po:
            for message in read_po(po, locale=language, domain=domain):
                if message.id and message.string:
                    translated.update(_strings(message.string))
                    msgids.update(_strings(message.id))
    return translated, msgids


def _pattern(strings: set[str]) -> re.Pattern[str]:
    parts = []
    for text in sorted(strings):
        if "<" in text:  # markup in a message: the page shows it differently
            continue
        literal = PLACEHOLDER.sub("", text)
        if PLACEHOLDER.search(text) and len(re.sub(r"\W", "", literal)) < MIN_LITERAL:
            continue
        pieces = PLACEHOLDER.split(text)
        # split() leaves the group (a name or None) between the literal pieces
        parts.append(".+?".join(re.escape(p) for p in pieces[::2]))
    return re.compile("|".join(f"(?:{p})" for p in parts) or "(?!)")


@functools.cache
def markers(language: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(what the page must not show, what it may): the other language's translations and
    the msgids, less the chosen language's own translations; and those own translations."""
    own, msgids = catalogue(language)
    other, _ = catalogue(next(lang for lang in LANGUAGES if lang != language))
    return _pattern((other | msgids) - own), _pattern(own)


def untranslated(texts: list[str], language: str) -> list[str]:
    foreign, own = markers(language)
    return [t for t in texts if foreign.fullmatch(t) and not own.fullmatch(t)]


@dataclass
class Visit:
    name: str
    path: str
    action: str = ""  # "submit-empty": press the page's form's button; "upload": a dry run


async def _show(page: Any, visit: Visit) -> None:
    response = await page.goto(visit.path)
    assert response is not None and response.status < 400, (
        f"{visit.name} ({visit.path}): HTTP {response and response.status}")
    if visit.action == "submit-empty":
        async with page.expect_navigation():
            await page.locator("main form.plan-form button[type=submit]").click()
        await page.locator(".error-summary").wait_for()
    elif visit.action == "upload":
        await page.locator("#import-file").set_input_files(BROKEN_LIST)
        async with page.expect_navigation():
            await page.locator("main form button[type=submit]").click()
        await page.locator("main table").first.wait_for()


async def _problems(page: Any, visit: Visit, language: str) -> list[str]:
    await _show(page, visit)
    where = f"{visit.name} ({visit.path}) in {language}"
    found = []
    lang = await page.get_attribute("html", "lang")
    if lang != language:
        found.append(f"{where}: <html lang={lang!r}>")
    if not await page.locator("h1").count():
        found.append(f"{where}: no h1")
    strays = untranslated(await page.evaluate(PAGE_TEXTS, QUOTED), language)
    if strays:
        found.append(f"{where}: text of another language or untranslated: {strays[:8]}")
    violations = await axe_violations(page)
    if violations:
        found.append(f"{where}: axe-core: {violations}")
    return found


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_new_page_is_accessible_and_translated(live_server: LiveServer,
                                                           language: str) -> None:
    world = live_server.world
    gathering = world.gathering.id
    async with live_server.sessions() as s:
        project = Project(municipality_id=world.alice.municipality_id, theme_id=world.theme.id,
                          title="Mindre matsvinn i kantina", stage="oppstart",
                          tags=["kantine"], grant_year=2025, description="Kantina kastar mindre.")
        s.add(project)
        await s.commit()
    for person in (world.lead, world.alice):
        await save_language(live_server.sessions, person.id, language)
    announced = await post_announcement(live_server.sessions, world.facilitator,
                                        theme_id=world.theme.id, title="Nye tall",
                                        body="## Tall\n- **12 %** mindre")
    await post_reply(live_server.sessions, world.bjorn, announced.id, "Takk, *fint*!")
    asked = await network.ask(live_server.sessions, world.bjorn, world.theme.id,
                              title="Anbud på kantinedrift", body="Hvem har **erfaring**?",
                              now=datetime.now(UTC))
    await network.answer(live_server.sessions, world.alice, asked, body="Vi, i *fjor*.",
                         now=datetime.now(UTC))
    await network.send_message(live_server.sessions, world.bjorn, world.alice.id,
                               body="Hei!\nKan vi snakkes?", now=datetime.now(UTC))

    shared_token = await create_link(live_server.sessions, world.alice, world.gathering, 30)
    coming = await gathering_with_sign_ups(live_server.sessions, world)
    assert world.alice.municipality_id is not None
    followed = await follow_ups.create(
        live_server.sessions, world.facilitator, gathering_id=gathering,
        municipality_id=world.alice.municipality_id, text="Prøve kompost i kantina",
        now=datetime.now(UTC))
    expert_token = await booked(live_server.sessions, world)
    as_lead = [
        Visit("year's gatherings", "/schedule?year=2026"),
        Visit("new gathering form", "/schedule/new?theme=mat"),
        Visit("new gathering form with errors", "/schedule/new?theme=mat", "submit-empty"),
        Visit("gathering edit form", f"/schedule/{gathering}/edit"),
        Visit("gathering cancel confirmation", f"/schedule/{gathering}/cancel"),
        Visit("import upload", "/import"),
        Visit("import dry run with broken rows", "/import", "upload"),
        Visit("programme overview", "/overview?year=2026"),
        Visit("gathering overview", f"/overview/g/{gathering}"),
        Visit("theme's projects", "/themes/mat/projects"),
        Visit("project page (lead)", f"/projects/{project.id}"),
        Visit("municipalities", "/municipalities"),
        Visit("municipality edit form", f"/municipalities/{world.alice.municipality_id}/edit"),
        Visit("announcements", "/themes/mat/announcements"),
        Visit("new announcement form", "/themes/mat/announcements/new"),
        Visit("new announcement form with errors", "/themes/mat/announcements/new",
              "submit-empty"),
        Visit("new announcement to every theme", "/announcements/new"),
        Visit("announcement (lead)", f"/themes/mat/announcements/{announced.id}"),
        Visit("theme's people", "/themes/mat/people"),
        Visit("help request (facilitator's buttons)", f"/themes/mat/help/{asked}"),
        Visit("peers (lead)", "/themes/mat/peers"),
        Visit("privacy: people", "/privacy/people"),
        Visit("privacy: erase confirmation", f"/privacy/people/{world.bjorn.id}"),
        Visit("who is coming, groups proposed in advance", f"/gatherings/{coming}/expected"),
        Visit("follow-ups from a gathering (facilitator)", f"/g/{gathering}/follow-ups"),
        Visit("follow-up (lead)", f"/follow-ups/{followed}"),
        Visit("theme's home (lead)", "/themes/mat"),
        Visit("a gathering's experts", f"/gatherings/{gathering}/experts"),
        Visit("expert invitation form with errors", f"/gatherings/{gathering}/experts",
              "submit-empty"),
        Visit("questions before the gathering (lead)", f"/gatherings/{gathering}/questions"),
        Visit("an expert's invitation, by its link", f"/experts/{expert_token}"),
    ]
    as_participant = [
        Visit("privacy statement", "/privacy"),
        Visit("my data", "/me/data"),
        Visit("delete me confirmation", "/me/delete"),
        Visit("my projects", "/projects"),
        Visit("project page (participant)", f"/projects/{project.id}"),
        Visit("theme's projects (participant)", "/themes/mat/projects"),
        Visit("mail choice", "/mail"),
        Visit("help requests", "/themes/mat/help"),
        Visit("help request (participant)", f"/themes/mat/help/{asked}"),
        Visit("peers", "/themes/mat/peers"),
        Visit("messages", "/messages"),
        Visit("sign up for a gathering", f"/gatherings/{coming}/signup"),
        Visit("questions before the gathering", f"/gatherings/{gathering}/questions"),
        Visit("announcement (participant)", f"/themes/mat/announcements/{announced.id}"),
        Visit("what I bring home", f"/g/{gathering}/take-home"),
        Visit("what I bring home, shared", f"/take-home/{shared_token}"),
        Visit("follow-ups from a gathering (participant)", f"/g/{gathering}/follow-ups"),
        Visit("theme's follow-ups", "/themes/mat/follow-ups"),
        Visit("theme's home between gatherings", "/themes/mat"),
        Visit("notification settings", "/settings/notifications"),
        Visit("follow-up (owner)", f"/follow-ups/{followed}"),
        Visit("search the archive, with results", "/search?q=kantinedrift&theme=mat"),
        Visit("search the archive, the empty form", "/search"),
    ]
    problems: list[str] = []
    async with chromium() as browser:
        for who, visits in ((world.lead, as_lead), (world.alice, as_participant)):
            signed = await sign_in(browser, live_server, who)
            for visit in visits:
                problems += await _problems(signed.page, visit, language)
            assert signed.errors == [], f"script errors in {language}: {signed.errors}"
            await signed.context.close()
    assert problems == [], "\n".join(problems)


def test_the_untranslated_check_knows_each_language() -> None:
    """Not vacuous: a bokmål word on a nynorsk page is caught, and the other way round, and
    so is an msgid left in English; a word both languages share, or data, is not."""
    assert untranslated(["Tilskuddsår", "Grant year", "Tilskotsår", "Askvik kommune"],
                        "nn") == ["Tilskuddsår", "Grant year"]
    assert untranslated(["Tilskotsår", "Tilskuddsår", "Mine samlingar"], "nb") == [
        "Tilskotsår", "Mine samlingar"]
    assert untranslated(["Endre samling 3: Vår", "Ny samling"], "nn") == []
