"""Norwegian full-text matching that gives the same answers on both databases.

PostgreSQL indexes `title` and `body` with its `norwegian` configuration: its parser, the
Snowball `norwegian` stemmer and the stop words of `tsearch_data/norwegian.stop`. SQLite's
FTS5 has no Norwegian stemmer, so the text is stemmed here with the same Snowball
algorithm (`snowballstemmer`) and the same stop words, and FTS5 indexes the stems
(rooms/search.py keeps that table in step with `search_docs` by triggers that call
`fts_text`).

A query is only words (no operators: whatever else is typed separates words, so no input
is a syntax error on either back end); every word must match. Each word matches its stem
or the stem of its stem: Snowball's Norwegian stemmer stems "kjøkkenene" to "kjøkken"
but "kjøkken" to "kjøkk", so a second step lets "kjøkkenene" find "kjøkken" too, on both
back ends alike."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 12
WORD = re.compile(r"[^\W_]+")

# PostgreSQL 15's tsearch_data/norwegian.stop (bokmål and nynorsk), as its `norwegian`
# configuration drops them
_STOP_LIST = """
og i jeg det at en et den til er som på de med han av ikke ikkje der så var meg seg men ett
har om vi min mitt ha hadde hun nå over da ved fra du ut sin dem oss opp man kan hans hvor
eller hva skal selv sjøl her alle vil bli ble blei blitt kunne inn når være kom noen noe
ville dere deres kun ja etter ned skulle denne for deg si sine sitt mot å meget hvorfor
dette disse uten hvordan ingen din ditt blir samme hvilken hvilke sånn inni mellom vår hver
hvem vors hvis både bare enn fordi før mange også slik vært båe begge siden dykk dykkar
dei deira deires deim di då eg ein eit eitt elles honom hjå ho hoe henne hennar hennes hoss
hossen ingi inkje korleis korso kva kvar kvarhelst kven kvi kvifor me medan mi mine mykje
no nokon noka nokor noko nokre sia sidan so somt somme um upp vere vore verte vort varte
vart
"""
STOP_WORDS = frozenset(_STOP_LIST.split())

_STEMMER = snowballstemmer.stemmer("norwegian")


def normal(text: str) -> str:
    """One form for the same letters (å typed as a + ring is å)."""
    return unicodedata.normalize("NFC", text)


def words(text: str) -> list[str]:
    """The words of `text`, lower-cased: runs of letters and digits."""
    return WORD.findall(normal(text).lower())


@lru_cache(maxsize=65536)
def lexeme(word: str) -> str | None:
    """What PostgreSQL's `norwegian` configuration makes of one lower-case word: None for a
    stop word, else its Snowball stem."""
    if word in STOP_WORDS:
        return None
    return str(_STEMMER.stemWord(word))


def fts_text(text: str | None) -> str:
    """The stems of `text`, for FTS5 (SQLite's triggers call this)."""
    return " ".join(filter(None, (lexeme(w) for w in words(text or ""))))


@dataclass(frozen=True)
class Term:
    """One word of a query: `raw` as typed (lower-case), `alternatives` the raw words to
    hand PostgreSQL (which stems them itself), `lexemes` what they stem to."""

    raw: str
    alternatives: tuple[str, ...]
    lexemes: tuple[str, ...]


def parse_query(query: str) -> tuple[Term, ...]:
    """The terms of a query: bounded, stop words left out, each word once."""
    terms: list[Term] = []
    seen: set[str] = set()
    for word in words(query[:MAX_QUERY_CHARS]):
        if word in seen:
            continue
        seen.add(word)
        stem = lexeme(word)
        if stem is None:
            continue
        alternatives = tuple(dict.fromkeys(a for a in (word, stem) if lexeme(a) is not None))
        lexemes = tuple(dict.fromkeys(x for a in alternatives if (x := lexeme(a))))
        terms.append(Term(word, alternatives, lexemes))
        if len(terms) == MAX_QUERY_WORDS:
            break
    return tuple(terms)


def fts5_query(terms: tuple[Term, ...]) -> str:
    """An FTS5 MATCH expression: every term, each as any of its stems (quoted strings)."""
    return " AND ".join(
        "(" + " OR ".join('"' + x.replace('"', '""') + '"' for x in t.lexemes) + ")"
        for t in terms)


def tsquery(terms: tuple[Term, ...]) -> str:
    """A `to_tsquery('norwegian', ...)` text: the raw words (letters and digits only), so
    PostgreSQL stems them with its own dictionary."""
    return " & ".join("(" + " | ".join(t.alternatives) + ")" for t in terms)


def matches(word: str, terms: tuple[Term, ...]) -> bool:
    """Whether a word of a text is one a query's terms find (for highlighting). Snowball's
    Norwegian stems are prefixes of their word, so most words are ruled out before stemming."""
    stems = [x for t in terms for x in t.lexemes]
    if not any(word.startswith(x) for x in stems):
        return False
    return lexeme(word) in stems
