"""Who may open a WebRTC connection to whom in the breakout mesh: pure rules.

Two people in the same open breakout group see and hear each other; a runner (the
facilitator or the programme lead) may visit any open group and connect to its members.
Nothing else connects directly: the plenary stage goes through the server's own peer."""

from __future__ import annotations

from facilitation.roles import RUNNERS, Role
from facilitation.state import Actor, BreakoutStatus, GatheringState, Phase

Who = Actor | tuple[int, Role | str]  # an actor, or (person_id, role) of a registered media peer


def _who(who: Who) -> tuple[int, Role]:
    return (who.person_id, who.role) if isinstance(who, Actor) else (who[0], Role(who[1]))


def may_connect(state: GatheringState, a: Who, b: Who) -> bool:
    """True when a and b may connect to each other now (the rule is symmetric)."""
    (a_id, a_role), (b_id, b_role) = _who(a), _who(b)
    breakouts = state.breakouts
    if a_id == b_id or breakouts is None or breakouts.status is not BreakoutStatus.OPEN:
        return False
    group_a, group_b = breakouts.group_of(a_id), breakouts.group_of(b_id)
    if group_a is not None and group_b is not None:
        return group_a.id == group_b.id
    # a runner who is in no group visits: they may connect to anyone in a group
    if group_a is None and a_role in RUNNERS:
        return group_b is not None
    if group_b is None and b_role in RUNNERS:
        return group_a is not None
    return False


# -- the plenary stage ----------------------------------------------------------------------


def may_publish(state: GatheringState, who: Who) -> bool:
    """True when `who` may send audio and video to the plenary stage now: a runner (the
    facilitator, the programme lead), the person in the spotlight (the expert whose slot
    runs) and whoever has the floor from the speaking queue. Nobody once the gathering ended.
    How many may publish at once is a setting (STAGE_MAX_PUBLISHERS), enforced by the stage."""
    person_id, role = _who(who)
    if state.phase is Phase.ENDED:
        return False
    if role in RUNNERS:
        return True
    on_stage = (state.spotlight, state.speaker)
    return any(ref is not None and ref.person_id == person_id for ref in on_stage)


def may_listen(state: GatheringState, who: Who) -> bool:
    """Everyone in the gathering (a member of its theme) may watch the stage."""
    return _who(who)[1] is not Role.SYSTEM
