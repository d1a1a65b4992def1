"""Follow-ups' rules as tables: the due gathering, overdue, status changes, who may make
and update them, links, and when the reminder goes out (a fake clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from facilitation import AgendaSlot, GatheringState, Role
from facilitation import planning as p
from facilitation.follow_ups import (
    REMINDER_DAYS,
    GatheringTime,
    Pending,
    Status,
    due_gathering,
    is_overdue,
    may_change_status,
    may_create,
    may_update,
    reminders_due,
    valid_link,
)
from tests.facilitation import deciding


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


G1 = GatheringTime("g1", at(2))
G2 = GatheringTime("g2", at(16))
G2_CANCELLED = GatheringTime("g2", at(16), cancelled=True)
G3 = GatheringTime("g3", at(30))
G3_SAME_TIME = GatheringTime("g0", at(30))


@pytest.mark.parametrize(("made_at", "calendar", "due"), [
    (G1, [G1, G2, G3], "g2"),  # the next one
    (G1, [G3, G2, G1], "g2"),  # whatever the order given
    (G1, [G1, G2_CANCELLED, G3], "g3"),  # a cancelled one is passed over
    (G2, [G1, G2, G3], "g3"),
    (G3, [G1, G2, G3], None),  # nothing planned after: no due gathering
    (G1, [G1], None),
    (G1, [G1, G3, G3_SAME_TIME], "g0"),  # two at the same time: the same pick everywhere
    (G2, [G1, G2], None),  # an earlier gathering is never due
])
def test_a_follow_up_is_due_at_the_themes_next_gathering(
        made_at: GatheringTime, calendar: list[GatheringTime], due: str | None) -> None:
    found = due_gathering(made_at, calendar)
    assert (found.id if found else None) == due


@pytest.mark.parametrize(("status", "now", "overdue"), [
    (Status.OPEN, at(15), False),
    (Status.OPEN, at(16), True),  # the due gathering has started
    (Status.DOING, at(20), True),
    (Status.DONE, at(20), False),
    (Status.DROPPED, at(20), False),
])
def test_an_unfinished_follow_up_is_overdue_once_its_gathering_starts(
        status: Status, now: datetime, overdue: bool) -> None:
    assert is_overdue(status, G2.starts_at, now) is overdue


def test_without_a_due_gathering_nothing_is_overdue() -> None:
    assert not is_overdue(Status.OPEN, None, at(30))


OP, D, F, X = Status.OPEN, Status.DOING, Status.DONE, Status.DROPPED


@pytest.mark.parametrize(("old", "new", "allowed"), [
    (OP, OP, True), (OP, D, True), (OP, F, True), (OP, X, True),
    (D, OP, True), (D, D, True), (D, F, True), (D, X, True),
    (F, OP, True), (F, F, True), (F, D, False), (F, X, False),  # reopen before anything else
    (X, OP, True), (X, X, True), (X, D, False), (X, F, False),
])
def test_the_allowed_status_changes(old: Status, new: Status, allowed: bool) -> None:
    assert may_change_status(old, new) is allowed


ASKVIK, BREKKE = 1, 2


@pytest.mark.parametrize(("role", "own", "owner", "allowed"), [
    (Role.FACILITATOR, None, ASKVIK, True),
    (Role.PROGRAMME_LEAD, None, BREKKE, True),
    (Role.PARTICIPANT, ASKVIK, ASKVIK, True),  # their own municipality
    (Role.PARTICIPANT, ASKVIK, BREKKE, False),  # another one
    (Role.PARTICIPANT, None, ASKVIK, False),  # without a municipality
    (Role.EXPERT, ASKVIK, ASKVIK, False),  # experts and observers read
    (Role.OBSERVER, ASKVIK, ASKVIK, False),
    (None, ASKVIK, ASKVIK, False),  # not in the theme
])
def test_who_may_make_and_update_a_follow_up(role: Role | None, own: int | None, owner: int,
                                             allowed: bool) -> None:
    assert may_create(role, own_municipality=own, owner_municipality=owner) is allowed
    assert may_update(role, own_municipality=own, owner_municipality=owner) is allowed


@pytest.mark.parametrize(("link", "valid"), [
    ("", True),
    ("https://kommune.no/rapport.pdf", True),
    ("http://example.org/a?b=c", True),
    ("javascript:alert(1)", False),
    ("ftp://example.org/file", False),
    ("https://", False),
    ("example.org/file", False),
    ("https://example.org/a b", False),
    ("https://example.org/" + "a" * 500, False),
])
def test_a_file_link_is_an_http_address(link: str, valid: bool) -> None:
    assert valid_link(link) is valid


DUE = G2.starts_at
REMIND = DUE - timedelta(days=REMINDER_DAYS)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(("now", "expected"), [
    (REMIND - SECOND, {}),  # not yet
    (REMIND, {("g2", ASKVIK): (1, 2), ("g2", BREKKE): (4,)}),
    (DUE - SECOND, {("g2", ASKVIK): (1, 2), ("g2", BREKKE): (4,)}),
    (DUE, {}),  # the gathering has started: too late to remind
])
def test_the_reminder_goes_out_some_days_before_to_owners_with_unfinished_follow_ups(
        now: datetime, expected: dict[tuple[str, int], tuple[int, ...]]) -> None:
    follow_ups = [
        Pending(2, ASKVIK, Status.DOING, G2),
        Pending(1, ASKVIK, Status.OPEN, G2),
        Pending(3, BREKKE, Status.DONE, G2),  # done: no reminder for it
        Pending(4, BREKKE, Status.OPEN, G2),
        Pending(5, BREKKE, Status.DROPPED, G2),
        Pending(6, ASKVIK, Status.OPEN, None),  # no due gathering: nothing to remind of
        Pending(7, ASKVIK, Status.OPEN, G3),  # due later: its own window
        Pending(8, BREKKE, Status.OPEN, G2_CANCELLED),
    ]
    assert reminders_due(follow_ups, now) == expected


# --- the agenda item that lists them -----------------------------------------------------------

AGENDA = (AgendaSlot(1, "Velkommen", "welcome", 10), AgendaSlot(2, "Deling", "plenary", 20))


@pytest.mark.parametrize(("kind", "listed"), [
    ("plenary", True), ("breakout", True), ("welcome", False), ("expert_talk", False),
])
def test_a_plenary_or_breakout_item_may_list_the_follow_ups(kind: str, listed: bool) -> None:
    state = GatheringState(gathering_id="g1", agenda=AGENDA)
    command = p.AddItem(kind, "Oppfølging", 15, follow_ups=True)
    if listed:
        added = deciding.run(state, deciding.FRIDA, command)[0].agenda[-1]
        assert added.follow_ups
    else:
        assert "follow-ups" in deciding.rejected(state, deciding.FRIDA, command).reason


def test_an_item_that_changes_kind_no_longer_lists_the_follow_ups() -> None:
    state = GatheringState(gathering_id="g1", agenda=AGENDA)
    state = deciding.run(state, deciding.FRIDA, p.UpdateItem(2, follow_ups=True))[0]
    assert state.agenda[1].follow_ups
    state = deciding.run(state, deciding.FRIDA, p.UpdateItem(2, kind="break"))[0]
    assert not state.agenda[1].follow_ups
