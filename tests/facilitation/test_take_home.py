"""What a participant brings home, as tables: their groups, whom they may name, their
questions, what a recording covers, and when a share link works."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from facilitation.history import BreakoutRound, ItemRun
from facilitation.state import (
    AgendaSlot,
    BreakoutPlan,
    Group,
    Member,
    PersonRef,
    Question,
    QuestionStatus,
)
from facilitation.take_home import (
    MAX_DAYS,
    LinkState,
    Peer,
    UnnamedPeers,
    covers,
    expiry,
    groups_of,
    item_at,
    link_state,
    peers_met,
    questions_of,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ALICE, BJORN, CARL, DINA, EVA = 1, 2, 3, 4, 5


def member(pid: int, place: str | None = None) -> Member:
    return Member(pid, f"Person {pid}", place)


def group(gid: str, *members: Member) -> Group:
    return Group(gid, f"Gruppe {gid}", tuple(members))


def round_(n: int, *groups: Group) -> BreakoutRound:
    return BreakoutRound(n, 10 + n, BreakoutPlan(task=f"Oppgave {n}"), groups, 0.0)


ROUNDS = (
    round_(1, group("g1", member(ALICE, "Askvik"), member(BJORN, "Brekke")),
           group("g2", member(CARL, "Brekke"), member(DINA))),
    round_(2, group("g1", member(BJORN, "Brekke"), member(CARL, "Brekke")),
           group("g2", member(ALICE, "Askvik"), member(CARL, "Brekke"), member(DINA))),
)


@pytest.mark.parametrize(("person", "expected"), [
    (ALICE, [(1, "g1"), (2, "g2")]),
    (BJORN, [(1, "g1"), (2, "g1")]),
    (EVA, []),  # never in a group
])
def test_the_groups_a_person_was_in(person: int, expected: list[tuple[int, str]]) -> None:
    taken = groups_of(ROUNDS, person)
    assert [(t.round, t.group.id) for t in taken] == expected
    assert all(t.task == f"Oppgave {t.round}" and t.item_id == 10 + t.round for t in taken)


@pytest.mark.parametrize(("person", "consenting", "named", "unnamed"), [
    # met Bjørn, then Carl and Dina; each once, in order of meeting
    (ALICE, {BJORN, CARL, DINA}, [BJORN, CARL, DINA], []),
    (ALICE, {CARL}, [CARL], [("Brekke", 1), (None, 1)]),
    (ALICE, set(), [], [("Brekke", 2), (None, 1)]),
    (ALICE, {ALICE}, [], [("Brekke", 2), (None, 1)]),  # one's own consent names nobody else
    (EVA, {ALICE, BJORN}, [], []),
])
def test_peers_are_named_only_with_their_consent(
        person: int, consenting: set[int], named: list[int],
        unnamed: list[tuple[str | None, int]]) -> None:
    met = peers_met((t.group for t in groups_of(ROUNDS, person)), person, frozenset(consenting))
    assert [p.person_id for p in met.named] == named
    assert met.unnamed == tuple(UnnamedPeers(place, n) for place, n in unnamed)
    assert all(isinstance(p, Peer) for p in met.named)


def question(qid: int, asker: int, voters: set[int], status: QuestionStatus,
             anonymous: bool = False) -> Question:
    author = None if anonymous else PersonRef(asker, f"Person {asker}", None)
    return Question(qid, f"Spørsmål {qid}", 0.0, author, asker, frozenset(voters), status)


QUESTIONS = (
    question(1, ALICE, set(), QuestionStatus.OPEN),
    question(2, BJORN, {ALICE, CARL}, QuestionStatus.ANSWERED),
    question(3, CARL, {BJORN}, QuestionStatus.ANSWERED),
    question(4, ALICE, {BJORN}, QuestionStatus.HIDDEN),  # a moderator took it away
    question(5, ALICE, set(), QuestionStatus.ANSWERED, anonymous=True),
)


@pytest.mark.parametrize(("person", "expected"), [
    (ALICE, [(1, True, False, False), (2, False, True, True), (5, True, False, True)]),
    (BJORN, [(2, True, False, True), (3, False, True, True)]),
    (DINA, []),
])
def test_the_questions_a_person_asked_or_voted_for(
        person: int, expected: list[tuple[int, bool, bool, bool]]) -> None:
    assert [(t.question.id, t.asked, t.voted, t.answered)
            for t in questions_of(QUESTIONS, person)] == expected


ITEMS = (
    ItemRun(AgendaSlot(1, "Velkommen", "welcome", 10), started_at=100.0, seconds=600),
    ItemRun(AgendaSlot(2, "Innlegg", "expert_talk", 20), started_at=700.0, seconds=1200),
    ItemRun(AgendaSlot(3, "Grupperom", "breakout", 25), started_at=1900.0, seconds=1500),
    ItemRun(AgendaSlot(4, "Avslutning", "wrap_up", 5)),  # never ran
)


@pytest.mark.parametrize(("at", "title"), [
    (50.0, None), (100.0, "Velkommen"), (699.0, "Velkommen"), (700.0, "Innlegg"),
    (5000.0, "Grupperom"),
])
def test_the_item_running_at_a_moment(at: float, title: str | None) -> None:
    run = item_at(ITEMS, at)
    assert (run.slot.title if run else None) == title


@pytest.mark.parametrize(("start", "end", "at", "held"), [
    (0, 10, 5, True), (0, 10, 0, True), (0, 10, 10, True), (0, 10, 11, False),
    (5, 10, 4, False), (0, None, 99, True),  # still recording
])
def test_what_a_recording_holds(start: int, end: int | None, at: int, held: bool) -> None:
    minute = timedelta(minutes=1)
    assert covers(NOW + start * minute, None if end is None else NOW + end * minute,
                  NOW + at * minute) is held


@pytest.mark.parametrize(("expires", "revoked", "state"), [
    (timedelta(days=1), None, LinkState.ACTIVE),
    (timedelta(seconds=1), None, LinkState.ACTIVE),
    (timedelta(0), None, LinkState.EXPIRED),
    (timedelta(days=-1), None, LinkState.EXPIRED),
    (timedelta(days=1), timedelta(0), LinkState.REVOKED),
    (timedelta(days=-1), timedelta(days=-2), LinkState.REVOKED),
    (timedelta(days=1), timedelta(hours=1), LinkState.ACTIVE),  # revoked later (a fake clock)
])
def test_when_a_share_link_works(expires: timedelta, revoked: timedelta | None,
                                 state: LinkState) -> None:
    assert link_state(NOW + expires, None if revoked is None else NOW + revoked, NOW) is state


@pytest.mark.parametrize(("days", "ok"), [(1, True), (30, True), (MAX_DAYS, True),
                                          (0, False), (-3, False), (MAX_DAYS + 1, False)])
def test_a_share_link_lasts_one_to_ninety_days(days: int, ok: bool) -> None:
    if ok:
        assert expiry(NOW, days) == NOW + timedelta(days=days)
    else:
        with pytest.raises(ValueError):
            expiry(NOW, days)
