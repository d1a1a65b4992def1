"""Who is coming to a gathering: the rules of signing up, the day-before reminder's window,
what the runners see of the expected room, and the breakout groups proposed in advance
from the sign-ups, adjusted on the day for who actually arrived.

Pure: no I/O, no clock (`now` is an argument), no translations (names are data).

Why the groups are proposed from the sign-ups by the live rules (facilitation/grouping.py
`propose_groups`) and not by a rule of their own: the facilitator then sees before the day
exactly the groups the room would get if everyone who said "coming" came, and the day's
adjustment (`adjust_proposal`) only has to deal with the differences.

A "someone else from our municipality comes" answer has no person yet: while nobody from
that municipality answered "coming", the municipality gets a seat in the proposal
(`Member` with a negative person id, -municipality id, named by the municipality), so the
groups are planned with it. On the day the first newcomer from that municipality takes the
seat; seats nobody took are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from facilitation.grouping import MIN_GROUP_SIZE, Met, place_late_joiner
from facilitation.state import AdvanceGroups, BreakoutPlan, Group, GroupingRule, Member

COMING = "coming"
NOT_COMING = "not_coming"
COLLEAGUE = "colleague"  # "someone else from our municipality comes"
ANSWERS = (COMING, NOT_COMING, COLLEAGUE)
MAX_WISH_CHARS = 500

# The reminder goes out from REMINDER_EARLIEST before the start until REMINDER_LATEST
# before it. 26 hours: for a gathering at 09:00, the mail arrives at 07:00 the working day
# before, not in the night; a worker that was down for a while still sends it later that
# day. Closer than 2 hours before the start a reminder is noise: the room opens soon.
REMINDER_EARLIEST = timedelta(hours=26)
REMINDER_LATEST = timedelta(hours=2)

# On the day, a proposal that fewer than this share of those present were in no longer
# describes the room: the groups are proposed afresh from who is there.
KEPT_SHARE = 0.5


def may_answer(starts_at: datetime, cancelled: bool, now: datetime) -> bool:
    """A member may answer, and change the answer, until the gathering starts."""
    return not cancelled and now < starts_at


def reminder_due(starts_at: datetime, cancelled: bool, now: datetime) -> bool:
    """Whether `now` is inside the reminder's window for a gathering starting at `starts_at`."""
    return (not cancelled
            and starts_at - REMINDER_EARLIEST <= now < starts_at - REMINDER_LATEST)


# --- what the runners see -------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One sign-up, with what the runners' lists need of the person."""

    person_id: int
    name: str
    answer: str
    wish: str = ""
    municipality_id: int | None = None
    municipality: str | None = None
    participant: bool = True  # a participant of the theme (breakouts group only them)


@dataclass(frozen=True)
class Expected:
    """A municipality expected at the gathering: who comes, whether a colleague comes
    instead of someone who answered, and the stages of its projects in the theme."""

    municipality_id: int | None
    name: str | None  # None: people without a municipality
    stages: tuple[str, ...]
    coming: tuple[str, ...]  # names
    colleague: bool


def expected_municipalities(answers: Sequence[Answer],
                            stages: Mapping[int, Sequence[str]]) -> tuple[Expected, ...]:
    """The municipalities someone comes from (by name or as "a colleague"), A-Z, the
    people without a municipality last. `stages` maps a municipality id to its projects'
    stages in the theme."""
    by_place: dict[int | None, list[Answer]] = {}
    for a in answers:
        if a.answer in (COMING, COLLEAGUE):
            by_place.setdefault(a.municipality_id, []).append(a)
    rows = [
        Expected(place, group[0].municipality,
                 tuple(dict.fromkeys(stages.get(place, ()))) if place is not None else (),
                 tuple(sorted((a.name for a in group if a.answer == COMING), key=str.casefold)),
                 any(a.answer == COLLEAGUE for a in group))
        for place, group in by_place.items()
    ]
    return tuple(sorted(rows, key=lambda e: (e.name is None, (e.name or "").casefold())))


def counts(answers: Sequence[Answer]) -> dict[str, int]:
    """How many gave each answer, and how many municipalities are expected."""
    tally = {answer: sum(1 for a in answers if a.answer == answer) for answer in ANSWERS}
    places = {a.municipality_id for a in answers
              if a.answer in (COMING, COLLEAGUE) and a.municipality_id is not None}
    return {**tally, "municipalities": len(places)}


