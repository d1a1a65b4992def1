"""Who may read, reply to, post and delete the theme forum's announcements: the pure rules
of facilitation/forum_rights.py, as tables."""

from __future__ import annotations

import pytest

from facilitation.forum_rights import (
    may_delete_post,
    may_post_announcement,
    may_read_announcement,
    may_reply,
)
from facilitation.roles import Role

LEAD, FAC, PART = Role.PROGRAMME_LEAD, Role.FACILITATOR, Role.PARTICIPANT
EXP, OBS, SYS = Role.EXPERT, Role.OBSERVER, Role.SYSTEM
ASKVIK, BREKKE, CEDER = 1, 2, 3


@pytest.mark.parametrize(("role", "municipality", "audience", "reads"), [
    # the whole theme: every member, whatever their role or municipality
    (PART, ASKVIK, (), True),
    (PART, None, (), True),
    (EXP, None, (), True),
    (OBS, None, (), True),
    (FAC, None, (), True),
    (LEAD, None, (), True),
    # not a member of the theme: nothing
    (None, ASKVIK, (), False),
    (None, ASKVIK, (ASKVIK,), False),
    (SYS, None, (), False),
    # chosen municipalities: the members from them...
    (PART, ASKVIK, (ASKVIK,), True),
    (PART, ASKVIK, (BREKKE, ASKVIK), True),
    (OBS, ASKVIK, (ASKVIK,), True),
    # ...and no one else among the members
    (PART, BREKKE, (ASKVIK,), False),
    (PART, None, (ASKVIK,), False),
    (EXP, None, (ASKVIK, BREKKE), False),
    (EXP, CEDER, (ASKVIK, BREKKE), False),
    # the runners always read everything in their theme
    (FAC, None, (ASKVIK,), True),
    (FAC, CEDER, (ASKVIK,), True),
    (LEAD, None, (ASKVIK, BREKKE), True),
])
def test_who_reads_an_announcement(role: Role | None, municipality: int | None,
                                   audience: tuple[int, ...], reads: bool) -> None:
    assert may_read_announcement(role, municipality, audience) is reads
    assert may_reply(role, municipality, audience) is reads  # the same people reply


@pytest.mark.parametrize(("role", "every_theme", "posts"), [
    (FAC, False, True),
    (LEAD, False, True),
    (PART, False, False),
    (EXP, False, False),
    (OBS, False, False),
    (None, False, False),
    (SYS, False, False),
    (LEAD, True, True),  # only the lead writes to every theme
    (FAC, True, False),
    (PART, True, False),
    (None, True, False),
])
def test_who_posts_an_announcement(role: Role | None, every_theme: bool, posts: bool) -> None:
    assert may_post_announcement(role, every_theme=every_theme) is posts


@pytest.mark.parametrize(("role", "is_author", "deletes"), [
    (PART, True, True),  # one's own reply
    (PART, False, False),  # someone else's
    (OBS, True, True),
    (EXP, False, False),
    (FAC, False, True),  # a runner tidies the theme
    (LEAD, False, True),
    (None, True, False),  # an author no longer in the theme
    (SYS, True, False),
])
def test_who_deletes_a_post(role: Role | None, is_author: bool, deletes: bool) -> None:
    assert may_delete_post(role, is_author=is_author) is deletes
