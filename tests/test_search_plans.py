"""A search is planned for its own words and filters however long its connection lives,
and no read of jobs carries the search vector back.

PostgreSQL may run a prepared statement with one generic plan for all values once it has
run five times; for a search, whose best plan depends on how common its words and filters
are, that plan can be many times slower. Searches with words or filters are therefore
never prepared on the hot path (an unprepared statement is planned for its values each
time), and the alerts' search is planned per execution on the worker's connections.
"""

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import admin, hot, observe
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.repository import job_search
from backend.db.repository.job_search import JobFilters
from backend.search import feed
from backend.search.engine import SearchIndex
from tests.conftest import make_settings
from tests.factories import Actors, create_job

API = "/api/v1"
EXECUTIONS = 12

FILTERED = [
    JobFilters(location="Berlin"),
    JobFilters(workplace="remote", employment_type="full_time"),
    JobFilters(tags=("python",), salary_min=50_000),
    JobFilters(q="python developer"),
    JobFilters(q="engineer", workplace="remote"),
    JobFilters(posted_after=datetime(2026, 1, 1, tzinfo=UTC), company_id=1),
]


@pytest.fixture
async def connection(migrated_url: URL) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection as the hot pool opens one: psycopg's default, preparing a statement on
    its fifth execution; the schema's enums registered."""
    settings = make_settings(migrated_url, direct=True)
    engine = create_engine(settings, role="api")
    reads = hot.HotConnections(engine)
    try:
        async with await psycopg.AsyncConnection.connect(
            admin.conninfo(migrated_url), autocommit=True
        ) as driver:
            await reads.prepare(driver)
            yield driver
    finally:
        await engine.dispose()


async def _prepared(connection: psycopg.AsyncConnection[Any]) -> list[tuple[str, int, int]]:
    cursor = await connection.execute(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
    )
    return [(row[0], int(row[1]), int(row[2])) for row in await cursor.fetchall()]


async def test_searches_with_words_or_filters_are_never_prepared(
    connection: psycopg.AsyncConnection[Any],
) -> None:
    before = await _prepared(connection)  # the enums' lookups, prepared by psycopg
    for _ in range(EXECUTIONS):
        for filters in FILTERED:
            await job_search.search_newest(connection, filters=filters, limit=20, after=None)
            await job_search.search_by_salary(connection, filters=filters, limit=20, after=None)
            if filters.q:
                await job_search.search_by_relevance(
                    connection, filters=filters, limit=20, after=None
                )
    assert [found for found in await _prepared(connection) if found not in before] == []


async def test_beside_the_engine_only_the_read_by_key_is_prepared(
    connection: psycopg.AsyncConnection[Any], migrated_url: URL, tmp_path: Path
) -> None:
    """With the search engine, the page's statement reads the named jobs by primary key
    (a plan no value changes: prepared); every other statement is planned per values."""
    index = SearchIndex(tmp_path / "index")
    assert index.try_to_write()
    engine = create_engine(make_settings(migrated_url, direct=True), role="api", observed=False)
    try:
        await feed.catch_up(index, create_sessionmaker(engine))
        before = await _prepared(connection)
        for _ in range(EXECUTIONS):
            for filters in FILTERED:
                if filters.q:
                    await job_search.search_by_relevance(
                        connection, filters=filters, limit=20, after=None, index=index
                    )
    finally:
        index.close()
        await engine.dispose()
    prepared = [
        statement
        for statement, _, _ in await _prepared(connection)
        if statement not in {found for found, _, _ in before}
    ]
    assert prepared, "nothing prepared: the check below would hold anyway"
    assert all("jobs.id = ANY (" in statement for statement in prepared), prepared


