"""Who may read what in the archive: a table of readers and things, and the query scope
checked against the rule for every combination."""

from __future__ import annotations

from itertools import product

import pytest

from facilitation.reading import Reader, may_read, scope
from facilitation.roles import Role

MAT, AREAL = 1, 2
ASKVIK, BREKKE = 10, 20

LEAD = Reader(lead=True, municipality_id=None, roles={})
FACILITATOR = Reader(lead=False, municipality_id=None, roles={MAT: Role.FACILITATOR})
ALICE = Reader(lead=False, municipality_id=ASKVIK, roles={MAT: Role.PARTICIPANT})
OUTSIDER = Reader(lead=False, municipality_id=BREKKE, roles={AREAL: Role.PARTICIPANT})
OBSERVER = Reader(lead=False, municipality_id=None, roles={MAT: Role.OBSERVER})
EXPERT = Reader(lead=False, municipality_id=None, roles={MAT: Role.EXPERT})
NOBODY = Reader(lead=False, municipality_id=ASKVIK, roles={})
BOTH = Reader(lead=False, municipality_id=BREKKE,
              roles={MAT: Role.PARTICIPANT, AREAL: Role.FACILITATOR})

THINGS = {  # name: (theme, audience)
    "mat, everyone": (MAT, ()),
    "mat, Askvik only": (MAT, (ASKVIK,)),
    "areal, everyone": (AREAL, ()),
    "all themes": (None, ()),
    "all themes, Brekke only": (None, (BREKKE,)),
}

TABLE = {  # reader: the things they read
    "lead": (LEAD, set(THINGS)),
    "facilitator": (FACILITATOR, {"mat, everyone", "mat, Askvik only", "all themes",
                                  "all themes, Brekke only"}),
    "participant in the audience": (ALICE, {"mat, everyone", "mat, Askvik only",
                                            "all themes"}),
    "participant of another theme": (OUTSIDER, {"areal, everyone", "all themes",
                                                "all themes, Brekke only"}),
    "observer": (OBSERVER, {"mat, everyone", "all themes"}),
    "expert": (EXPERT, {"mat, everyone", "all themes"}),
    "no member": (NOBODY, set()),
    "participant here, facilitator there": (BOTH, {"mat, everyone", "areal, everyone",
                                                   "all themes", "all themes, Brekke only"}),
}


@pytest.mark.parametrize("who", TABLE)
def test_each_reader_reads_exactly_their_things(who: str) -> None:
    reader, expected = TABLE[who]
    read = {name for name, (theme, audience) in THINGS.items()
            if may_read(reader, theme, audience)}
    assert read == expected


@pytest.mark.parametrize(("who", "thing"), list(product(TABLE, THINGS)))
def test_the_query_scope_admits_what_the_rule_allows(who: str, thing: str) -> None:
    reader, _ = TABLE[who]
    theme, audience = THINGS[thing]
    assert scope(reader).admits(theme, audience) == may_read(reader, theme, audience)


def test_a_reader_of_no_theme_has_an_empty_scope() -> None:
    assert scope(NOBODY).nothing
    assert not scope(ALICE).nothing