# --- groups in advance ------------------------------------------------------------------


def advance_members(answers: Sequence[Answer],
                    projects: Mapping[int, tuple[str | None, tuple[str, ...]]]
                    ) -> tuple[Member, ...]:
    """Who the advance proposal groups: the participants who come, as breakout grouping
    sees them (`projects` maps a municipality id to its project's stage and tags), and a
    seat for each municipality that only a colleague comes from."""
    members: list[Member] = []
    coming_from: set[int] = set()
    for a in answers:
        if a.answer == COMING and a.participant:
            stage, tags = projects.get(a.municipality_id, (None, ())) \
                if a.municipality_id is not None else (None, ())
            members.append(Member(a.person_id, a.name, a.municipality, stage, tags))
            if a.municipality_id is not None:
                coming_from.add(a.municipality_id)
    seats: dict[int, Member] = {}
    for a in answers:
        place = a.municipality_id
        if a.answer == COLLEAGUE and place is not None and place not in coming_from:
            stage, tags = projects.get(place, (None, ()))
            seats.setdefault(place, Member(-place, a.municipality or "", a.municipality,
                                           stage, tags))
    return (*members, *seats.values())


def is_seat(member: Member) -> bool:
    """A municipality's seat for a colleague not known by name yet."""
    return member.person_id < 0


def planned_for(advance: Sequence[AdvanceGroups], item_id: int | None,
                plan: BreakoutPlan) -> AdvanceGroups | None:
    """The advance proposal for a breakout item, if it was made by the plan the item has
    now (a proposal made by another rule or size is stale) and groups people by the
    facilitator (self-select groups are chosen on the day)."""
    if item_id is None or plan.rule is GroupingRule.SELF_SELECT:
        return None
    for made in advance:
        if (made.item_id == item_id and made.plan.rule == plan.rule
                and made.plan.group_size == plan.group_size
                and made.plan.spread_municipalities == plan.spread_municipalities):
            return made
    return None


def adjust_proposal(proposal: Sequence[Group], present: Sequence[Member], plan: BreakoutPlan,
                    *, met: Met = frozenset()) -> tuple[Group, ...] | None:
    """The advance proposal, adjusted for who is present (see the module docstring):

    1. Those present who are in the proposal stay in their group (with their data of now:
       a project's stage may have moved); those absent are dropped.
    2. A newcomer takes their municipality's seat, if the proposal has one.
    3. Seats nobody took are dropped; an emptied group goes; a group left with one person
       is dissolved, that person placed like a newcomer.
    4. The other newcomers are placed by the rule (grouping.py `place_late_joiner`), in
       person id order.
    5. The groups are numbered g1, g2, ... again in the proposal's order; names are kept.

    None when the proposal no longer describes the room: nobody present is in it, or
    fewer than KEPT_SHARE of them; the caller then proposes afresh.
    """
    here = {m.person_id: m for m in present}
    if not here:
        return None
    placed: list[list[Member]] = []
    for group in proposal:
        placed.append([here.get(m.person_id, m) for m in group.members
                       if is_seat(m) or m.person_id in here])
    known = {m.person_id for team in placed for m in team if not is_seat(m)}
    if len(known) < KEPT_SHARE * len(here) or not known:
        return None
    newcomers = [m for pid, m in sorted(here.items()) if pid not in known]
    waiting: list[Member] = []
    for member in newcomers:
        seat = _seat_of(placed, member)
        if seat is None:
            waiting.append(member)
        else:
            team, index = seat
            team[index] = member
    teams = [[m for m in team if not is_seat(m)] for team in placed]
    kept: list[tuple[Group, list[Member]]] = []
    for group, team in zip(proposal, teams, strict=True):
        if len(team) >= MIN_GROUP_SIZE:
            kept.append((group, team))
        else:
            waiting.extend(team)
    if not kept:
        return None
    groups = tuple(Group(f"g{i}", group.name, tuple(team))
                   for i, (group, team) in enumerate(kept, start=1))
    for member in sorted(waiting, key=lambda m: m.person_id):
        groups = place_late_joiner(groups, member, plan, met=met)
    return groups


def _seat_of(teams: list[list[Member]], member: Member) -> tuple[list[Member], int] | None:
    if member.municipality is None:
        return None
    for team in teams:
        for index, m in enumerate(team):
            if is_seat(m) and m.municipality == member.municipality:
                return team, index
    return None

