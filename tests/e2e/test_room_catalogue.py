"""The `room` catalogue (room and console pages, browser code) is complete: every string
that `pybabel extract -F babel-room.cfg` finds (gettext and, for counts, ngettext) has a
bokmål translation in room.po, and the browser gets them all through client_catalog()."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from server.i18n import LOCALE_DIR, client_catalog
from tests.e2e.conftest import ROOT


def msgid(message: object) -> str:
    """A message's msgid: a plural message (ngettext) by its singular."""
    return str(message[0] if isinstance(message, tuple | list) else message)


def complete(translation: object) -> bool:
    """Translated, every form of a plural message too."""
    return all(translation if isinstance(translation, tuple | list) else (translation,))


def extracted() -> set[str]:
    with (ROOT / "babel-room.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    return {msgid(message) for _, _, message, _, _ in
            extract_from_dir(str(ROOT), method_map, options_map)}


def test_every_room_string_is_translated() -> None:
    with (LOCALE_DIR / "nb" / "LC_MESSAGES" / "room.po").open("rb") as po:
        catalogue = read_po(po, locale="nb", domain="room")
    translated = {msgid(m.id) for m in catalogue if m.id and not m.fuzzy and complete(m.string)}
    found = extracted()
    assert any("gettext" in p.read_text() for p in (ROOT / "static" / "src").glob("*.js"))
    assert "Raise hand" in found and "Overrun by %(time)s" in found  # JS strings are found
    assert "%(count)s vote" in found  # and JS ngettext calls
    missing = sorted(found - translated)
    assert not missing, f"untranslated in room.po (run pybabel update -D room): {missing}"
    assert found <= set(client_catalog("nb"))


def test_the_browser_gets_both_forms_of_a_count() -> None:
    catalogue = client_catalog("nb")
    assert catalogue["%(count)s vote"] == ["%(count)s stemme", "%(count)s stemmer"]
    assert catalogue["Raise hand"] == "Rekk opp hånden"
