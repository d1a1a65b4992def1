"""Finding peers: which of the theme's projects are like ours, and which projects a help
request is for. Pure and deterministic: no I/O, no clock; the same inputs give the same
matches in the same order, whatever order the projects are listed in.

The score is a sum a person can check by reading the reasons shown beside each match:

    same stage                                      STAGE_POINTS
    each topic (tag) both projects have             TAG_POINTS
    each word they can share that we need            SHARE_POINTS
    each word we can share that they need            SHARE_POINTS
    our municipalities have not met in a group yet   NOT_MET_POINTS

A project is "like ours" only for something in the projects themselves (stage, topics,
share and need): not having met yet is a reason to prefer one peer to another, never a
reason on its own. Words are compared whole, lowercased, with short words and common
Norwegian function words left out (WORD_MIN, STOPWORDS): simple enough that the reason
"they can share what you need: innkjøp" is exactly why the match was made. Matching stems
or synonyms would find more, and explain less.

The reasons are data, `(code, value)`, rendered into sentences by the page in the
reader's language (server/pages/network.py `reason_text`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

STAGE_POINTS = 3
TAG_POINTS = 2
SHARE_POINTS = 2
NOT_MET_POINTS = 1
MAX_WORDS = 5  # share/need words counted (and shown) per direction: the list stays readable
WORD_MIN = 3  # shorter words ("å", "og", "ny") say little about a project

SAME_STAGE = "same_stage"  # value: the stage's slug
SHARED_TAGS = "shared_tags"  # value: the topics both have, A-Z
THEY_SHARE = "they_share_what_you_need"  # value: the words, A-Z
YOU_SHARE = "you_share_what_they_need"  # value: the words, A-Z
NOT_MET = "not_met"  # value: None
REASONS = (SAME_STAGE, SHARED_TAGS, THEY_SHARE, YOU_SHARE, NOT_MET)

# bokmål and nynorsk function words that would make unrelated texts "share" words
_FUNCTION_WORDS = """
alle andre at av bare blir bli da dag de dei deg dem den denne der deres dere dette
di din ditt du eg eit ein eller en er et etter for fra frå før får gjer gjør god
han har hatt her hjå hos hun ho hva hvor hvordan hvem kva korleis kven kan kunne man
med meg men mer meir mot må ikke ikkje inn ingen jeg meg mykje mye når nå oss også
om opp og på seg selv sjølv sin sitt skal skulle slik som så til ut vi vil ville være
vere vore vært var vår våre vårt har hadde hvis viss dei deira deres litt mange noe noko
noen nokon the and for with how
"""
STOPWORDS = frozenset(_FUNCTION_WORDS.split())

WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")

Reason = tuple[str, object]
Met = frozenset[frozenset[str]]


@dataclass(frozen=True)
class ProjectCard:
    """What matching reads of a project: its municipality (by name, as the who-met-whom
    memory knows it), stage, topics and its share and need texts."""

    id: int
    municipality: str
    title: str
    stage: str | None
    tags: tuple[str, ...] = ()
    can_share: str = ""
    needs_help: str = ""


@dataclass(frozen=True)
class Match:
    project: ProjectCard
    score: int
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Asked:
    """What a help request asks, for matching: the asker's project's stage and topics when
    asked, and the question's words (title and body)."""

    stage: str | None
    tags: tuple[str, ...]
    text: str
    municipality: str | None = None  # the asker's: their own projects are not "matched"


def words(text: str) -> frozenset[str]:
    """The text's words worth comparing: lowercased, at least WORD_MIN letters, no
    function words."""
    found = (w.lower() for w in WORD.findall(text))
    return frozenset(w for w in found if len(w) >= WORD_MIN and w not in STOPWORDS)


def _tags(tags: Iterable[str]) -> frozenset[str]:
    return frozenset(t.strip().lower() for t in tags if t.strip())


def _common(ours: frozenset[str], theirs: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(ours & theirs))[:MAX_WORDS]


def _content_reasons(stage: str | None, tags: Iterable[str], needs: frozenset[str],
                     shares: frozenset[str], other: ProjectCard) -> list[Reason]:
    """The reasons in the projects themselves, in REASONS order."""
    reasons: list[Reason] = []
    if stage and stage == other.stage:
        reasons.append((SAME_STAGE, stage))
    both = tuple(sorted(_tags(tags) & _tags(other.tags)))
    if both:
        reasons.append((SHARED_TAGS, both))
    they_share = _common(needs, words(other.can_share))
    if they_share:
        reasons.append((THEY_SHARE, they_share))
    you_share = _common(shares, words(other.needs_help))
    if you_share:
        reasons.append((YOU_SHARE, you_share))
    return reasons


def score(reasons: Sequence[Reason]) -> int:
    points = 0
    for code, value in reasons:
        if code == SAME_STAGE:
            points += STAGE_POINTS
        elif code == SHARED_TAGS:
            points += TAG_POINTS * len(value)  # type: ignore[arg-type]
        elif code in (THEY_SHARE, YOU_SHARE):
            points += SHARE_POINTS * len(value)  # type: ignore[arg-type]
        elif code == NOT_MET:
            points += NOT_MET_POINTS
    return points


def have_met(met: Met, a: str, b: str) -> bool:
    return frozenset((a, b)) in met


def projects_like(ours: ProjectCard, others: Iterable[ProjectCard],
                  met: Met = frozenset()) -> list[Match]:
    """The projects like `ours`, best first (score, then municipality, title and id).
    Projects of our own municipality are not peers; `met` holds the municipality pairs
    that shared a breakout group in the theme's gatherings."""
    needs, shares = words(ours.needs_help), words(ours.can_share)
    found = []
    for other in others:
        if other.id == ours.id or other.municipality == ours.municipality:
            continue
        reasons = _content_reasons(ours.stage, ours.tags, needs, shares, other)
        if not reasons:
            continue
        if not have_met(met, ours.municipality, other.municipality):
            reasons.append((NOT_MET, None))
        found.append(Match(other, score(reasons), tuple(reasons)))
    return sorted(found, key=lambda m: (-m.score, m.project.municipality.casefold(),
                                        m.project.title.casefold(), m.project.id))


def matches_request(request: Asked, project: ProjectCard) -> tuple[Reason, ...]:
    """Why `project`'s municipality may help with `request`, from that municipality's side
    (the reader is the project's): the same stage, topics in common, and what the project
    can share that the question asks about (YOU_SHARE). Empty: no match. The asker's own
    municipality's projects never match."""
    if request.municipality is not None and request.municipality == project.municipality:
        return ()
    asked = words(request.text)
    reasons: list[Reason] = []
    if request.stage and request.stage == project.stage:
        reasons.append((SAME_STAGE, request.stage))
    both = tuple(sorted(_tags(request.tags) & _tags(project.tags)))
    if both:
        reasons.append((SHARED_TAGS, both))
    you_share = _common(words(project.can_share), asked)
    if you_share:
        reasons.append((YOU_SHARE, you_share))
    # the same stage alone is most of a theme: a request matches on its subject
    if [code for code, _ in reasons] == [SAME_STAGE]:
        return ()
    return tuple(reasons)
