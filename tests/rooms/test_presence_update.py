"""A present person's entry changes in place (their project's stage changed): the new entry
is a change with the next revision, seen by every worker; an absent person is left alone."""

from __future__ import annotations

from collections.abc import Callable

from rooms.presence import Presence
from tests.rooms import test_presence
from tests.rooms.test_presence import ALICE, BJORN, GATHERING

# the fixtures: a Presence per worker, in memory and on Redis
make_presence, redis_workers = test_presence.make_presence, test_presence.redis_workers


async def test_a_present_persons_stage_changes_with_a_new_revision(
        make_presence: Callable[[], Presence]) -> None:
    a, b = make_presence(), make_presence()  # two workers
    joined = await a.arrive(GATHERING, {**ALICE, "stage": "oppstart", "tags": ["mat"]})
    assert joined is not None
    changed = await b.update(GATHERING, ALICE["person_id"],
                             {"stage": "gjennomforing", "tags": []})
    assert changed is not None and changed.joined and changed.rev > joined.rev
    assert changed.person == {**ALICE, "stage": "gjennomforing", "tags": []}
    roster = await a.roster(GATHERING)
    assert roster.people == [changed.person] and roster.rev == changed.rev
    # nothing new, nobody absent: no change
    assert await a.update(GATHERING, ALICE["person_id"],
                          {"stage": "gjennomforing", "tags": []}) is None
    assert await a.update(GATHERING, BJORN["person_id"], {"stage": "oppstart"}) is None
    assert await a.update("elsewhere", ALICE["person_id"], {"stage": "oppstart"}) is None
    assert [p["person_id"] for p in await b.people(GATHERING)] == [ALICE["person_id"]]
    # the last connection leaving still takes the person out
    left = await a.leave(GATHERING, ALICE["person_id"])
    assert left is not None and left.rev > changed.rev and await b.people(GATHERING) == []
