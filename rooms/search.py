"""The archive's search: one module, two back ends (PostgreSQL full-text search with the
`norwegian` configuration; SQLite FTS5 over stems made by rooms/fulltext.py), behind one
function. Every area that writes something findable calls `index` (or `unindex`) in the
same transaction as its write.

- PostgreSQL matches and ranks the generated column `fulltext` that its GIN index holds
  (migration 0007): the `norwegian` tsvector of the title (weight A) and the body
  (weight B), `ts_rank`.
- SQLite matches the FTS5 table `search_fts` (the stems of title and body, kept in step
  with `search_docs` by triggers, so every write to search_docs, a privacy erasure's
  scrub included, reaches it) and ranks by `bm25` with the title weighted 10 to 1.
- Ties, and near-ties the two rankings could order differently, fall back to the newest
  first: the same fixed corpus gives the same top results on both (tests/rooms/
  test_search.py).
- Who may read what is facilitation/reading.py; its `Scope` becomes the query's WHERE,
  never a filter on the results. A recording is found only while it is ready to download.
- Snippets are made here, alike for both back ends: the body's words around the first
  match, escaped, the matched words in <mark>."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import (
    JSON,
    ColumnElement,
    and_,
    bindparam,
    cast,
    column,
    delete,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitation.reading import Reader, Scope, scope
from facilitation.roles import Role
from rooms.forum_models import SearchDoc
from rooms.fulltext import (
    MAX_QUERY_CHARS,
    WORD,
    Term,
    fts5_query,
    matches,
    normal,
    parse_query,
    tsquery,
)
from rooms.models import Gathering, Membership, Person, Recording, Theme

MAX_TITLE_CHARS = 300
MAX_BODY_CHARS = 100_000
MAX_LIMIT = 50
SNIPPET_BEFORE, SNIPPET_WORDS = 10, 32
READY = "ready"  # recordings.archive.READY (rooms may not import recordings/)

# Names the database holds besides the models' (migration 0007): the FTS5 table with its
# shadow tables on SQLite; on PostgreSQL the generated tsvector column `fulltext` and its
# GIN index. Schema comparisons (tests/rooms/test_store.py, Alembic's autogenerate) leave
# them be. (The column is stored rather than an expression index: ts_rank over an
# expression index re-parses the body of every match, ~400 ms for a common word in the
# benchmark's archive; bench/search.py.)
FTS_TABLE = "search_fts"
FULLTEXT_INDEX = "ix_search_docs_fulltext"
PG_COLUMN = "fulltext"
PG_VECTOR = f"search_docs.{PG_COLUMN}"
SQLITE_RANK = "bm25(search_fts, 10.0, 1.0)"
PG_RANK_NORMALIZATION = 1  # ts_rank: divided by 1 + the logarithm of the length


def outside_models(name: str | None) -> bool:
    """Whether a table, column or index is the full-text machinery, not the models'."""
    return name is not None and (name in (FULLTEXT_INDEX, FTS_TABLE, PG_COLUMN)
                                 or name.startswith(FTS_TABLE + "_"))


@dataclass(frozen=True)
class Findable:
    """One thing the archive finds. `kind`: summary, note, question, help, answer,
    announcement, reply, recording; `ref` its key within the kind; `url` the exact place
    (with an #anchor); who may read it: see SearchDoc. `state`: where it stands, when that
    is worth showing (a question answered or open...)."""

    kind: str
    ref: str
    title: str
    body: str
    url: str
    year: int
    created_at: datetime
    theme_id: int | None
    gathering_id: str | None = None
    stage: str | None = None
    tags: tuple[str, ...] = ()
    audience: tuple[int, ...] = ()
    state: str | None = None


async def index(session: AsyncSession, item: Findable) -> None:
    """Add `item` to the archive, or replace what was indexed under its kind and ref."""
    row = await session.scalar(select(SearchDoc).where(
        SearchDoc.kind == item.kind, SearchDoc.ref == item.ref))
    if row is None:
        row = SearchDoc(kind=item.kind, ref=item.ref)
        session.add(row)
    row.title = normal(item.title)[:MAX_TITLE_CHARS]
    row.body = normal(item.body)[:MAX_BODY_CHARS]
    row.url, row.year, row.state = item.url, item.year, item.state
    row.created_at, row.theme_id, row.gathering_id = item.created_at, item.theme_id, \
        item.gathering_id
    row.stage, row.tags, row.audience = item.stage, list(item.tags), list(item.audience)
    await session.flush()


async def unindex(session: AsyncSession, kind: str, ref: str) -> None:
    await session.execute(delete(SearchDoc).where(SearchDoc.kind == kind, SearchDoc.ref == ref))


