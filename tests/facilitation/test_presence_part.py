"""Who a participant of a large room sees by name (facilitation/snapshot.py)."""

from __future__ import annotations

from typing import Any

import pytest

from facilitation.snapshot import named_to, presence_part


def entry(person_id: int, municipality: str | None, role: str = "participant") -> dict[str, Any]:
    return {"person_id": person_id, "name": f"P{person_id}", "municipality": municipality,
            "role": role, "stage": None, "tags": []}


@pytest.mark.parametrize(("person", "named"), [
    (entry(1, "Askvik kommune"), True),  # my own municipality
    (entry(2, "Brekke kommune"), False),
    (entry(3, None), False),
    (entry(4, None, "facilitator"), True),  # who runs it
    (entry(5, "Brekke kommune", "expert"), True),  # who speaks
    (entry(6, "Brekke kommune", "programme_lead"), True),
    (entry(7, "Brekke kommune", "observer"), False),
])
def test_a_participant_of_askvik_sees_by_name(person: dict[str, Any], named: bool) -> None:
    assert named_to(person, "Askvik kommune") is named


def test_the_rest_are_counted_by_municipality_in_arrival_order() -> None:
    people = [entry(1, "Askvik kommune"), entry(2, "Brekke kommune"), entry(3, None),
              entry(4, None, "facilitator"), entry(5, "Brekke kommune")]
    named, others = presence_part(people, "Askvik kommune")
    assert [p["person_id"] for p in named] == [1, 4]
    assert others == {"Brekke kommune": [2, 5], "": [3]}


def test_someone_without_a_municipality_sees_their_like_by_name() -> None:
    named, others = presence_part([entry(3, None), entry(2, "Brekke kommune")], None)
    assert [p["person_id"] for p in named] == [3]
    assert others == {"Brekke kommune": [2]}
