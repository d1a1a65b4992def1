"""Finding peers, pure and table-driven: facilitation.matching."""

from __future__ import annotations

import itertools

import pytest

from facilitation.matching import (
    NOT_MET,
    SAME_STAGE,
    SHARED_TAGS,
    THEY_SHARE,
    YOU_SHARE,
    Asked,
    ProjectCard,
    matches_request,
    projects_like,
    words,
)


def card(id_: int, place: str, stage: str | None = "gjennomforing", tags: str = "",
         share: str = "", need: str = "", title: str = "") -> ProjectCard:
    return ProjectCard(id_, place, title or f"Prosjekt {id_}", stage,
                       tuple(t for t in tags.split(",") if t), share, need)


OURS = card(1, "Askvik", tags="skolekjøkken,kantine", need="Hvordan måle matsvinn?",
            share="Maler for innkjøp")
MET = frozenset({frozenset(("Askvik", "Dalen"))})


@pytest.mark.parametrize(("other", "reasons", "points"), [
    # the issue's own example: same stage, a topic in common, never met
    (card(2, "Brekke", tags="skolekjøkken"),
     ((SAME_STAGE, "gjennomforing"), (SHARED_TAGS, ("skolekjøkken",)), (NOT_MET, None)), 6),
    # having met takes the bonus away, not the match
    (card(3, "Dalen", tags="skolekjøkken"),
     ((SAME_STAGE, "gjennomforing"), (SHARED_TAGS, ("skolekjøkken",))), 5),
    # they share what we need; case and punctuation do not matter
    (card(4, "Eik", stage="oppstart", share="Vi kan vise hvordan vi MÅLER... nei: måle "
          "matsvinn!"),
     ((THEY_SHARE, ("matsvinn", "måle")), (NOT_MET, None)), 5),
    # we share what they need
    (card(5, "Fjell", stage="videreforing", need="innkjøp av kjøkkenutstyr"),
     ((YOU_SHARE, ("innkjøp",)), (NOT_MET, None)), 3),
    # nothing in common but not having met: not a peer
    (card(6, "Gran", stage="oppstart", tags="transport"), None, 0),
    # function words and short words are no common ground
    (card(7, "Hav", stage=None, share="Hvordan og for det"), None, 0),
    # our own municipality's other project is not a peer
    (card(8, "Askvik", tags="skolekjøkken"), None, 0),
])
def test_each_reason_and_its_points(other: ProjectCard, reasons: tuple[object, ...] | None,
                                    points: int) -> None:
    found = projects_like(OURS, [other], MET)
    if reasons is None:
        assert found == []
    else:
        assert [(m.project, m.reasons, m.score) for m in found] == [(other, reasons, points)]


def test_the_best_match_first_then_by_name_whatever_the_order_given() -> None:
    others = [card(2, "Brekke", tags="skolekjøkken"), card(3, "Dalen", tags="skolekjøkken"),
              card(9, "Aurland", tags="skolekjøkken"),
              card(4, "Eik", tags="skolekjøkken,kantine"), card(5, "Fjell")]
    expected = ["Eik", "Aurland", "Brekke", "Dalen", "Fjell"]  # 8, 6, 6, 5, 4
    for order in itertools.permutations(others):
        assert [m.project.municipality for m in projects_like(OURS, order, MET)] == expected


def test_a_project_is_never_its_own_peer() -> None:
    assert projects_like(OURS, [OURS], frozenset()) == []


@pytest.mark.parametrize(("asked", "project", "reasons"), [
    # a question about measuring food waste, for those who can share just that
    (Asked("oppstart", ("skolekjøkken",), "Hvordan målte dere matsvinn i skolekjøkken?",
           "Askvik"),
     card(2, "Brekke", stage="gjennomforing", tags="skolekjøkken",
          share="Vi måler matsvinn hver uke"),
     ((SHARED_TAGS, ("skolekjøkken",)), (YOU_SHARE, ("matsvinn",)))),
    (Asked("oppstart", ("Kantine",), "Anbud på kantinedrift", None),
     card(3, "Dalen", stage="oppstart", tags="kantine"),
     ((SAME_STAGE, "oppstart"), (SHARED_TAGS, ("kantine",)))),
    # the same stage alone is not a subject in common
    (Asked("oppstart", (), "Anbud på kantinedrift", None),
     card(4, "Eik", stage="oppstart", tags="transport"), ()),
    # the asker's own municipality is not matched to its own question
    (Asked("oppstart", ("kantine",), "Anbud", "Dalen"),
     card(3, "Dalen", stage="oppstart", tags="kantine"), ()),
    (Asked(None, (), "Noe helt annet", None), card(5, "Fjell", tags="kantine"), ()),
])
def test_which_projects_a_help_request_is_for(asked: Asked, project: ProjectCard,
                                              reasons: tuple[object, ...]) -> None:
    assert matches_request(asked, project) == reasons


@pytest.mark.parametrize(("text", "expected"), [
    ("Hvordan måle matsvinn?", {"måle", "matsvinn"}),
    ("Korleis kan vi få ned matsvinnet i kantina", {"ned", "matsvinnet", "kantina"}),
    ("CO2-kutt og 20 % mindre", {"kutt", "mindre"}),
    ("", set()),
])
def test_words_worth_comparing(text: str, expected: set[str]) -> None:
    assert words(text) == expected
