"""The archive's search on both databases (the `db` fixture: SQLite, then PostgreSQL) over
one fixed corpus (tests/data/search_corpus.json): the same top results for the same
queries, Norwegian stemming, who finds what (a test per role), the filters, and the
full-text index following every change of search_docs (a privacy erasure included)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.forum_models import SearchDoc
from rooms.models import Municipality, Person, Recording, Theme
from rooms.privacy import erase_person
from rooms.search import Findable, Hit, index, rebuild_fulltext, search, unindex
from tests.conftest import PG_ADMIN_URL, WAIT, migrated, service_missing
from tests.factories import World, build_world

CORPUS = json.loads((Path(__file__).parent.parent / "data" / "search_corpus.json")
                    .read_text(encoding="utf-8"))
DOCS = {doc["key"]: doc for doc in CORPUS["docs"]}
QUERIES = [(query["q"], query["top"]) for query in CORPUS["queries"]]
NEAR_TIES = {query["q"] for query in CORPUS["queries"] if query.get("tie")}
DAY0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass
class Archive:
    sessions: async_sessionmaker
    world: World

    async def keys(self, person: Person, query: str, **filters: Any) -> list[str]:
        return [key_of(hit) for hit in await search(self.sessions, person, query, **filters)]


def key_of(hit: Hit) -> str:
    return hit.url.rsplit("/", 1)[1]


async def load_corpus(sessions: async_sessionmaker, world: World) -> None:
    async with sessions() as session:
        themes = {t.slug: t.id for t in await session.scalars(select(Theme))}
        places = {m.name: m.id for m in await session.scalars(select(Municipality))}
        for key, doc in DOCS.items():
            if doc["kind"] == "recording":
                session.add(Recording(
                    id=key, gathering_id=world.gathering.id, person_name="Eva Ekspert",
                    consent_at=DAY0, started_at=DAY0, status=doc.get("recording", "ready")))
                await session.flush()
            await index(session, Findable(
                kind=doc["kind"], ref=key, title=doc["title"], body=doc["body"],
                url=f"/archive/{key}", year=doc["year"],
                created_at=DAY0 - timedelta(days=doc["age"]),
                theme_id=themes[doc["theme"]] if doc["theme"] else None,
                gathering_id=world.gathering.id if doc["kind"] == "recording" else None,
                stage=doc["stage"], tags=tuple(doc.get("tags", ())),
                audience=tuple(places[name] for name in doc.get("audience", ())),
                state=doc.get("state")))
        await session.commit()


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def archive(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Archive]:
    """The corpus loaded once per database for the tests that only read it (they run in
    the module's event loop: `READING`)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('archive') / 'forum.db'}"
        async with migrated(url) as sessions:
            yield await _loaded(sessions)
        return
    name = f"forum_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(PG_ADMIN_URL, timeout=WAIT)
    except (OSError, asyncpg.PostgresError) as error:
        service_missing("PostgreSQL", error)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        async with migrated(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}") as sessions:
            yield await _loaded(sessions)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _loaded(sessions: async_sessionmaker) -> Archive:
    world = await build_world(sessions)
    await load_corpus(sessions, world)
    return Archive(sessions, world)


@pytest.fixture
async def fresh(db: async_sessionmaker) -> Archive:
    """The corpus in a database of the test's own, for tests that change it."""
    return await _loaded(db)


READING = pytest.mark.asyncio(loop_scope="module")


# --- the same top results on both databases ----------------------------------------------------


@READING
async def test_the_fixed_corpus_gives_the_same_top_results_on_both_databases(
        archive: Archive) -> None:
    found = {query: (await archive.keys(archive.world.lead, query))[:3] for query, _ in QUERIES}
    expected = dict(QUERIES)
    for query in NEAR_TIES:
        found[query], expected[query] = sorted(found[query]), sorted(expected[query])
    assert found == expected


@READING
async def test_stemming_finds_every_inflection(archive: Archive) -> None:
    lead = archive.world.lead
    found = set(await archive.keys(lead, "kjøkkenene", limit=50))
    # kjøkken, kjøkkenet, kjøkkenene: the definite plural finds the indefinite singular
    assert {"kjokken-summary", "kjokkenet-note", "kjokkenene-help", "kjokken-answer"} <= found
    assert {"matsvinnet-question", "matsvinn-announcement"} <= set(
        await archive.keys(lead, "matsvinn", limit=50))
    assert "arealregnskapet-answer" in await archive.keys(lead, "arealregnskap")
    assert await archive.keys(lead, "og i det") == []  # only stop words: nothing


@READING
async def test_every_word_must_match(archive: Archive) -> None:
    both = await archive.keys(archive.world.lead, "matsvinn sykehjemmene", limit=50)
    assert both == ["reply-matsvinn"]


@READING
async def test_no_query_is_a_syntax_error(archive: Archive) -> None:
    for query in ['"', "'", "\\", "kjøkken*", "NEAR(a b)", "a OR", "AND", "-kjøkken",
                  "^kjøkken", "kjøkken:", "title:kjøkken", "(((", "!&|<->", "x" * 5000, "\x00",
                  "'); DROP TABLE search_docs; --", "🌱 kjøkkenet", "e-post", ""]:
        assert isinstance(await search(archive.sessions, archive.world.lead, query), list)
    assert "kjokkenet-note" in await archive.keys(archive.world.lead, '"kjøkkenet*"')


@READING
async def test_snippets_are_escaped_and_marked(archive: Archive) -> None:
    [hit] = await search(archive.sessions, archive.world.lead, "tomatsuppe")
    assert hit.title == "<b>Tomatsuppe</b>"  # plain text: the page escapes it
    assert str(hit.snippet) == ("Før &lt;script&gt;alert(1)&lt;/script&gt; <mark>tomatsuppe"
                                "</mark> &amp; &lt;img src=x&gt; etter")


# --- who finds what ---------------------------------------------------------------------------

# what "kjøkkenet" finds in the mat theme for all its members ("skolekjøkkenet", a
# compound, is not "kjøkkenet")
MAT_FOR_ALL = {"kjokken-summary", "kjokkenet-note", "kjokkenene-help", "kjokken-answer",
               "veiing-note"}


@READING
async def test_the_programme_lead_finds_everything(archive: Archive) -> None:
    found = set(await archive.keys(archive.world.lead, "kjøkkenet", limit=50))
    assert found == MAT_FOR_ALL | {"vekt-reply"}
    assert await archive.keys(archive.world.lead, "vektprosjektet") == [
        "askvik-announcement", "vekt-reply"]
    found = set(await archive.keys(archive.world.lead, "Brekke", limit=50))
    assert found == {"brekke-announcement", "brekke-all-themes"}


@READING
async def test_a_facilitator_finds_all_of_their_theme_and_nothing_of_another(
        archive: Archive) -> None:
    frida = archive.world.facilitator
    assert await archive.keys(frida, "vektprosjektet") == ["askvik-announcement", "vekt-reply"]
    assert await archive.keys(frida, "kjøkkenutstyr") == ["brekke-announcement"]
    assert set(await archive.keys(frida, "Brekke", limit=50)) == {
        "brekke-announcement", "brekke-all-themes"}
    assert await archive.keys(frida, "arealregnskap") == []


@READING
async def test_a_participant_of_another_theme_finds_only_that_theme_and_the_common(
        archive: Archive) -> None:
    ulf = archive.world.outsider  # areal, from Brekke
    assert await archive.keys(ulf, "kjøkkenene") == []
    assert set(await archive.keys(ulf, "arealregnskapet")) == {
        "arealregnskap-help", "arealregnskapet-answer"}
    # for every theme, and for Brekke of every theme; not Brekke's of the mat theme
    assert set(await archive.keys(ulf, "Brekke søknadsfristen tilskuddet")) == set()
    assert set(await archive.keys(ulf, "Brekke", limit=50)) == {"brekke-all-themes"}
    assert await archive.keys(ulf, "søknadsfristen") == ["all-themes-announcement"]


@READING
async def test_a_participant_outside_an_audience_does_not_find_what_was_meant_for_others(
        archive: Archive) -> None:
    alice = archive.world.alice  # mat, from Askvik
    assert "askvik-announcement" in await archive.keys(alice, "vektprosjektet", limit=50)
    assert "vekt-reply" in await archive.keys(alice, "vektene")
    assert await archive.keys(alice, "kjøkkenutstyr") == []  # for Brekke only
    assert await archive.keys(alice, "Brekke", limit=50) == []
    bjorn = archive.world.bjorn  # mat, from Brekke
    assert await archive.keys(bjorn, "vektprosjektet") == []
    assert await archive.keys(bjorn, "kjøkkenutstyr") == ["brekke-announcement"]
    assert set(await archive.keys(alice, "kjøkkenene", limit=50)) >= MAT_FOR_ALL


@READING
async def test_an_observer_reads_the_theme_but_not_what_is_meant_for_municipalities(
        archive: Archive) -> None:
    ola = archive.world.observer
    assert set(await archive.keys(ola, "kjøkkenet", limit=50)) == MAT_FOR_ALL
    assert await archive.keys(ola, "søknadsfristen") == ["all-themes-announcement"]
    assert await archive.keys(ola, "arealregnskap") == []


@READING
async def test_someone_of_no_theme_finds_nothing(archive: Archive) -> None:
    async with archive.sessions() as session:
        stranger = Person(email="fremmed@example.org", name="Frank Fremmed",
                          municipality_id=archive.world.alice.municipality_id)
        session.add(stranger)
        await session.commit()
    assert await archive.keys(stranger, "søknadsfristen") == []
    assert await archive.keys(stranger, "kjøkkenet") == []


async def test_a_recording_is_found_only_while_it_is_ready(fresh: Archive) -> None:
    archive = fresh
    lead = archive.world.lead
    assert await archive.keys(lead, "opptak") == ["skolekjokken-recording"]
    async with archive.sessions() as session:
        await session.execute(update(Recording).values(status="deleted"))
        await session.commit()
    assert await archive.keys(lead, "opptak") == []


# --- filters -----------------------------------------------------------------------------------


@READING
async def test_filters_by_theme_year_stage_tag_and_kind(archive: Archive) -> None:
    world, lead = archive.world, archive.world.lead
    assert set(await archive.keys(lead, "kommuner", theme_id=world.other_theme.id)) == {
        "matjord-note", "arealregnskap-help"}
    assert set(await archive.keys(lead, "matsvinn", year=2026, limit=50)) == {
        "matsvinnet-question", "matsvinn-announcement", "kjokkenene-help",
        "all-themes-announcement", "reply-matsvinn"}
    assert await archive.keys(lead, "kjøkkenet", stage="oppstart") == [
        "kjokkenene-help", "veiing-note"]
    assert await archive.keys(lead, "kjøkkenene", tag="skolekjøkken") == ["kjokkenene-help"]
    assert await archive.keys(lead, "kjøkkenene", tag="ukjent") == []
    assert set(await archive.keys(lead, "kjøkkenet", kinds=["answer", "help"])) == {
        "kjokkenene-help", "kjokken-answer"}


@READING
async def test_pages_of_results(archive: Archive) -> None:
    lead = archive.world.lead
    every = await archive.keys(lead, "kjøkkenet", limit=50)
    assert len(every) > 4
    assert await archive.keys(lead, "kjøkkenet", limit=2) == every[:2]
    assert await archive.keys(lead, "kjøkkenet", limit=2, offset=2) == every[2:4]


# --- the index follows search_docs -------------------------------------------------------------


async def test_reindexing_and_unindexing(fresh: Archive) -> None:
    archive = fresh
    lead, sessions = archive.world.lead, archive.sessions
    async with sessions() as session:
        doc = DOCS["kompost-note"]
        await index(session, Findable(
            kind="note", ref="kompost-note", title=doc["title"], body="Nå handler det om honning.",
            url="/archive/kompost-note", year=2023, created_at=DAY0, theme_id=None))
        await session.commit()
    assert await archive.keys(lead, "komposten") == []
    assert await archive.keys(lead, "honningen") == ["kompost-note"]
    async with sessions() as session:
        await unindex(session, "note", "kompost-note")
        await session.commit()
    assert await archive.keys(lead, "honning") == []
    async with sessions() as session:
        await rebuild_fulltext(session)
        await session.commit()
    assert sorted((await archive.keys(lead, "kjøkkenene"))[:3]) == sorted(QUERIES[0][1])


async def test_an_erased_persons_name_is_gone_from_the_index(fresh: Archive) -> None:
    archive = fresh
    sessions, world = archive.sessions, archive.world
    async with sessions() as session:
        await index(session, Findable(
            kind="note", ref="named", title="Gruppe 5", url="/archive/named", year=2026,
            body="Bjørn Brekke fortalte om vekta på kjøkkenet.", created_at=DAY0,
            theme_id=world.theme.id))
        await session.commit()
    assert await archive.keys(world.lead, "Bjørn") == ["named"]
    await erase_person(sessions, world.bjorn.id, by=world.lead.id)
    assert await archive.keys(world.lead, "Bjørn") == []
    assert "named" in await archive.keys(world.lead, "vekta kjøkkenet")
    async with sessions() as session:
        if session.get_bind().dialect.name == "sqlite":
            stems = await session.scalar(text(
                "SELECT body FROM search_fts WHERE rowid = (SELECT id FROM search_docs "
                "WHERE ref = 'named')"))
            assert "bjørn" not in stems and "brekk" not in stems
        body = await session.scalar(select(SearchDoc.body).where(SearchDoc.ref == "named"))
        assert body is not None and "Bjørn" not in body


@READING
async def test_each_database_answers_from_its_full_text_index(archive: Archive) -> None:
    async with archive.sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(await session.scalars(text(
                "EXPLAIN SELECT id FROM search_docs WHERE "
                "fulltext @@ to_tsquery('norwegian'::regconfig, 'kjøkken')")))
            assert "ix_search_docs_fulltext" in plan
        else:
            rows = await session.execute(text(
                "EXPLAIN QUERY PLAN SELECT rowid FROM search_fts WHERE search_fts MATCH 'kjøkken'"))
            plan = "\n".join(str(row[-1]) for row in rows)
            assert "VIRTUAL TABLE INDEX" in plan, plan
