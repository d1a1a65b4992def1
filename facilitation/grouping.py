"""Breakout groups: propose groups for a breakout, place a late joiner.

Pure and deterministic: no I/O, no clock, no module-level RNG. The same inputs give the
same groups, whatever order the members are listed in.

How `propose_groups` works
--------------------------
1. Canonical order. Members are de-duplicated by `person_id` (the first one listed wins)
   and sorted by `person_id`. The random rule then shuffles that list with
   `random.Random(seed)`.
2. Partitions, grouped separately:
   - same_stage: one per stage, ordered as `stage_names` is, then stages missing from
     `stage_names` (A-Z, named by their slug), then people with no stage (named with
     `group_label`);
   - by_tag: one per tag, most common tag first (ties A-Z); a person with several tags
     goes to their most common one; people with no tag last (named with `group_label`);
   - mixed and random: everyone in one partition, named "<group_label> N".
   A partition of one person is merged into the nearest one so nobody sits alone:
   same_stage takes the neighbouring stage in stage order (a tie goes to the smaller
   partition, then to the later, more experienced stage); by_tag takes the partition
   where most people share a tag with them (ties: the smaller one, then the first).
3. Sizes. A partition of n people gets k = ceil(n / group_size) groups whose sizes differ
   by at most one. The one exception: with group_size 2 and an odd n that would leave
   a group of one, so one group gets three instead. A group_size below 2 counts as 2.
4. First assignment, dealt like cards: member number p goes to group p mod k. With
   spread_municipalities on, the deal runs municipality by municipality (largest first),
   so a municipality with at most k people lands in k different groups. Mixed deals the
   experienced members (EXPERIENCED_STAGES) first, so the first groups get one each.
5. Local improvement. Swapping two members of different groups keeps every size. Swaps
   are accepted while they lower the cost
       W_exp * groups without an experienced member (mixed only)
     + W_muni * pairs from the same municipality (spread_municipalities only)
     + pairs of municipalities that already met (`met`),
   where each weight outweighs anything the terms below it can change in one swap, so a
   swap never trades a spread municipality for an unmet pair. A table of each member's
   cost against each group makes a swap's cost O(1) to evaluate and O(n) to apply, so
   a pass is O(n^2), and there are at most MAX_PASSES passes.
6. Output: groups in partition order, ids "g1", "g2", ...; members inside a group
   sorted by name, then person_id.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from facilitation.state import BreakoutPlan, Group, GroupingRule, Member

EXPERIENCED_STAGES: frozenset[str] = frozenset({"gjennomforing", "videreforing"})
MAX_PASSES = 12  # local-improvement passes over all pairs; each pass is O(n^2)
MIN_GROUP_SIZE = 2  # a breakout of one is not a breakout

Met = frozenset[frozenset[str]]


@dataclass(frozen=True)
class _Part:
    """A partition of members that is grouped on its own."""

    base: str  # the start of its groups' names
    numbered: bool  # number the names even when there is just one group
    rank: int  # its position in the order of partitions, for "nearest"
    members: tuple[Member, ...]


def propose_groups(
    members: Sequence[Member],
    plan: BreakoutPlan,
    *,
    met: Met = frozenset(),
    stage_names: Mapping[str, str] | None = None,
    seed: str = "",
    group_label: str = "Gruppe",
) -> tuple[Group, ...]:
    """Propose breakout groups for `members` by the plan's rule (see the module docstring).

    `met` holds pairs of municipalities that met in earlier gatherings of the theme;
    `stage_names` maps stage slugs to display names, in stage order; `seed` drives the
    random rule; `group_label` is the translated word for "group" in group names.
    """
    people = _canonical(members)
    size = max(MIN_GROUP_SIZE, plan.group_size)
    if plan.rule == GroupingRule.SELF_SELECT:
        count = len(_sizes(len(people), size))
        return tuple(Group(f"g{i}", f"{group_label} {i}") for i in range(1, count + 1))
    if plan.rule == GroupingRule.RANDOM:
        random.Random(seed).shuffle(people)
    named: list[tuple[str, list[Member]]] = []
    for part in _partitions(people, plan.rule, stage_names or {}, group_label):
        teams = _split(list(part.members), size, plan, met)
        named.extend(zip(_names(part, len(teams)), teams, strict=True))
    return tuple(
        Group(f"g{i}", name, tuple(sorted(team, key=_display_key)))
        for i, (name, team) in enumerate(named, start=1)
    )


def place_late_joiner(
    groups: Sequence[Group],
    member: Member,
    plan: BreakoutPlan,
    *,
    met: Met = frozenset(),
    group_label: str = "Gruppe",
) -> tuple[Group, ...]:
    """Add `member` to the group that fits best; return all groups, the others unchanged.

    Candidates are groups with at most group_size members (so none grows past
    group_size + 1). They rank: a fitting group with room; a fitting group that is full;
    any group with room; any full group. A group fits by the rule: same_stage, most of
    its members share the joiner's stage; by_tag, someone shares a tag; mixed, an
    experienced joiner goes where there is no experienced member yet. Within a rank:
    fewest people from the joiner's municipality (with spread_municipalities), then
    fewest repeat pairs, then the smallest group, then the first.
    Unchanged if the member is in a group already or the rule is self_select (people
    pick their own group). If every group is over the limit, a new group is added.
    """
    groups = tuple(groups)
    if plan.rule == GroupingRule.SELF_SELECT or any(g.has(member.person_id) for g in groups):
        return groups
    size = max(MIN_GROUP_SIZE, plan.group_size)
    candidates = [i for i, g in enumerate(groups) if len(g.members) <= size]
    if not candidates:
        return (*groups, _new_group(groups, member, group_label))
    best = min(candidates, key=lambda i: _late_key(groups[i], i, member, plan, size, met))
    joined = replace(groups[best], members=(*groups[best].members, member))
    return (*groups[:best], joined, *groups[best + 1 :])


# --- partitions ---------------------------------------------------------------------


def _canonical(members: Sequence[Member]) -> list[Member]:
    unique: dict[int, Member] = {}
    for m in members:
        unique.setdefault(m.person_id, m)
    return sorted(unique.values(), key=lambda m: m.person_id)


def _display_key(m: Member) -> tuple[str, int]:
    return (m.name.casefold(), m.person_id)


def _partitions(
    people: list[Member], rule: str, stage_names: Mapping[str, str], label: str
) -> list[_Part]:
    if not people:
        return []
    if rule == GroupingRule.SAME_STAGE:
        return _absorb_singletons(_by_stage(people, stage_names, label), _stage_distance)
    if rule == GroupingRule.BY_TAG:
        return _absorb_singletons(_by_tag(people, label), _tag_distance)
    return [_Part(label, True, 0, tuple(people))]


def _by_stage(people: list[Member], stage_names: Mapping[str, str], label: str) -> list[_Part]:
    others = sorted({m.stage for m in people if m.stage and m.stage not in stage_names})
    order = [*stage_names, *others]
    parts = [
        _Part(stage_names.get(slug, slug), False, rank, tuple(m for m in people if m.stage == slug))
        for rank, slug in enumerate(order)
    ]
    parts.append(_Part(label, True, len(order), tuple(m for m in people if not m.stage)))
    return [p for p in parts if p.members]


def _tags(m: Member) -> list[str]:
    return [t for t in dict.fromkeys(m.tags) if t]


def _by_tag(people: list[Member], label: str) -> list[_Part]:
    counts = Counter(t for m in people for t in _tags(m))
    order = sorted(counts, key=lambda t: (-counts[t], t))

    def main_tag(m: Member) -> str | None:
        return min(_tags(m), key=lambda t: (-counts[t], t), default=None)

    parts = [
        _Part(tag, False, rank, tuple(m for m in people if main_tag(m) == tag))
        for rank, tag in enumerate(order)
    ]
    parts.append(_Part(label, True, len(order), tuple(m for m in people if not _tags(m))))
    return [p for p in parts if p.members]


def _stage_distance(lone: _Part, other: _Part) -> tuple[int, ...]:
    return (abs(other.rank - lone.rank), len(other.members), -other.rank)


def _tag_distance(lone: _Part, other: _Part) -> tuple[int, ...]:
    mine = set(_tags(lone.members[0]))
    sharing = sum(1 for m in other.members if mine.intersection(m.tags))
    return (-sharing, len(other.members), other.rank)


def _absorb_singletons(
    parts: list[_Part], distance: Callable[[_Part, _Part], tuple[int, ...]]
) -> list[_Part]:
    """Merge each one-person partition into its nearest partition, while there are two+."""
    parts = list(parts)
    while len(parts) > 1:
        lone = next((p for p in parts if len(p.members) == 1), None)
        if lone is None:
            break
        parts.remove(lone)
        target = min(parts, key=lambda p: distance(lone, p))
        parts[parts.index(target)] = replace(target, members=(*target.members, *lone.members))
    return parts


def _names(part: _Part, count: int) -> list[str]:
    if count == 1 and not part.numbered:
        return [part.base]
    return [f"{part.base} {i}" for i in range(1, count + 1)]


# --- sizes and the first deal --------------------------------------------------------


def _sizes(n: int, size: int) -> list[int]:
    """Even sizes for n people, at most `size` each, and no group of one unless n == 1."""
    if n == 0:
        return []
    k = math.ceil(n / size)
    if k > 1 and n // k < 2:  # only size 2 with odd n: one group of three beats one of one
        k -= 1
    q, r = divmod(n, k)
    return [q + 1] * r + [q] * (k - r)


def _by_municipality(members: list[Member]) -> list[Member]:
    """Members regrouped municipality by municipality, largest first, else in given order."""

    def block(i: int, m: Member) -> tuple[int, str | int]:
        return (0, m.municipality) if m.municipality else (1, i)

    blocks = [block(i, m) for i, m in enumerate(members)]
    sizes = Counter(blocks)
    first = {b: i for i, b in reversed(list(enumerate(blocks)))}
    order = sorted(range(len(members)), key=lambda i: (-sizes[blocks[i]], first[blocks[i]], i))
    return [members[i] for i in order]


def _deal_order(members: list[Member], plan: BreakoutPlan) -> list[Member]:
    spread = _by_municipality if plan.spread_municipalities else list
    if plan.rule != GroupingRule.MIXED:
        return spread(members)
    experienced = [m for m in members if _experienced(m)]
    others = [m for m in members if not _experienced(m)]
    return [*spread(experienced), *spread(others)]


def _experienced(m: Member) -> bool:
    return m.stage in EXPERIENCED_STAGES


def _split(members: list[Member], size: int, plan: BreakoutPlan, met: Met) -> list[list[Member]]:
    sizes = _sizes(len(members), size)
    order = _deal_order(members, plan)
    k = len(sizes)
    group_of = [p % k for p in range(len(order))]
    if k > 1:
        _Search(order, group_of, k, plan, met, max(sizes)).run()
    teams: list[list[Member]] = [[] for _ in range(k)]
    for m, g in zip(order, group_of, strict=True):
        teams[g].append(m)
    return teams


# --- local improvement ---------------------------------------------------------------


def _pair_costs(members: list[Member], met: Met, spread: bool, w_muni: int) -> list[list[int]]:
    """The cost of each pair of members sharing a group."""
    n = len(members)
    costs = [[0] * n for _ in range(n)]
    known: dict[tuple[str, str], int] = {}
    for i in range(n):
        a = members[i].municipality
        for j in range(i + 1, n):
            b = members[j].municipality
            if not a or not b:
                continue
            if (a, b) not in known:
                known[(a, b)] = _pair_cost(a, b, met, spread, w_muni)
            costs[i][j] = costs[j][i] = known[(a, b)]
    return costs


def _pair_cost(a: str, b: str, met: Met, spread: bool, w_muni: int) -> int:
    if a == b:
        return w_muni if spread else 0
    return 1 if frozenset((a, b)) in met else 0


class _Search:
    """Swaps members between groups (in place on `group_of`) while the cost drops."""

    def __init__(
        self,
        members: list[Member],
        group_of: list[int],
        k: int,
        plan: BreakoutPlan,
        met: Met,
        largest: int,
    ) -> None:
        self.n = len(members)
        self.group_of = group_of
        w_muni = 4 * largest + 1  # > the most that unmet pairs can change in one swap
        self.w_exp = 4 * largest * w_muni + 1  # > the most that pair costs can change
        self.cost = _pair_costs(members, met, plan.spread_municipalities, w_muni)
        self.mixed = plan.rule == GroupingRule.MIXED
        self.exp = [_experienced(m) for m in members]
        self.exp_count = [0] * k
        self.against = [[0] * k for _ in range(self.n)]  # member's cost against each group
        for x in range(self.n):
            self.exp_count[group_of[x]] += self.exp[x]
            for y, c in enumerate(self.cost[x]):
                self.against[x][group_of[y]] += c

    def run(self) -> None:
        for _ in range(MAX_PASSES):
            if not self._pass():
                return

    def _pass(self) -> bool:
        improved = False
        for a in range(self.n):
            for b in range(a + 1, self.n):
                if self.group_of[a] != self.group_of[b] and self._delta(a, b) < 0:
                    self._swap(a, b)
                    improved = True
        return improved

    def _delta(self, a: int, b: int) -> int:
        ga, gb = self.group_of[a], self.group_of[b]
        own_a, own_b = self.against[a][ga], self.against[b][gb]
        if not self.mixed and own_a == 0 and own_b == 0:
            return 0  # neither has a cost where they are: a swap cannot lower it
        pair = self.against[b][ga] + self.against[a][gb] - own_a - own_b - 2 * self.cost[a][b]
        return pair + self._exp_delta(ga, gb, a, b)

    def _exp_delta(self, ga: int, gb: int, a: int, b: int) -> int:
        if not self.mixed or self.exp[a] == self.exp[b]:
            return 0
        giver, taker = (ga, gb) if self.exp[a] else (gb, ga)
        lacking = int(self.exp_count[giver] == 1) - int(self.exp_count[taker] == 0)
        return self.w_exp * lacking

    def _swap(self, a: int, b: int) -> None:
        ga, gb = self.group_of[a], self.group_of[b]
        for x in range(self.n):
            moved = self.cost[x][b] - self.cost[x][a]
            self.against[x][ga] += moved
            self.against[x][gb] -= moved
        self.exp_count[ga] += self.exp[b] - self.exp[a]
        self.exp_count[gb] += self.exp[a] - self.exp[b]
        self.group_of[a], self.group_of[b] = gb, ga


# --- late joiners --------------------------------------------------------------------


def _fits(group: Group, member: Member, rule: str) -> bool:
    if rule == GroupingRule.SAME_STAGE:
        stages = Counter(m.stage or None for m in group.members)
        return bool(stages) and stages[member.stage or None] == max(stages.values())
    if rule == GroupingRule.BY_TAG:
        mine = set(_tags(member))
        return any(mine.intersection(m.tags) for m in group.members)
    if rule == GroupingRule.MIXED and _experienced(member):
        return not any(_experienced(m) for m in group.members)
    return True


def _late_key(
    group: Group, index: int, member: Member, plan: BreakoutPlan, size: int, met: Met
) -> tuple[int, ...]:
    full = len(group.members) >= size
    rank = (0 if _fits(group, member, plan.rule) else 2) + int(full)
    mine = member.municipality
    theirs = [m.municipality for m in group.members if m.municipality]
    same = sum(1 for t in theirs if t == mine) if mine and plan.spread_municipalities else 0
    repeats = sum(1 for t in theirs if mine and t != mine and frozenset((mine, t)) in met)
    return (rank, same, repeats, len(group.members), index)


def _new_group(groups: tuple[Group, ...], member: Member, label: str) -> Group:
    taken = {g.id for g in groups}
    number = len(groups) + 1
    while f"g{number}" in taken:
        number += 1
    return Group(f"g{number}", f"{label} {len(groups) + 1}", (member,))
