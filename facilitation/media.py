"""Who may open a WebRTC connection to whom in the breakout mesh: pure rules.

Two people in the same open breakout group see and hear each other; a runner (the
facilitator or the programme lead) who is in no group may visit an open group and connect
to its members: to the members of the one group they named (`media.join` with `group`), or
of any open group when they named none. Two runners who visit the same group see each other.
Nothing else connects directly: the plenary stage goes through the server's own peer."""

from __future__ import annotations

from facilitation.roles import RUNNERS, Role
from facilitation.state import Actor, BreakoutStatus, GatheringState, Phase

# an actor, or a registered media peer as (person_id, role) or (person_id, role, the id of
# the group a runner visits, None for any)
Who = Actor | tuple[int, Role | str] | tuple[int, Role | str, str | None]


def _who(who: Who) -> tuple[int, Role, str | None]:
    if isinstance(who, Actor):
        return who.person_id, who.role, None
    visiting = who[2] if len(who) == 3 else None
    return who[0], Role(who[1]), visiting


def may_connect(state: GatheringState, a: Who, b: Who) -> bool:
    """True when a and b may connect to each other now (the rule is symmetric)."""
    (a_id, a_role, a_visit), (b_id, b_role, b_visit) = _who(a), _who(b)
    breakouts = state.breakouts
    if a_id == b_id or breakouts is None or breakouts.status is not BreakoutStatus.OPEN:
        return False
    group_a, group_b = breakouts.group_of(a_id), breakouts.group_of(b_id)
    if group_a is not None and group_b is not None:
        return group_a.id == group_b.id
    # a runner who is in no group visits: the group they named, or any group
    if group_a is None and group_b is not None:
        return _visits(a_role, a_visit, group_b.id)
    if group_b is None and group_a is not None:
        return _visits(b_role, b_visit, group_a.id)
    # nobody in a group: two runners visiting the same (existing) group see each other
    return (a_role in RUNNERS and b_role in RUNNERS and a_visit is not None
            and a_visit == b_visit and breakouts.group(a_visit) is not None)


def _visits(role: Role, visiting: str | None, group_id: str | None) -> bool:
    return role in RUNNERS and visiting in (None, group_id)


# -- the plenary stage ----------------------------------------------------------------------


def may_publish(state: GatheringState, who: Who) -> bool:
    """True when `who` may send audio and video to the plenary stage now: a runner (the
    facilitator, the programme lead), the person in the spotlight (the expert whose slot
    runs) and whoever has the floor from the speaking queue. Nobody once the gathering ended.
    How many may publish at once is a setting (STAGE_MAX_PUBLISHERS), enforced by the stage."""
    person_id, role, _ = _who(who)
    if state.phase is Phase.ENDED:
        return False
    if role in RUNNERS:
        return True
    on_stage = (state.spotlight, state.speaker)
    return any(ref is not None and ref.person_id == person_id for ref in on_stage)


def may_listen(state: GatheringState, who: Who) -> bool:
    """Everyone in the gathering (a member of its theme) may watch the stage."""
    return _who(who)[1] is not Role.SYSTEM