async def rebuild_fulltext(session: AsyncSession) -> None:
    """SQLite: make the FTS5 table again from search_docs (PostgreSQL's index needs
    nothing)."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text(f"DELETE FROM {FTS_TABLE}"))
        await session.execute(text(
            f"INSERT INTO {FTS_TABLE}(rowid, title, body) SELECT id, forum_fts_text(title), "
            "forum_fts_text(body) FROM search_docs"))


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    kind: str
    title: str
    snippet: Markup
    url: str
    theme: str | None  # the theme's name; None: every theme
    year: int
    gathering: str | None  # the gathering's title
    state: str | None
    created_at: datetime


async def reader_of(session: AsyncSession, person: Person) -> Reader:
    rows = await session.execute(select(Membership.theme_id, Membership.role).where(
        Membership.person_id == person.id))
    return Reader(lead=person.is_programme_lead, municipality_id=person.municipality_id,
                  roles={theme_id: Role(role) for theme_id, role in rows})


def _json_has(dialect: str, values: Any, value: int | str) -> ColumnElement[bool]:
    """Whether the JSON list `values` holds `value`."""
    if dialect == "postgresql":
        return cast(values, JSONB).contains(cast(literal([value], JSON), JSONB))
    each = func.json_each(values).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == value))


def readable(dialect: str, can: Scope) -> ColumnElement[bool]:
    """`Scope.admits` as SQL over search_docs."""
    if can.everything:
        return true()
    open_to_all = func.json_array_length(SearchDoc.audience) == 0
    in_audience = (or_(open_to_all, _json_has(dialect, SearchDoc.audience, can.municipality_id))
                   if can.municipality_id is not None else open_to_all)
    parts: list[ColumnElement[bool]] = []
    if can.whole:
        parts.append(SearchDoc.theme_id.in_(sorted(can.whole)))
    if can.audienced:
        parts.append(and_(SearchDoc.theme_id.in_(sorted(can.audienced)), in_audience))
    if can.common_whole:
        parts.append(SearchDoc.theme_id.is_(None))
    elif can.common_audienced:
        parts.append(and_(SearchDoc.theme_id.is_(None), in_audience))
    return or_(*parts) if parts else false()


async def search(sessions: async_sessionmaker, reader: Person, query: str, *,
                 theme_id: int | None = None, year: int | None = None,
                 stage: str | None = None, tag: str | None = None,
                 kinds: Collection[str] | None = None, limit: int = 20,
                 offset: int = 0) -> list[Hit]:
    """What `reader` may read that matches `query` (every word of it), best first."""
    terms = parse_query(query[:MAX_QUERY_CHARS])
    if not terms:
        return []
    async with sessions() as session:
        dialect = session.get_bind().dialect.name
        can = scope(await reader_of(session, reader))
        if can.nothing:
            return []
        docs = SearchDoc.__table__
        rank: ColumnElement[Any]
        if dialect == "postgresql":
            vector: ColumnElement[Any] = literal_column(PG_VECTOR)
            wanted = func.to_tsquery(literal_column("'norwegian'::regconfig"),
                                     bindparam("q", tsquery(terms)))
            rank = func.ts_rank(vector, wanted, PG_RANK_NORMALIZATION)
            found = select(docs).where(vector.op("@@")(wanted))
            best = rank.desc()
        else:
            fts = table(FTS_TABLE, column("rowid"))
            rank = literal_column(SQLITE_RANK)
            found = (select(docs).select_from(docs.join(fts, fts.c.rowid == SearchDoc.id))
                     .where(text(f"{FTS_TABLE} MATCH :q").bindparams(q=fts5_query(terms))))
            best = rank.asc()
        conditions = [readable(dialect, can), or_(SearchDoc.kind != "recording", exists(
            select(Recording.id).where(Recording.id == SearchDoc.ref,
                                       Recording.status == READY)))]
        if theme_id is not None:
            conditions.append(SearchDoc.theme_id == theme_id)
        if year is not None:
            conditions.append(SearchDoc.year == year)
        if stage:
            conditions.append(SearchDoc.stage == stage)
        if tag:
            conditions.append(_json_has(dialect, SearchDoc.tags, tag))
        if kinds:
            conditions.append(SearchDoc.kind.in_(sorted(kinds)))
        ranked = (found.where(*conditions).add_columns(rank.label("rank"))
                  .order_by(best, SearchDoc.created_at.desc(), SearchDoc.id.desc())
                  .limit(max(1, min(limit, MAX_LIMIT))).offset(max(0, offset))
                  .subquery())
        rows = (await session.execute(
            select(ranked, Theme.name.label("theme_name"), Gathering.title.label("g_title"))
            .outerjoin(Theme, Theme.id == ranked.c.theme_id)
            .outerjoin(Gathering, Gathering.id == ranked.c.gathering_id)
            .order_by(ranked.c.rank.desc() if dialect == "postgresql" else ranked.c.rank,
                      ranked.c.created_at.desc(), ranked.c.id.desc()))).all()
    return [Hit(kind=r.kind, title=r.title, snippet=snippet(r.body, terms), url=r.url,
                theme=r.theme_name, year=r.year, gathering=r.g_title, state=r.state,
                created_at=r.created_at) for r in rows]


def snippet(body: str, terms: Sequence[Term], *, before: int = SNIPPET_BEFORE,
            length: int = SNIPPET_WORDS) -> Markup:
    """The body's words around the first that matches, escaped, matches marked."""
    found = list(WORD.finditer(body))
    if not found:
        return Markup("")
    hits = [i for i, m in enumerate(found) if matches(m.group().lower(), tuple(terms))]
    first = max(0, hits[0] - before) if hits else 0
    last = min(len(found), first + length) - 1
    start, end = found[first].start(), found[last].end()
    marked = {i for i in hits if first <= i <= last}
    out = [Markup("… ") if first else Markup("")]
    at = start
    for i in range(first, last + 1):
        if i in marked:
            m = found[i]
            out += [escape(body[at:m.start()]), Markup("<mark>"), escape(m.group()),
                    Markup("</mark>")]
            at = m.end()
    out += [escape(body[at:end]), Markup(" …") if last < len(found) - 1 else Markup("")]
    return Markup("").join(out)
