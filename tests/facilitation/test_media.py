"""Who may connect to whom in the breakout mesh: a table of cases, no I/O."""

from __future__ import annotations

import pytest

from facilitation import Actor, GatheringState, Role
from facilitation.media import Who, may_connect
from facilitation.state import BreakoutPlan, Breakouts, BreakoutStatus, Group, Member

FRIDA = Actor(1, "Frida Fasilitator", Role.FACILITATOR)
PER = Actor(2, "Per Programleder", Role.PROGRAMME_LEAD)
ANNE = Actor(3, "Anne", Role.PARTICIPANT)
BJORN = Actor(4, "Bjørn", Role.PARTICIPANT)
CARL = Actor(5, "Carl", Role.PARTICIPANT)
DINA = Actor(6, "Dina", Role.PARTICIPANT)
EVA = Actor(8, "Eva Ekspert", Role.EXPERT)
OLA = Actor(9, "Ola Observatør", Role.OBSERVER)
LATE = Actor(7, "Late", Role.PARTICIPANT)  # in no group
KARI = Actor(10, "Kari Kofasilitator", Role.FACILITATOR)  # a runner placed in a group


def group(gid: str, *people: Actor) -> Group:
    return Group(gid, gid, tuple(Member(p.person_id, p.name) for p in people))


GROUPS = (group("g1", ANNE, BJORN, KARI), group("g2", CARL, DINA, EVA))


def state(status: BreakoutStatus | None) -> GatheringState:
    breakouts = None if status is None else Breakouts(1, None, BreakoutPlan(), GROUPS,
                                                      status=status)
    return GatheringState("g", (), breakouts=breakouts)


OPEN = BreakoutStatus.OPEN
CASES: list[tuple[str, BreakoutStatus | None, Who, Who, bool]] = [
    ("same open group", OPEN, ANNE, BJORN, True),
    ("same group, expert member", OPEN, CARL, EVA, True),
    ("other group", OPEN, ANNE, CARL, False),
    ("not in a group", OPEN, ANNE, LATE, False),
    ("nobody to nobody", OPEN, LATE, OLA, False),
    ("observer outside the groups", OPEN, OLA, ANNE, False),
    ("oneself", OPEN, ANNE, ANNE, False),
    ("proposed, not open", BreakoutStatus.PROPOSED, ANNE, BJORN, False),
    ("recalled", BreakoutStatus.RECALLED, ANNE, BJORN, False),
    ("no breakouts at all", None, ANNE, BJORN, False),
    ("facilitator visits group 1", OPEN, FRIDA, ANNE, True),
    ("facilitator visits group 2", OPEN, FRIDA, DINA, True),
    ("a member accepts the visiting facilitator", OPEN, DINA, FRIDA, True),
    ("programme lead visits", OPEN, PER, CARL, True),
    ("two visiting runners", OPEN, FRIDA, PER, False),
    ("runner and someone in no group", OPEN, FRIDA, LATE, False),
    ("runner visiting, groups closed", BreakoutStatus.RECALLED, FRIDA, ANNE, False),
    ("runner in a group is a member: same group", OPEN, KARI, ANNE, True),
    ("runner in a group is a member: not another group", OPEN, KARI, CARL, False),
    ("runner in a group and a visiting runner", OPEN, FRIDA, KARI, True),
    ("a registered peer as (person_id, role)", OPEN, ANNE, (4, Role.PARTICIPANT), True),
    ("a registered runner as (person_id, role)", OPEN, CARL, (1, "facilitator"), True),
    ("a registered peer in another group", OPEN, ANNE, (5, Role.PARTICIPANT), False),
    ("a runner visiting group 1 connects to it", OPEN, (1, "facilitator", "g1"), ANNE, True),
    ("a runner visiting group 1, not to group 2", OPEN, (1, "facilitator", "g1"), CARL, False),
    ("a runner visiting group 2", OPEN, (2, Role.PROGRAMME_LEAD, "g2"), EVA, True),
    ("a runner visiting no group named: any", OPEN, (1, "facilitator", None), CARL, True),
    ("a runner visiting a group that is gone", OPEN, (1, "facilitator", "g9"), ANNE, False),
    ("a participant naming a group visits nothing", OPEN, (7, "participant", "g1"), ANNE,
     False),
    ("a runner in a group: its own group counts", OPEN, (10, "facilitator", "g2"), ANNE, True),
    ("two runners visiting the same group", OPEN, (1, "facilitator", "g1"),
     (2, "programme_lead", "g1"), True),
    ("two runners visiting different groups", OPEN, (1, "facilitator", "g1"),
     (2, "programme_lead", "g2"), False),
    ("two runners visiting a group that is gone", OPEN, (1, "facilitator", "g9"),
     (2, "programme_lead", "g9"), False),
    ("two runners visiting, groups recalled", BreakoutStatus.RECALLED,
     (1, "facilitator", "g1"), (2, "programme_lead", "g1"), False),
]