async def test_the_unfiltered_front_page_is_still_prepared(
    connection: psycopg.AsyncConnection[Any],
) -> None:
    """The other side, so that the test above can fail: on this connection a read that
    runs often is prepared (the front page, whose plan no value changes)."""
    before = await _prepared(connection)
    for _ in range(EXECUTIONS):
        await job_search.search_newest(connection, filters=JobFilters(), limit=20, after=None)
    prepared = [found for found in await _prepared(connection) if found not in before]
    assert len(prepared) == 1
    statement, generic, custom = prepared[0]
    assert "ORDER BY jobs.published_at DESC" in statement
    assert generic + custom > 0


async def test_the_alerts_search_is_planned_per_execution_on_a_long_lived_connection(
    migrated_url: URL,
) -> None:
    settings = make_settings(migrated_url, direct=True)
    engine = create_engine(settings, migrated_url, role="worker")
    now = datetime.now(UTC)
    try:
        async with engine.connect() as connection:
            session = AsyncSession(bind=connection)
            for number in range(EXECUTIONS):
                async with session.begin():
                    await job_search.new_matches(
                        session,
                        watches=[
                            job_search.Watch(
                                key=1,
                                filters=JobFilters(q="python", location=f"City {number}"),
                                start=now - timedelta(days=1),
                                end=now,
                            )
                        ],
                        limit=20,
                    )
            async with session.begin():
                rows = await session.execute(
                    text(
                        "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                        "WHERE statement LIKE '%websearch_to_tsquery%'"
                    )
                )
                plans = [tuple(row) for row in rows]
    finally:
        await engine.dispose()
    assert plans, "the alerts' search was never prepared: the check below would hold anyway"
    assert all(generic == 0 and custom > 0 for generic, custom in plans), plans


# --- the search vector stays in the index

# A bare `jobs.search` column in a select list (an argument of a function, as in the rank,
# reads it without returning it).
_RETURNS_VECTOR = re.compile(r"(?:SELECT|,)\s+jobs\.search\s*(?:,|AS\b|FROM\b)", re.IGNORECASE)


def _select_list(sql: str) -> str:
    return sql.split(" FROM ", 1)[0]


def test_the_pattern_finds_a_returned_vector() -> None:
    assert _RETURNS_VECTOR.search("SELECT jobs.id, jobs.search FROM jobs")
    assert _RETURNS_VECTOR.search("SELECT jobs.search, jobs.id FROM jobs")
    assert not _RETURNS_VECTOR.search("SELECT ts_rank_cd(jobs.search, q) AS rank FROM jobs")


async def test_no_read_of_jobs_returns_the_search_vector(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    assert actors.employer.company is not None
    job = await create_job(db, company=actors.employer.company, tags=["python"])
    sent: list[str] = []
    reads = [
        ("GET", f"{API}/jobs", {}),
        ("GET", f"{API}/jobs", {"q": "python"}),
        ("GET", f"{API}/jobs", {"q": "python", "sort": "newest", "location": "Berlin"}),
        ("GET", f"{API}/jobs", {"sort": "salary", "tag": "python"}),
        ("GET", f"{API}/jobs/{job.id}", {}),
        ("GET", f"{API}/jobs/feed", {"q": "python"}),
        ("GET", f"/jobs/{job.id}", {}),
        ("GET", f"{API}/jobs/autocomplete", {"q": "py"}),
    ]
    with observe.watching(lambda sql, _: sent.append(sql)):
        for method, url, params in reads:
            response = await client.request(method, url, params=params)
            assert response.status_code == 200, (url, response.text)
        mine = await client.get(f"{API}/users/me/jobs", headers=actors.employer.headers)
        assert mine.status_code == 200
        changed = await client.patch(
            f"{API}/jobs/{job.id}", json={"title": "Changed"}, headers=actors.employer.headers
        )
        assert changed.status_code == 200
    reading_jobs = [sql for sql in sent if re.search(r"\bFROM jobs\b", sql)]
    assert len(reading_jobs) >= len(reads)
    returned = [sql for sql in reading_jobs if _RETURNS_VECTOR.search(_select_list(sql))]
    assert returned == []
