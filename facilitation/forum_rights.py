"""Who may do what with the theme forum's announcements: pure rules, no I/O. The caller
says who the reader is (their role in the announcement's theme, or their best role in any
theme for an announcement to every theme) and which municipality they are from.

- An announcement is for a theme's members; one to chosen municipalities (`audience` not
  empty) only for the members from those municipalities. The facilitators and the lead
  (the runners) always read everything: they must see what was said in their theme.
- Whoever may read an announcement may reply under it; the reply is read by the same
  people.
- A theme's runners (its facilitators, the programme lead) post to the theme or to chosen
  municipalities of it; only the programme lead posts to every theme.
- The author and the theme's runners may delete an announcement or a reply.
"""

from __future__ import annotations

from collections.abc import Collection

from facilitation.roles import RUNNERS, Role


def may_read_announcement(role: Role | None, municipality_id: int | None,
                          audience: Collection[int]) -> bool:
    """`role`: the reader's role in the announcement's theme (None: not a member);
    `audience`: the municipalities it is for (empty: the whole theme)."""
    if role is None or role is Role.SYSTEM:
        return False
    if role in RUNNERS or not audience:
        return True
    return municipality_id is not None and municipality_id in audience


def may_reply(role: Role | None, municipality_id: int | None,
              audience: Collection[int]) -> bool:
    return may_read_announcement(role, municipality_id, audience)


def may_post_announcement(role: Role | None, *, every_theme: bool) -> bool:
    """`role`: the author's role in the theme (for `every_theme`, whether they are the
    programme lead: Role.PROGRAMME_LEAD, else anything)."""
    if every_theme:
        return role is Role.PROGRAMME_LEAD
    return role in RUNNERS


def may_delete_post(role: Role | None, *, is_author: bool) -> bool:
    """An announcement or a reply: its author (while still a member) or a runner."""
    if role is None or role is Role.SYSTEM:
        return False
    return is_author or role in RUNNERS