each_case = pytest.mark.parametrize(("case", "status", "a", "b", "allowed"), CASES,
                                    ids=[c[0] for c in CASES])


@each_case
def test_may_connect(case: str, status: BreakoutStatus | None, a: Who, b: Who,
                     allowed: bool) -> None:
    assert may_connect(state(status), a, b) is allowed


@each_case
def test_the_rule_is_symmetric(case: str, status: BreakoutStatus | None, a: Who, b: Who,
                               allowed: bool) -> None:
    assert may_connect(state(status), b, a) is may_connect(state(status), a, b)


# -- the plenary stage ----------------------------------------------------------------------

from facilitation.media import may_listen, may_publish  # noqa: E402
from facilitation.state import PersonRef, Phase  # noqa: E402


def ref(actor: Actor) -> PersonRef:
    return PersonRef(actor.person_id, actor.name, None)


def plenary(spotlight: Actor | None = None, speaker: Actor | None = None,
            phase: Phase = Phase.LIVE) -> GatheringState:
    return GatheringState("g", (), phase=phase,
                          spotlight=None if spotlight is None else ref(spotlight),
                          speaker=None if speaker is None else ref(speaker))


PUBLISH_CASES: list[tuple[str, GatheringState, Who, bool]] = [
    ("the facilitator", plenary(), FRIDA, True),
    ("the programme lead", plenary(), PER, True),
    ("a runner before the room opens", plenary(phase=Phase.LOBBY), KARI, True),
    ("the expert in the spotlight", plenary(spotlight=EVA), EVA, True),
    ("an expert not in the spotlight", plenary(spotlight=ANNE), EVA, False),
    ("a participant in the spotlight (given by hand)", plenary(spotlight=ANNE), ANNE, True),
    ("whoever has the floor", plenary(speaker=BJORN), BJORN, True),
    ("a participant without the floor", plenary(speaker=BJORN), ANNE, False),
    ("an observer given the floor", plenary(speaker=OLA), OLA, True),
    ("a participant with nothing on", plenary(), ANNE, False),
    ("an observer", plenary(), OLA, False),
    ("as a registered (id, role) pair", plenary(speaker=BJORN), (4, "participant"), True),
    ("nobody after the end", plenary(speaker=BJORN, phase=Phase.ENDED), BJORN, False),
    ("not even the facilitator after the end", plenary(phase=Phase.ENDED), FRIDA, False),
]


@pytest.mark.parametrize(("case", "gathering", "who", "expected"), PUBLISH_CASES,
                         ids=[c[0] for c in PUBLISH_CASES])
def test_may_publish(case: str, gathering: GatheringState, who: Who, expected: bool) -> None:
    assert may_publish(gathering, who) is expected


@pytest.mark.parametrize("who", [FRIDA, PER, ANNE, EVA, OLA, LATE])
def test_everyone_in_the_gathering_may_listen(who: Actor) -> None:
    assert may_listen(plenary(), who)
