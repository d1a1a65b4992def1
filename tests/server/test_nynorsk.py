"""Nynorsk: both catalogues complete and in nynorsk, the language switch on every page, the
choice kept in a cookie and in Person.language, dates in the language shown.

`python -m tests.server.test_nynorsk` lists the msgids of the nb catalogues that the nn ones
lack (and the other way round), as .po entries with the bokmål to translate from."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.language import save_language
from rooms.models import Gathering, Person
from server.i18n import LOCALE_COOKIE, client_catalog
from server.settings import SOURCE_ROOT
from tests.factories import World
from tests.mailbox import Inbox, parts
from tests.rooms.test_notes import any_db  # noqa: F401 (the fixture: SQLite and PostgreSQL)
from tests.server.browsing import Browser, PageOutline, csrf_of
from tests.server.test_pages import signed_in

LOCALE_DIR = SOURCE_ROOT / "server" / "locale"
DOMAINS = ("messages", "room")
# Bokmål forms that nynorsk by the official norm does not use (whole words, any case).
BOKMAL = ("ikke", "jeg", "hva", "hvordan", "hvem", "hvor", "hvis", "hver", "hvert", "hvilken",
          "bare", "noe", "mye", "nå", "ennå", "fra", "være", "gjøre", "å se", "deltaker",
          "deltakere", "deltakerne", "leder", "lederen", "innleder", "begynt", "lenken",
          "siden", "samlingen", "gruppen", "avstemning", "avstemningen", "mulig", "dere",
          "tilgjengelig", "dager", "personer", "minutter", "spørsmålene", "notatene",
          "punktene", "åpne", "åpen", "åpnet", "avsluttet", "startet", "selv", "gikk", "fikk",
          "kommer", "skrevet", "ble", "lukket", "navn", "navnet", "tegn", "høyst", "dem")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def catalogue(locale: str, domain: str) -> Catalog:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / f"{domain}.po").open("rb") as po:
        return read_po(po, locale=locale, domain=domain)


def ids(catalog: Catalog) -> dict[object, Message]:
    return {m.id: m for m in catalog if m.id}


def forms(value: object) -> tuple[str, ...]:
    """A msgid or msgstr as its forms: one, or singular and plural."""
    return tuple(map(str, value)) if isinstance(value, tuple | list) else (str(value or ""),)


def strings(message: Message) -> tuple[str, ...]:
    return forms(message.string)


def missing_entries() -> str:
    """The .po entries to translate and append to the nn catalogues (and msgids only nn has)."""
    out = []
    for domain in DOMAINS:
        nb, nn = ids(catalogue("nb", domain)), ids(catalogue("nn", domain))
        for msgid in nn.keys() - nb.keys():
            out.append(f"# {domain}: in nn but no longer in nb: {msgid!r}")
        todo = [nb[k] for k in nb if k not in nn]
        if todo:
            out.append(f"# ---- append to server/locale/nn/LC_MESSAGES/{domain}.po")
        for m in todo:
            out.append(f"# nb: {' | '.join(strings(m))}")
            if m.locations:
                out.append("#: " + " ".join(f"{path}:{line}" if line else path
                                            for path, line in m.locations))
            msgid = forms(m.id)
            if len(msgid) == 2:
                out += [f"msgid {quote(msgid[0])}", f"msgid_plural {quote(msgid[1])}",
                        'msgstr[0] ""', 'msgstr[1] ""', ""]
            else:
                out += [f"msgid {quote(msgid[0])}", 'msgstr ""', ""]
    return "\n".join(out)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# ---- the catalogues -------------------------------------------------------------------------

def test_nynorsk_has_every_msgid_of_bokmal_and_no_other() -> None:
    assert not missing_entries(), (
        "nb and nn catalogues differ; `python -m tests.server.test_nynorsk` lists what to add")


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_nynorsk_string_is_translated(domain: str) -> None:
    catalog = catalogue("nn", domain)
    assert catalog.locale is not None and str(catalog.locale) == "nn"
    assert catalog.plural_forms == "nplurals=2; plural=(n != 1);"
    assert catalog.fuzzy is False, "the catalogue's header is marked fuzzy"
    for m in catalog:
        if not m.id:
            continue
        assert "fuzzy" not in m.flags, f"fuzzy nn translation of {m.id!r}"
        assert all(strings(m)), f"no nn translation of {m.id!r}"
        msgid = forms(m.id)
        assert len(strings(m)) == len(msgid), m.id
        for form in strings(m):  # the placeholders of the msgid, and no others
            assert set(PLACEHOLDER.findall(form)) <= set(PLACEHOLDER.findall(msgid[-1])), form
        assert set(PLACEHOLDER.findall(msgid[0])) <= set(PLACEHOLDER.findall(" ".join(strings(m))))


@pytest.mark.parametrize("domain", DOMAINS)
def test_nynorsk_is_not_bokmal(domain: str) -> None:
    forms = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, BOKMAL)) + r")(?!\w)", re.I)
    found = {(form, hit.group(1)) for m in catalogue("nn", domain) if m.id
             for form in strings(m) if (hit := forms.search(form))}
    assert not found, f"bokmål forms in the nn catalogue: {sorted(found)}"


def test_the_browser_catalogue_follows_the_locale() -> None:
    assert client_catalog("nb")["Raise hand"] == "Rekk opp hånden"
    assert client_catalog("nn")["Raise hand"] == "Rekk opp handa"
    assert client_catalog("nn")["%(count)s hand raised"] == ["%(count)s hand oppe",
                                                             "%(count)s hender oppe"]


# ---- the switch on the pages -----------------------------------------------------------------

def lang_of(page: str) -> str | None:
    return PageOutline(page).all("html")[0].get("lang")


def locale_cookie(browser: Browser) -> str | None:
    return browser.cookie(LOCALE_COOKIE)


async def choose(browser: Browser, page: str, language: str) -> tuple[int, str]:
    """Press the switch's button on `page`, as a browser posts the form."""
    status, html, _ = await browser.get(page)
    assert status == 200, html
    switch = re.search(r'<form class="language-switch".*?</form>', html, re.S)
    assert switch, f"no language switch on {page}"
    assert f'name="language" value="{language}"' in switch.group(0)
    back = re.search(r'name="next" value="([^"]*)"', switch.group(0))
    assert back
    status, _, response = await browser.post(
        "/language", {"csrf_token": csrf_of(html), "next": back.group(1), "language": language},
        allow_redirects=False)
    return status, response.headers.get("Location", "")


