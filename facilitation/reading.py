"""Who may read what in the archive (search): pure rules, no I/O.

A findable thing belongs to a theme (`theme_id`), or to every theme (None: the lead's
announcements to all themes), and may be meant only for some municipalities (`audience`,
empty: everyone the theme is for). The rule is the announcements' (facilitation/
forum_rights.py `may_read_announcement`), applied to everything the archive holds:

- The programme lead reads everything.
- A theme's members read its things; of those meant for chosen municipalities, only the
  members from those municipalities do. The theme's facilitators read them all.
- Something for every theme is read by everyone who is a member of some theme (as a
  facilitator somewhere, whole; else by the audience rule).
- Nobody else reads anything.

`scope` turns a reader into the few sets a database query needs (rooms/search.py builds
its SQL condition from a `Scope`, never filtering rows afterwards); `Scope.admits` is the
same condition in Python, and the table test checks it against `may_read` for every
combination."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from facilitation.forum_rights import may_read_announcement
from facilitation.roles import RUNNERS, Role


@dataclass(frozen=True)
class Reader:
    lead: bool
    municipality_id: int | None
    roles: Mapping[int, Role]  # theme id -> the reader's role in it


def role_for(reader: Reader, theme_id: int | None) -> Role | None:
    """The reader's role for a thing of `theme_id` (None: of every theme: their best role
    in any theme)."""
    if reader.lead:
        return Role.PROGRAMME_LEAD
    if theme_id is not None:
        return reader.roles.get(theme_id)
    roles = set(reader.roles.values())
    if roles & RUNNERS:
        return Role.FACILITATOR
    return Role.PARTICIPANT if roles else None


def may_read(reader: Reader, theme_id: int | None, audience: Collection[int]) -> bool:
    return may_read_announcement(role_for(reader, theme_id), reader.municipality_id, audience)


@dataclass(frozen=True)
class Scope:
    """What a reader reads, as a query needs it: everything; or the things of `whole`
    themes; of `audienced` themes those with no audience or an audience holding
    `municipality_id`; of every theme (theme None) all when `common_whole`, else by the
    audience rule when `common_audienced`."""

    everything: bool = False
    whole: frozenset[int] = frozenset()
    audienced: frozenset[int] = frozenset()
    common_whole: bool = False
    common_audienced: bool = False
    municipality_id: int | None = None

    @property
    def nothing(self) -> bool:
        return not (self.everything or self.whole or self.audienced or self.common_whole
                    or self.common_audienced)

    def admits(self, theme_id: int | None, audience: Collection[int]) -> bool:
        if self.everything:
            return True
        in_audience = not audience or (self.municipality_id is not None
                                       and self.municipality_id in audience)
        if theme_id is None:
            return self.common_whole or (self.common_audienced and in_audience)
        return theme_id in self.whole or (theme_id in self.audienced and in_audience)


def scope(reader: Reader) -> Scope:
    if reader.lead:
        return Scope(everything=True)
    common = role_for(reader, None)
    return Scope(
        whole=frozenset(t for t, r in reader.roles.items() if r in RUNNERS),
        audienced=frozenset(t for t, r in reader.roles.items()
                            if r not in RUNNERS and r is not Role.SYSTEM),
        common_whole=common in RUNNERS,
        common_audienced=common is not None and common not in RUNNERS,
        municipality_id=reader.municipality_id)
