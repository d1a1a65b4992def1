"""Breakout grouping, pure and table-driven: facilitation.grouping."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from typing import Any, NamedTuple

import pytest

from facilitation import grouping
from facilitation.grouping import EXPERIENCED_STAGES, place_late_joiner, propose_groups
from facilitation.state import BreakoutPlan, Group, GroupingRule, Member

STAGES = {"oppstart": "Oppstart", "gjennomforing": "Gjennomføring", "videreforing": "Videreføring"}
SAME, MIXED, BY_TAG = GroupingRule.SAME_STAGE, GroupingRule.MIXED, GroupingRule.BY_TAG
RANDOM, SELF = GroupingRule.RANDOM, GroupingRule.SELF_SELECT


def plan(rule: GroupingRule = SAME, size: int = 4, spread: bool = True) -> BreakoutPlan:
    return BreakoutPlan(rule=rule, group_size=size, spread_municipalities=spread)


def people(spec: str, *, first_id: int = 1) -> list[Member]:
    """Members from a compact spec: "K:stage:tag+tag" items separated by spaces.

    K is the municipality ("-" for none); stage and tags may be empty.
    """
    members = []
    for pid, item in enumerate(spec.split(), start=first_id):
        muni, stage, tags = (item.split(":") + ["", ""])[:3]
        members.append(
            Member(
                pid,
                f"Person {pid:03d}",
                None if muni == "-" else muni,
                stage or None,
                tuple(t for t in tags.split("+") if t),
            )
        )
    return members


def stage_people(counts: dict[str, int]) -> list[Member]:
    """Everyone from a different municipality, `count` people per stage."""
    spec = [f"K{i}:{stage}" for stage, n in counts.items() for i in range(n)]
    return [
        Member(i, f"Person {i:03d}", f"{m.municipality}-{m.stage}", m.stage)
        for i, m in enumerate(people(" ".join(spec)), start=1)
    ]


def summary(groups: tuple[Group, ...]) -> list[tuple[str, int]]:
    return [(g.name, len(g.members)) for g in groups]


def ids(group: Group) -> set[int]:
    return {m.person_id for m in group.members}


def repeat_pairs(groups: tuple[Group, ...], met: frozenset[frozenset[str]]) -> int:
    return sum(
        1
        for g in groups
        for a, b in itertools.combinations(g.members, 2)
        if a.municipality
        and b.municipality
        and a.municipality != b.municipality
        and frozenset((a.municipality, b.municipality)) in met
    )


def pairs_of(groups: tuple[Group, ...]) -> frozenset[frozenset[str]]:
    """The municipality pairs that met in these groups."""
    return frozenset(
        frozenset((a.municipality, b.municipality))
        for g in groups
        for a, b in itertools.combinations(g.members, 2)
        if a.municipality and b.municipality and a.municipality != b.municipality
    )


def assert_everyone_once(members: list[Member], groups: tuple[Group, ...]) -> None:
    placed = Counter(m.person_id for g in groups for m in g.members)
    assert placed == Counter({m.person_id for m in members})


# --- same stage ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "size", "expected"),
    [
        ({"oppstart": 8}, 4, [("Oppstart 1", 4), ("Oppstart 2", 4)]),
        ({"oppstart": 5}, 4, [("Oppstart 1", 3), ("Oppstart 2", 2)]),  # 3+2, not 4+1
        ({"oppstart": 9}, 4, [("Oppstart 1", 3), ("Oppstart 2", 3), ("Oppstart 3", 3)]),
        ({"oppstart": 3}, 4, [("Oppstart", 3)]),
        (
            {"oppstart": 5, "gjennomforing": 4},
            4,
            [("Oppstart 1", 3), ("Oppstart 2", 2), ("Gjennomføring", 4)],
        ),
        # stage_names order, not member order
        (
            {"videreforing": 2, "oppstart": 2, "gjennomforing": 2},
            4,
            [("Oppstart", 2), ("Gjennomføring", 2), ("Videreføring", 2)],
        ),
        # a lone person joins the nearest stage: oppstart's neighbour is gjennomforing
        ({"oppstart": 1, "gjennomforing": 3}, 4, [("Gjennomføring", 4)]),
        ({"oppstart": 1, "gjennomforing": 4}, 4, [("Gjennomføring 1", 3), ("Gjennomføring 2", 2)]),
        # two neighbours at the same distance: the smaller partition takes them
        (
            {"oppstart": 3, "gjennomforing": 1, "videreforing": 2},
            4,
            [("Oppstart", 3), ("Videreføring", 3)],
        ),
        # everyone alone in their stage: they still end up together
        ({"oppstart": 1, "gjennomforing": 1, "videreforing": 1}, 4, [("Gjennomføring", 3)]),
    ],
)
def test_same_stage_sizes_and_names(counts: dict[str, int], size: int, expected: list) -> None:
    groups = propose_groups(stage_people(counts), plan(SAME, size), stage_names=STAGES)
    assert summary(groups) == expected
    assert [g.id for g in groups] == [f"g{i}" for i in range(1, len(groups) + 1)]


def test_same_stage_groups_hold_one_stage_each() -> None:
    members = stage_people({"oppstart": 7, "gjennomforing": 6, "videreforing": 5})
    groups = propose_groups(members, plan(SAME, 3), stage_names=STAGES)
    for g in groups:
        assert len({m.stage for m in g.members}) == 1, g
    assert_everyone_once(members, groups)


@pytest.mark.parametrize(
    ("spec", "stage_names", "expected"),
    [
        # no stage at all: its own partition, last, named with the group label
        (
            "A:oppstart B:oppstart C: D: E:gjennomforing F:gjennomforing",
            STAGES,
            [("Oppstart", 2), ("Gjennomføring", 2), ("Gruppe 1", 2)],
        ),
        # a slug missing from stage_names: after the known stages, named by its slug
        (
            "A:pilot B:pilot C:oppstart D:oppstart E: F:",
            STAGES,
            [("Oppstart", 2), ("pilot", 2), ("Gruppe 1", 2)],
        ),
        # no stage_names: slugs A-Z
        (
            "A:oppstart B:oppstart C:gjennomforing D:gjennomforing",
            None,
            [("gjennomforing", 2), ("oppstart", 2)],
        ),
        # a lone person with no stage joins the last stage
        ("A:oppstart B:oppstart C:", STAGES, [("Oppstart", 3)]),
    ],
)
def test_unknown_stages(spec: str, stage_names: dict | None, expected: list) -> None:
    members = people(spec)
    groups = propose_groups(members, plan(SAME, 4), stage_names=stage_names)
    assert summary(groups) == expected
    assert_everyone_once(members, groups)


# --- sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [SAME, MIXED, BY_TAG, RANDOM])
@pytest.mark.parametrize("size", [2, 3, 4, 5, 6])
def test_size_limits_and_no_group_of_one(rule: GroupingRule, size: int) -> None:
    rng = random.Random(f"sizes-{rule}-{size}")
    for n in range(2, 41):
        members = people(
            " ".join(
                f"K{rng.randrange(12)}:{rng.choice(list(STAGES))}:t{rng.randrange(3)}"
                for _ in range(n)
            )
        )
        groups = propose_groups(members, plan(rule, size), stage_names=STAGES, seed="s")
        sizes = [len(g.members) for g in groups]
        assert min(sizes) >= 2, (n, sizes)
        # with size 2, an odd count makes one group of three rather than a group of one
        assert max(sizes) <= (3 if size == 2 else size), (n, sizes)


@pytest.mark.parametrize(
    ("n", "size", "expected"),
    [
        (5, 4, [3, 2]),
        (8, 4, [4, 4]),
        (9, 4, [3, 3, 3]),
        (10, 4, [4, 3, 3]),
        (3, 2, [3]),
        (5, 2, [3, 2]),
        (7, 3, [3, 2, 2]),
        (2, 4, [2]),
        (1, 4, [1]),  # unavoidable
        (6, 1, [2, 2, 2]),  # a size below 2 counts as 2
    ],
)
def test_even_sizes_within_a_partition(n: int, size: int, expected: list[int]) -> None:
    members = people(" ".join(f"K{i}:oppstart" for i in range(n)))
    groups = propose_groups(members, plan(SAME, size), stage_names=STAGES)
    assert [len(g.members) for g in groups] == expected


def test_no_members_no_groups() -> None:
    for rule in GroupingRule:
        assert propose_groups([], plan(rule)) == ()


# --- mixed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "size", "groups_with_experienced"),
    [
        # 3 experienced, 9 starting, 3 groups: one experienced in each
        (
            "A:gjennomforing B:videreforing C:gjennomforing "
            + " ".join(f"S{i}:oppstart" for i in range(9)),
            4,
            3,
        ),
        # experienced listed last and sharing nothing: still spread
        (" ".join(f"S{i}:oppstart" for i in range(6)) + " X:videreforing Y:videreforing", 4, 2),
        # fewer experienced than groups: each in a different group
        ("A:gjennomforing B:gjennomforing " + " ".join(f"S{i}:oppstart" for i in range(10)), 3, 2),
        # more experienced than groups: every group still gets one
        (" ".join(f"E{i}:gjennomforing" for i in range(5)) + " S1:oppstart S2:", 3, 3),
    ],
)
def test_mixed_has_an_experienced_member_per_group(
    spec: str, size: int, groups_with_experienced: int
) -> None:
    members = people(spec)
    groups = propose_groups(members, plan(MIXED, size), group_label="Group")
    with_experienced = [g for g in groups if any(m.stage in EXPERIENCED_STAGES for m in g.members)]
    assert len(with_experienced) == groups_with_experienced
    assert [g.name for g in groups] == [f"Group {i}" for i in range(1, len(groups) + 1)]
    assert_everyone_once(members, groups)


def test_mixed_keeps_experienced_and_spreads_municipalities() -> None:
    # Askvik's experienced and starting people must not share a group
    members = people(
        "Askvik:gjennomforing Brekke:videreforing Askvik:oppstart Brekke:oppstart "
        "C:oppstart D:oppstart"
    )
    groups = propose_groups(members, plan(MIXED, 3))
    for g in groups:
        assert any(m.stage in EXPERIENCED_STAGES for m in g.members)
        munis = [m.municipality for m in g.members]
        assert len(munis) == len(set(munis)), munis


# --- spread municipalities -----------------------------------------------------------


@pytest.mark.parametrize("rule", [SAME, MIXED, BY_TAG, RANDOM])
@pytest.mark.parametrize(
    "spec",
    [
        "Askvik:oppstart Askvik:oppstart Brekke:oppstart Dal:oppstart Eik:oppstart",
        "Askvik:oppstart Askvik:oppstart Askvik:oppstart Brekke:oppstart Brekke:oppstart "
        "Brekke:oppstart Dal:oppstart Eik:oppstart Fjell:oppstart",
        "Askvik:oppstart Brekke:oppstart Askvik:oppstart Brekke:oppstart",
    ],
)
def test_spread_municipalities(rule: GroupingRule, spec: str) -> None:
    members = people(spec)
    groups = propose_groups(members, plan(rule, 3), stage_names=STAGES, seed="x")
    assert len(groups) >= 2
    for g in groups:
        munis = [m.municipality for m in g.members]
        assert len(munis) == len(set(munis)), summary(groups)


def test_spread_off_lets_a_municipality_sit_together() -> None:
    # Askvik met Brekke and Dal before: with spreading off, the two from Askvik together
    # and Brekke with Dal repeats nothing; with spreading on, they must split.
    members = people("Askvik:oppstart Brekke:oppstart Askvik:oppstart Dal:oppstart")
    met = frozenset({frozenset({"Askvik", "Brekke"}), frozenset({"Askvik", "Dal"})})
    together = propose_groups(members, plan(SAME, 2, spread=False), met=met)
    assert {frozenset(ids(g)) for g in together} == {frozenset({1, 3}), frozenset({2, 4})}
    apart = propose_groups(members, plan(SAME, 2, spread=True), met=met)
    assert all(len({m.municipality for m in g.members}) == 2 for g in apart)


def test_more_from_one_municipality_than_groups_spreads_evenly() -> None:
    members = people("A:oppstart A:oppstart A:oppstart A:oppstart A:oppstart B:oppstart")
    groups = propose_groups(members, plan(SAME, 3))
    assert sorted(sum(m.municipality == "A" for m in g.members) for g in groups) == [2, 3]


# --- met pairs across gatherings -----------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "size", "met_pairs"),
    [
        # the plain deal (A,C)(B,D) repeats both pairs; (A,B)(C,D) or (A,D)(B,C) repeat none
        ("A:oppstart B:oppstart C:oppstart D:oppstart", 2, [("A", "C"), ("B", "D")]),
        # the plain deal (A,C,E)(B,D,F) repeats four pairs; (A,D,E)(B,C,F) none
        (
            "A:oppstart B:oppstart C:oppstart D:oppstart E:oppstart F:oppstart",
            3,
            [("A", "C"), ("C", "E"), ("B", "D"), ("D", "F")],
        ),
        # mixed: keeps one experienced per group and still avoids the repeat
        (
            "A:gjennomforing B:videreforing C:oppstart D:oppstart",
            2,
            [("A", "C"), ("B", "D")],
        ),
    ],
)
def test_no_repeat_pairs_when_avoidable(spec: str, size: int, met_pairs: list) -> None:
    members = people(spec)
    met = frozenset(frozenset(p) for p in met_pairs)
    rule = MIXED if "gjennomforing" in spec else SAME
    naive = propose_groups(members, plan(rule, size))
    assert repeat_pairs(naive, met) > 0, "the case should trip a naive assignment"
    groups = propose_groups(members, plan(rule, size), met=met)
    assert repeat_pairs(groups, met) == 0, summary(groups)
    if rule == MIXED:
        assert all(any(m.stage in EXPERIENCED_STAGES for m in g.members) for g in groups)


def test_second_gathering_meets_new_municipalities() -> None:
    members = people(" ".join(f"K{i:02d}:oppstart" for i in range(12)))
    first = propose_groups(members, plan(SAME, 3))
    met = pairs_of(first)
    assert len(met) == 12
    second = propose_groups(members, plan(SAME, 3), met=met)
    assert repeat_pairs(second, met) == 0
    assert_everyone_once(members, second)


def test_repeat_pairs_are_fewer_when_unavoidable() -> None:
    members = people(" ".join(f"K{i}:oppstart" for i in range(8)))
    everyone = frozenset(
        frozenset((f"K{a}", f"K{b}"))
        for a, b in itertools.combinations(range(8), 2)
        if (a + b) % 3  # most pairs met, not all
    )
    naive = propose_groups(members, plan(SAME, 4))
    groups = propose_groups(members, plan(SAME, 4), met=everyone)
    assert repeat_pairs(groups, everyone) < repeat_pairs(naive, everyone)
    assert summary(groups) == [("oppstart 1", 4), ("oppstart 2", 4)]  # no stage_names


def test_spreading_wins_over_unmet_pairs() -> None:
    # Grouping Askvik with Askvik would avoid every repeat, but spreading comes first.
    members = people("Askvik:oppstart Askvik:oppstart Brekke:oppstart Brekke:oppstart")
    met = frozenset({frozenset({"Askvik", "Brekke"})})
    groups = propose_groups(members, plan(SAME, 2), met=met)
    assert all({m.municipality for m in g.members} == {"Askvik", "Brekke"} for g in groups)


# --- by tag --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "size", "expected"),
    [
        ("A::skole B::skole C::skole D::kantine E::kantine", 4, [("skole", 3), ("kantine", 2)]),
        # the person with both tags goes to the more common one
        (
            "A::skole B::skole C::skole+kantine D::kantine E::kantine F::skole",
            4,
            [("skole", 4), ("kantine", 2)],
        ),
        # a tie in counts: tags A-Z
        ("A::b B::b C::a D::a", 4, [("a", 2), ("b", 2)]),
        # no tags: last, named with the group label
        ("A::skole B::skole C:: D::", 4, [("skole", 2), ("Gruppe 1", 2)]),
        # G is alone under "skole" (A went to "mat"): G joins A, who shares "skole"
        (
            "A::skole+mat B::mat C::mat D::bil E::bil F::bil G::unik+skole",
            4,
            [("bil", 3), ("mat", 4)],
        ),
        ("A::x B::x C::x D::x E::x F::y G::y", 4, [("x 1", 3), ("x 2", 2), ("y", 2)]),
    ],
)
def test_by_tag(spec: str, size: int, expected: list) -> None:
    members = people(spec)
    groups = propose_groups(members, plan(BY_TAG, size))
    assert summary(groups) == expected
    assert_everyone_once(members, groups)


def test_by_tag_keeps_sharers_together() -> None:
    members = people("A::skole B::kantine C::skole D::kantine E::skole F::kantine")
    groups = propose_groups(members, plan(BY_TAG, 4))
    for g in groups:
        assert len({m.tags for m in g.members}) == 1


def test_a_person_listed_twice_is_placed_once() -> None:
    alice = Member(1, "Alice", "Askvik", "oppstart")
    members = [alice, *people("B:oppstart C:oppstart D:oppstart", first_id=2), alice]
    groups = propose_groups(members, plan(SAME, 2))
    assert_everyone_once(members[:4], groups)


# --- random --------------------------------------------------------------------------


def test_random_is_deterministic_per_seed() -> None:
    members = people(" ".join(f"K{i}:oppstart" for i in range(20)))
    a = propose_groups(members, plan(RANDOM, 4), seed="gathering-7:1")
    b = propose_groups(members, plan(RANDOM, 4), seed="gathering-7:1")
    assert a == b
    others = {propose_groups(members, plan(RANDOM, 4), seed=f"other-{i}") for i in range(5)}
    assert len(others - {a}) >= 4  # a different seed usually gives different groups
    shuffled = list(members)
    random.Random(3).shuffle(shuffled)
    assert propose_groups(shuffled, plan(RANDOM, 4), seed="gathering-7:1") == a


def test_random_does_not_touch_the_module_rng() -> None:
    random.seed(1)
    before = random.random()
    random.seed(1)
    propose_groups(people(" ".join(f"K{i}:" for i in range(10))), plan(RANDOM), seed="x")
    assert random.random() == before


# --- self select ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "size", "count"),
    [(0, 4, 0), (1, 4, 1), (4, 4, 1), (5, 4, 2), (8, 4, 2), (9, 4, 3), (7, 2, 3), (12, 5, 3)],
)
def test_self_select_gives_empty_groups(n: int, size: int, count: int) -> None:
    members = people(" ".join(f"K{i}:oppstart" for i in range(n)))
    groups = propose_groups(members, plan(SELF, size), group_label="Gruppe")
    assert groups == tuple(Group(f"g{i}", f"Gruppe {i}") for i in range(1, count + 1))


# --- late joiners --------------------------------------------------------------------


def _g(gid: str, spec: str, first_id: int) -> Group:
    return Group(gid, gid.upper(), tuple(people(spec, first_id=first_id)))


class Late(NamedTuple):
    """A late-joiner case: the groups before, the joiner, and the group they must land in."""

    groups: list[Group]
    joiner: str
    expected: str
    rule: GroupingRule = SAME
    size: int = 4
    met: tuple[tuple[str, str], ...] = ()


OPP3_GJE2 = [
    _g("g1", "A:oppstart B:oppstart C:oppstart", 10),
    _g("g2", "D:gjennomforing E:gjennomforing", 20),
]
TWO_PAIRS = [_g("g1", "A:oppstart B:oppstart", 10), _g("g2", "C:oppstart D:oppstart", 20)]

LATE_CASES = {
    "a group of their stage with room": Late(OPP3_GJE2, "Z:oppstart", "g1"),
    "their stage is full: still their stage, over another stage with room": Late(
        [
            _g("g1", "D:gjennomforing E:gjennomforing", 10),
            _g("g2", "A:oppstart B:oppstart C:oppstart", 20),
            _g("g3", "F:oppstart G:oppstart H:oppstart I:oppstart", 30),
        ],
        "Z:oppstart",
        "g2",
        size=3,
    ),
    "no group of their stage: the smallest overall": Late(OPP3_GJE2, "Z:videreforing", "g2"),
    "not with their own municipality": Late(
        [_g("g1", "Askvik:oppstart B:oppstart", 10), _g("g2", "C:oppstart D:oppstart", 20)],
        "Askvik:oppstart",
        "g2",
    ),
    "not with a municipality they met before": Late(
        TWO_PAIRS, "Z:oppstart", "g2", met=(("Z", "A"),)
    ),
    "a group at the limit + 1 is never chosen": Late(OPP3_GJE2, "Z:oppstart", "g2", size=2),
    "mixed: an experienced joiner goes where there is none": Late(
        [_g("g1", "A:gjennomforing B:oppstart", 10), _g("g2", "C:oppstart D:oppstart", 20)],
        "Z:videreforing",
        "g2",
        rule=MIXED,
    ),
    "by tag: a group sharing their tag": Late(
        [_g("g1", "A::skole B::skole C::skole", 10), _g("g2", "D::bil E::bil", 20)],
        "Z::skole",
        "g1",
        rule=BY_TAG,
    ),
    "random: the smallest group": Late(
        [_g("g1", "A: B: C:", 10), _g("g2", "D: E:", 20)], "Z:", "g2", rule=RANDOM
    ),
}


@pytest.mark.parametrize("case", LATE_CASES.values(), ids=LATE_CASES.keys())
def test_late_joiner_placement(case: Late) -> None:
    member = people(case.joiner, first_id=99)[0]
    met = frozenset(frozenset(p) for p in case.met)
    placed = place_late_joiner(case.groups, member, plan(case.rule, case.size), met=met)
    assert [g.id for g in placed] == [g.id for g in case.groups]
    for before, after in zip(case.groups, placed, strict=True):
        if after.id == case.expected:
            assert after.members == (*before.members, member)
        else:
            assert after == before
    assert all(len(g.members) <= case.size + 1 for g in placed)


def test_late_joiner_when_every_group_is_over_the_limit_gets_a_new_group() -> None:
    groups = [_g("g1", "A: B: C:", 10), _g("g2", "D: E: F:", 20)]
    member = people("Z:", first_id=99)[0]
    placed = place_late_joiner(groups, member, plan(SAME, 2), group_label="Group")
    assert placed[:2] == tuple(groups)
    assert placed[2] == Group("g3", "Group 3", (member,))


@pytest.mark.parametrize(
    ("rule", "already_in"), [(SELF, False), (SAME, True)], ids=["self-select", "already in"]
)
def test_late_joiner_left_alone(rule: GroupingRule, already_in: bool) -> None:
    groups = (_g("g1", "A:oppstart B:oppstart", 10), Group("g2", "G2"))
    member = groups[0].members[0] if already_in else people("Z:oppstart", first_id=99)[0]
    assert place_late_joiner(groups, member, plan(rule)) == groups


def test_late_joiners_one_after_another_keep_the_limit() -> None:
    members = stage_people({"oppstart": 6, "gjennomforing": 4})
    groups = propose_groups(members, plan(SAME, 3), stage_names=STAGES)
    for pid in range(100, 120):
        stage = "oppstart" if pid % 2 else "gjennomforing"
        groups = place_late_joiner(groups, Member(pid, f"L{pid}", f"L{pid}", stage), plan(SAME, 3))
        assert all(len(g.members) <= 4 for g in groups)
    everyone = [m.person_id for g in groups for m in g.members]
    assert sorted(everyone) == sorted([m.person_id for m in members] + list(range(100, 120)))


# --- invariants over many generated inputs -------------------------------------------


def _generated(rng: random.Random) -> tuple[list[Member], BreakoutPlan, frozenset, str]:
    n = rng.randrange(0, 45)
    munis = [f"K{i}" for i in range(rng.randrange(1, 15))]
    stages = [*STAGES, "pilot", None]
    tags = ["skole", "kantine", "bil", "sykkel"]
    members = [
        Member(
            pid,
            f"P{i}",
            rng.choice([*munis, None]),
            rng.choice(stages),
            tuple(rng.sample(tags, rng.randrange(0, 3))),
        )
        for i, pid in enumerate(rng.sample(range(1, 10_000), n))
    ]
    met = frozenset(frozenset(p) for p in itertools.combinations(munis, 2) if rng.random() < 0.3)
    rule = rng.choice(list(GroupingRule))
    return members, plan(rule, rng.randrange(2, 7), rng.random() < 0.7), met, str(rng.random())


def test_every_member_exactly_once_and_deterministic() -> None:
    rng = random.Random(20240917)
    for _ in range(400):
        members, p, met, seed = _generated(rng)
        groups = propose_groups(members, p, met=met, stage_names=STAGES, seed=seed)
        again = propose_groups(list(reversed(members)), p, met=met, stage_names=STAGES, seed=seed)
        if p.rule == SELF:
            assert all(not g.members for g in groups)
            continue
        assert_everyone_once(members, groups)
        assert groups == again
        assert [g.id for g in groups] == [f"g{i}" for i in range(1, len(groups) + 1)]
        sizes = [len(g.members) for g in groups]
        assert all(s <= p.group_size or (p.group_size == 2 and s == 3) for s in sizes)
        assert len(members) < 2 or min(sizes) >= 2


def test_experienced_everywhere_whenever_enough_of_them() -> None:
    rng = random.Random(7)
    for _ in range(200):
        members, p, met, _seed = _generated(rng)
        groups = propose_groups(members, plan(MIXED, p.group_size), met=met)
        experienced = sum(m.stage in EXPERIENCED_STAGES for m in members)
        with_one = sum(any(m.stage in EXPERIENCED_STAGES for m in g.members) for g in groups)
        assert with_one == min(experienced, len(groups))


# --- performance ---------------------------------------------------------------------


@pytest.mark.parametrize("rule", [SAME, MIXED, BY_TAG, RANDOM])
def test_hundred_members_take_a_bounded_search(rule: GroupingRule,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The work is counted, not timed (a busy machine makes any time bound flaky): at most
    MAX_PASSES passes over the pairs of members, each swap tried at most once per pass."""
    tried = 0
    delta = grouping._Search._delta

    def counted(search: Any, a: int, b: int) -> int:
        nonlocal tried
        tried += 1
        return delta(search, a, b)

    monkeypatch.setattr(grouping._Search, "_delta", counted)
    rng = random.Random(100)
    munis = [f"K{i}" for i in range(40)]
    members = [
        Member(i, f"P{i}", rng.choice(munis), rng.choice(list(STAGES)), (rng.choice("abc"),))
        for i in range(100)
    ]
    met = frozenset(frozenset(p) for p in itertools.combinations(munis, 2) if rng.random() < 0.5)
    groups = propose_groups(members, plan(rule, 4), met=met, stage_names=STAGES, seed="p")
    assert tried <= grouping.MAX_PASSES * len(members) * (len(members) - 1) // 2, tried
    assert_everyone_once(members, groups)