async def test_a_visitor_switches_to_nynorsk_and_back(server: TestServer) -> None:
    async with Browser(server) as visitor:
        _, page, _ = await visitor.get("/")
        assert lang_of(page) == "nb"
        assert "Velkommen til Klimasats-forum" in page
        assert re.search(r'value="nb" lang="nb"\s+aria-pressed="true"', page)
        assert await choose(visitor, "/", "nn") == (303, "/")
        assert locale_cookie(visitor) == "nn"
        _, page, _ = await visitor.get("/")
        assert lang_of(page) == "nn"
        assert "Velkomen til Klimasats-forum" in page
        assert "Slik loggar du inn" in page
        assert re.search(r'value="nn" lang="nn"\s+aria-pressed="true"', page)
        assert await choose(visitor, "/", "nb") == (303, "/")
        assert lang_of((await visitor.get("/"))[1]) == "nb"


async def test_a_signed_in_person_keeps_the_choice_and_sees_dates_in_nynorsk(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    async with sessions() as session:
        gathering = await session.get(Gathering, world.gathering.id)
        assert gathering is not None
        gathering.starts_at = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Oslo
        await session.commit()
    async with await signed_in(server, sessions, world.alice) as alice:
        _, page, _ = await alice.get("/gatherings")
        assert "tirsdag 8. desember 2026" in page and "Din rolle: Deltaker" in page
        assert await choose(alice, "/gatherings", "nn") == (303, "/gatherings")
        assert locale_cookie(alice) == "nn"
        _, page, _ = await alice.get("/gatherings")
    assert lang_of(page) == "nn"
    assert "tysdag 8. desember 2026 kl. 10:00" in page
    assert "Rolla di: Deltakar" in page and "Mine samlingar" in page
    async with sessions() as session:
        person = await session.get(Person, world.alice.id)
        assert person is not None and person.language == "nn"


async def test_the_saved_language_wins_on_a_new_device(server: TestServer,
                                                       sessions: async_sessionmaker,
                                                       world: World) -> None:
    await save_language(sessions, world.facilitator.id, "nn")
    async with await signed_in(server, sessions, world.facilitator) as device:
        device.http.cookie_jar.update_cookies({LOCALE_COOKIE: "nb"}, server.make_url("/"))
        _, page, response = await device.get(f"/g/{world.gathering.id}/console")
        assert lang_of(page) == "nn"
        assert f"{LOCALE_COOKIE}=nn" in response.headers.get("Set-Cookie", "")
        assert "Styringspanel" in page and "Rekk opp handa" in page  # page and its catalogue
        # signed out, the device stays in the person's language
        assert locale_cookie(device) == "nn"


async def test_a_choice_made_before_signing_in_becomes_the_persons_own(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    async with await signed_in(server, sessions, world.bjorn) as bjorn:
        bjorn.http.cookie_jar.update_cookies({LOCALE_COOKIE: "nn"}, server.make_url("/"))
        _, page, _ = await bjorn.get("/gatherings")
        assert lang_of(page) == "nn" and "Mine samlingar" in page
    async with sessions() as session:
        person = await session.get(Person, world.bjorn.id)
        assert person is not None and person.language == "nn"
    await save_language(sessions, world.bjorn.id, "nb")  # chosen once, the choice stays
    async with await signed_in(server, sessions, world.bjorn) as device:
        device.http.cookie_jar.update_cookies({LOCALE_COOKIE: "nn"}, server.make_url("/"))
        assert lang_of((await device.get("/gatherings"))[1]) == "nb"


async def test_the_room_switches_and_its_catalogue_follows(server: TestServer,
                                                           sessions: async_sessionmaker,
                                                           world: World) -> None:
    room = f"/g/{world.gathering.id}"
    async with await signed_in(server, sessions, world.alice) as alice:
        _, page, _ = await alice.get(room)
        assert "Rekk opp hånden" in page
        assert await choose(alice, room, "nn") == (303, room)
        _, page, _ = await alice.get(room)
    assert lang_of(page) == "nn"
    assert "Rekk opp handa" in page and "Rekk opp hånden" not in page


async def test_e_mail_follows_the_language_chosen_with_the_switch(
        mail_server: TestServer, sessions: async_sessionmaker, world: World,  # noqa: F811
        inbox: tuple[Inbox, int]) -> None:  # noqa: F811
    async with await signed_in(mail_server, sessions, world.alice) as alice:
        await choose(alice, "/gatherings", "nn")
    async with Browser(mail_server) as other_device:  # in bokmål, asks for alice's link
        status, page, _ = await other_device.submit("/", "/signin/request",
                                                    {"email": world.alice.email})
        assert status == 200 and "Sjekk e-posten din" in page
    [message] = await inbox[0].wait_for(1)
    assert message["Content-Language"] == "nn"
    assert message["Subject"] == "Innloggingslenkja di til Klimasats-forum"
    assert "Opne lenkja nedanfor for å logge inn" in parts(message)[0]


async def test_the_switch_refuses_strange_input(server: TestServer) -> None:
    async with Browser(server) as visitor:
        _, html, _ = await visitor.get("/")
        token = csrf_of(html)
        status, page, _ = await visitor.post("/language", {"csrf_token": token,
                                                           "language": "xx"})
        assert status == 400 and "Velg bokmål eller nynorsk." in page
        assert locale_cookie(visitor) is None
        for elsewhere in ("//evil.example/", "https://evil.example/", "/\\evil.example",
                          "/" + "x" * 3000):
            _, _, response = await visitor.post(
                "/language", {"csrf_token": token, "language": "nn", "next": elsewhere},
                allow_redirects=False)
            assert response.headers["Location"] == "/"
        status, _, _ = await visitor.post("/language", {"language": "nn"})
        assert status == 403  # no CSRF token


async def test_the_language_is_saved_on_both_databases(
        any_db: tuple[async_sessionmaker, World]) -> None:  # noqa: F811
    sessions, world = any_db
    await save_language(sessions, world.bjorn.id, "nn")
    async with sessions() as session:
        bjorn, alice = (await session.get(Person, world.bjorn.id),
                        await session.get(Person, world.alice.id))
    assert bjorn is not None and bjorn.language == "nn"
    assert alice is not None and alice.language is None  # never chosen: bokmål


def sync_nynorsk(translated: Path) -> None:
    """Bring the nn catalogues in line with nb: entries nb no longer has go, and the
    translations in `translated` (a .po file, e.g. the filled-in listing) come in, in nb's
    order. Written by Babel; nothing else in nn changes."""
    with translated.open("rb") as po:
        extra = ids(read_po(po, locale="nn"))
    for domain in DOMAINS:
        nb, nn = catalogue("nb", domain), catalogue("nn", domain)
        have = ids(nn)
        out = Catalog(locale="nn", domain=domain, header_comment=nn.header_comment,
                      project=nn.project, version=nn.version, language_team="nn",
                      creation_date=nn.creation_date, fuzzy=False)
        for m in nb:
            source = have.get(m.id) or extra.get(m.id)
            if not m.id or source is None or not all(strings(source)):
                continue
            out.add(m.id, source.string, locations=m.locations, flags=m.flags - {"fuzzy"},
                    auto_comments=m.auto_comments, user_comments=source.user_comments,
                    context=m.context)
        with (LOCALE_DIR / "nn" / "LC_MESSAGES" / f"{domain}.po").open("wb") as po:
            write_po(po, out, width=76)


if __name__ == "__main__":
    # python -m tests.server.test_nynorsk               list what nn lacks, as .po entries
    # python -m tests.server.test_nynorsk --apply F.po   take those entries translated, sync
    if sys.argv[1:2] == ["--apply"]:
        sync_nynorsk(Path(sys.argv[2]))
    listing = missing_entries()
    print(listing or "# nb and nn have the same msgids")
    sys.exit(1 if listing else 0)

