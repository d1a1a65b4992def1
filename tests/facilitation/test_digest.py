"""The rules of what is new for whom, and when the weekly digest goes: tables over readers,
items and a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from facilitation.digest import (
    Choice,
    Item,
    ItemKind,
    Reader,
    by_theme,
    digest_due,
    digest_items,
    digest_week,
    instant_items,
    may_read,
    unread,
)

MAT, AREAL = 1, 2
ASKVIK, BREKKE = 10, 11
NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)  # a Wednesday


def item(kind: ItemKind = ItemKind.HELP, *, ref: int = 1, theme: int | None = MAT,
         ago: timedelta = timedelta(minutes=5), author: int | None = 99,
         audience: frozenset[int] = frozenset(), emailed: bool = False) -> Item:
    return Item(kind, ref, theme, NOW - ago, author, f"{kind} {ref}", f"/x/{ref}",
                audience, emailed)


ALICE = Reader(1, frozenset({MAT}), ASKVIK, choice=Choice.INSTANT)  # participant, Askvik
BJORN = Reader(2, frozenset({MAT}), BREKKE)  # participant, Brekke, weekly
FRIDA = Reader(3, frozenset({MAT}), None, runs=frozenset({MAT}))  # facilitator of Mat
ULF = Reader(4, frozenset({AREAL}), BREKKE)  # participant in Areal only
PER = Reader(5, frozenset(), None, lead=True)  # programme lead
NEVER = Reader(6, frozenset({MAT}), ASKVIK, choice=Choice.NEVER)

TO_ASKVIK = frozenset({ASKVIK})


@pytest.mark.parametrize(("reader", "the_item", "readable"), [
    (ALICE, item(), True),
    (ULF, item(), False),  # another theme's
    (PER, item(theme=AREAL, audience=TO_ASKVIK), True),  # the lead reads everything
    (ALICE, item(ItemKind.ANNOUNCEMENT, audience=TO_ASKVIK), True),
    (BJORN, item(ItemKind.ANNOUNCEMENT, audience=TO_ASKVIK), False),  # not for Brekke
    (FRIDA, item(ItemKind.ANNOUNCEMENT, audience=TO_ASKVIK), True),  # runs the theme
    (BJORN, item(ItemKind.REPLY, audience=TO_ASKVIK), False),  # a reply shares its audience
    (ULF, item(ItemKind.ANNOUNCEMENT, theme=None), True),  # to every theme
    (ULF, item(ItemKind.ANNOUNCEMENT, theme=None, audience=TO_ASKVIK), False),
    (FRIDA, item(ItemKind.ANNOUNCEMENT, theme=None, audience=TO_ASKVIK), True),
    (Reader(7, frozenset({MAT})), item(audience=TO_ASKVIK), False),  # no municipality
])
def test_who_may_read_what(reader: Reader, the_item: Item, readable: bool) -> None:
    assert may_read(reader, the_item) is readable


@pytest.mark.parametrize(("seen_at", "ago", "author", "new"), [
    (None, timedelta(days=13), 99, True),  # first visit: the last 14 days are new
    (None, timedelta(days=15), 99, False),
    (NOW - timedelta(hours=1), timedelta(minutes=30), 99, True),
    (NOW - timedelta(hours=1), timedelta(hours=2), 99, False),  # seen already
    (NOW - timedelta(hours=1), timedelta(hours=1), 99, False),  # exactly at the visit
    (NOW - timedelta(hours=1), timedelta(minutes=30), ALICE.person_id, False),  # her own
])
def test_unread_is_what_came_after_the_last_visit(
        seen_at: datetime | None, ago: timedelta, author: int, new: bool) -> None:
    assert bool(unread(ALICE, [item(ago=ago, author=author)], seen_at, NOW)) is new


def test_unread_lists_oldest_first_and_only_what_the_reader_may_read() -> None:
    items = [item(ref=1, ago=timedelta(hours=1)), item(ref=2, ago=timedelta(hours=3)),
             item(ItemKind.ANNOUNCEMENT, ref=3, audience=frozenset({BREKKE}))]
    assert [i.ref for i in unread(ALICE, items, None, NOW)] == [2, 1]
    assert [i.ref for i in unread(BJORN, items, None, NOW)] == [2, 1, 3]


@pytest.mark.parametrize(("reader", "the_item", "mailed"), [
    (ALICE, item(), True),
    (ALICE, item(author=ALICE.person_id), False),  # her own
    (ALICE, item(ItemKind.ANNOUNCEMENT, emailed=True), False),  # she got that mail already
    (ALICE, item(ItemKind.ANNOUNCEMENT), True),
    (ALICE, item(ago=timedelta(hours=3)), False),  # older than the window
    (ALICE, item(ago=timedelta(minutes=-1)), False),  # not yet (a clock ahead)
    (BJORN, item(), False),  # weekly
    (NEVER, item(), False),
    (Reader(8, frozenset({MAT}), BREKKE, choice=Choice.INSTANT),
     item(ItemKind.REPLY, audience=TO_ASKVIK), False),  # not for Brekke
])
def test_who_gets_an_instant_mail(reader: Reader, the_item: Item, mailed: bool) -> None:
    assert bool(instant_items(reader, [the_item], NOW)) is mailed


@pytest.mark.parametrize(("now", "key", "due"), [
    # Monday 8 March 2027, 07:00 in Oslo is 06:00 UTC (winter time)
    (datetime(2027, 3, 8, 5, 59, tzinfo=UTC), "2027-W10", False),
    (datetime(2027, 3, 8, 6, 0, tzinfo=UTC), "2027-W10", True),
    (datetime(2027, 3, 14, 22, 59, tzinfo=UTC), "2027-W10", True),  # Sunday 23:59 Oslo
    (datetime(2027, 3, 14, 23, 0, tzinfo=UTC), "2027-W11", False),  # Monday 00:00 Oslo
    # summer time: 07:00 in Oslo is 05:00 UTC
    (datetime(2027, 6, 7, 5, 0, tzinfo=UTC), "2027-W23", True),
    (datetime(2027, 6, 7, 4, 59, tzinfo=UTC), "2027-W23", False),
    # the ISO year is not the calendar year at its edges
    (datetime(2027, 1, 1, 12, 0, tzinfo=UTC), "2026-W53", True),
    (datetime(2026, 12, 28, 6, 0, tzinfo=UTC), "2026-W53", True),
])
def test_the_weekly_digest_is_due_from_monday_seven_in_oslo(
        now: datetime, key: str, due: bool) -> None:
    assert digest_week(now).key == key
    assert (digest_due(now) is not None) is due


def test_a_digest_covers_the_seven_days_before_it_is_due_each_moment_once() -> None:
    week = digest_week(datetime(2027, 3, 10, 12, 0, tzinfo=UTC))
    start, end = week.covers
    assert start == datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
    assert end == week.due_at == datetime(2027, 3, 8, 6, 0, tzinfo=UTC)
    previous = digest_week(start)
    assert previous.covers[1] == start  # the weeks meet without a gap or an overlap

    def at(moment: datetime, ref: int) -> Item:
        return Item(ItemKind.HELP, ref, MAT, moment, 99, "t", "/u")
    items = [at(start, 1), at(end - timedelta(seconds=1), 2), at(end, 3),
             at(start - timedelta(seconds=1), 4)]
    assert [i.ref for i in digest_items(BJORN, items, week)] == [1, 2]
    assert [i.ref for i in digest_items(BJORN, items, previous)] == [4]
    assert digest_items(ALICE, items, week) == []  # instant: no digest
    assert digest_items(NEVER, items, week) == []


def test_the_digest_lists_every_readable_item_grouped_by_theme() -> None:
    week = digest_week(NOW)
    inside = week.due_at - timedelta(days=1)
    items = [Item(ItemKind.ANNOUNCEMENT, 1, MAT, inside, 99, "a", "/a", emailed=True),
             Item(ItemKind.ANNOUNCEMENT, 2, None, inside, 99, "b", "/b"),
             Item(ItemKind.HELP, 3, AREAL, inside, 99, "c", "/c"),
             Item(ItemKind.ANSWER, 4, MAT, inside, BJORN.person_id, "d", "/d")]
    listed = digest_items(BJORN, items, week)
    assert [i.ref for i in listed] == [1, 2]  # the e-mailed one too; not Areal; not his own
    assert by_theme(listed) == {MAT: [listed[0]], None: [listed[1]]}
