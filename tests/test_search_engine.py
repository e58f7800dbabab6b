"""The search engine beside PostgreSQL (backend/search): an index fed from the outbox that
holds what was committed, resumes after a restart without losing a change, is built again
after a truncate, has one writer per directory, and whose pages are exactly PostgreSQL's
own, walked page by page. These tests commit (live_app), so they use their own index
directories."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import admin
from backend.db.models import Company, Job, JobStatus, Role
from backend.db.repository import job_search
from backend.db.repository.job_search import JobFilters
from backend.search import feed
from backend.search.engine import Filters, SearchIndex, compile_search
from backend.search.query import parse
from tests.conftest import ClientFactory
from tests.factories import create_company, create_job, create_user
from tests.test_relevance import QUERIES, seed_relevance_set


@pytest.fixture
def sessions(live_app: FastAPI) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = live_app.state.sessionmaker
    return factory


@pytest.fixture
async def company(live_app: FastAPI, sessions: async_sessionmaker[AsyncSession]) -> Company:
    async with sessions() as db:
        owner = await create_user(db, live_app, role=Role.employer)
        made = await create_company(db, owner=owner)
        await db.commit()
        return made


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[SearchIndex]:
    made = SearchIndex(tmp_path / "index")
    assert made.try_to_write()
    yield made
    made.close()


async def caught_up(index: SearchIndex, sessions: async_sessionmaker[AsyncSession]) -> None:
    """The index has read everything committed before this call (one snapshot after it)."""
    await feed.catch_up(index, sessions)
    view = index.view()
    assert view is not None


async def connect(app: FastAPI) -> psycopg.AsyncConnection[Any]:
    return await psycopg.AsyncConnection.connect(
        admin.conninfo(app.state.engine.url), autocommit=True, prepare_threshold=None
    )


async def engine_ids(app: FastAPI, index: SearchIndex, q: str) -> list[int]:
    """What the index alone answers for `q`, best first (no PostgreSQL after it)."""
    async with await connect(app) as connection:
        cursor = await connection.execute(
            "SELECT websearch_to_tsquery('english', %s)::text, "
            "phraseto_tsquery('english', %s)::text",
            (q, q),
        )
        row = await cursor.fetchone()
    assert row is not None
    words, phrase = row
    tree = parse(words)
    assert tree is not None
    compiled = compile_search(tree, parse(phrase), Filters())
    view = index.view()
    if view is None:  # not built yet
        return []
    return [each.id for each in view.ranked(compiled, after=None, limit=1000)]


async def test_the_index_holds_what_was_committed_and_resumes_after_a_restart(
    live_app: FastAPI,
    sessions: async_sessionmaker[AsyncSession],
    company: Company,
    tmp_path: Path,
) -> None:
    directory = tmp_path / "index"
    index = SearchIndex(directory)
    assert index.try_to_write()
    await feed.catch_up(index, sessions)  # built: no job yet
    async with sessions() as db:
        kept = await create_job(db, company=company, title="Rust engineer")
        unpublished = await create_job(db, company=company, title="Rust developer")
        renamed = await create_job(db, company=company, title="Rust tester")
        await create_job(db, company=company, title="Rust draft", status=JobStatus.draft)
        await db.commit()
    await caught_up(index, sessions)
    assert sorted(await engine_ids(live_app, index, "rust")) == sorted(
        [kept.id, unpublished.id, renamed.id]
    )

    index.close()  # the process holding the index stops; the board goes on changing
    async with sessions() as db:
        await db.execute(
            update(Job).where(Job.id == unpublished.id).values(status=JobStatus.closed)
        )
        await db.execute(update(Job).where(Job.id == renamed.id).values(title="Go tester"))
        added = await create_job(db, company=company, title="Rust lead")
        await db.commit()

    restarted = SearchIndex(directory)
    assert sorted(await engine_ids(live_app, restarted, "rust")) == sorted(
        [kept.id, unpublished.id, renamed.id]
    ), "before catching up, the index is as it was committed"
    assert restarted.try_to_write()
    await caught_up(restarted, sessions)
    assert sorted(await engine_ids(live_app, restarted, "rust")) == sorted([kept.id, added.id])
    assert await engine_ids(live_app, restarted, "go") == [renamed.id]
    restarted.close()


async def test_a_truncate_builds_the_index_again(
    live_app: FastAPI,
    sessions: async_sessionmaker[AsyncSession],
    company: Company,
    index: SearchIndex,
) -> None:
    async with sessions() as db:
        await create_job(db, company=company, title="Rust engineer")
        await db.commit()
    await caught_up(index, sessions)
    assert len(await engine_ids(live_app, index, "rust")) == 1
    async with sessions() as db:
        await db.execute(text("TRUNCATE jobs CASCADE"))
        await db.commit()
    await caught_up(index, sessions)
    assert await engine_ids(live_app, index, "rust") == []


async def test_one_process_writes_a_directory_the_next_takes_over(tmp_path: Path) -> None:
    first = SearchIndex(tmp_path / "index")
    second = SearchIndex(tmp_path / "index")
    assert first.try_to_write()
    assert not second.try_to_write()
    first.close()
    assert second.try_to_write()
    second.close()


async def test_the_app_keeps_its_index(
    live_app: FastAPI, sessions: async_sessionmaker[AsyncSession], company: Company
) -> None:
    index: SearchIndex = live_app.state.search_index
    async with sessions() as db:
        job = await create_job(db, company=company, title="Zanzibar navigator")
        await db.commit()
    loop = asyncio.get_running_loop()
    started = loop.time()
    while job.id not in await engine_ids(live_app, index, "zanzibar"):
        assert loop.time() - started < 30, "not indexed within 30 s"
        await asyncio.sleep(0.05)


def _filters(**values: Any) -> JobFilters:
    return JobFilters(**values)


async def _walk(
    connection: psycopg.AsyncConnection[Any],
    filters: JobFilters,
    index: SearchIndex | None,
    limit: int,
) -> list[int]:
    ids: list[int] = []
    after = None
    for _ in range(1000):
        found = await job_search.search_by_relevance(
            connection, filters=filters, limit=limit, after=after, index=index
        )
        ids += [job.id for job in found.items[:limit]]
        if len(found.items) <= limit:
            return ids
        after = found.position(limit - 1)
    raise AssertionError("pagination did not end")


async def test_engine_pages_are_postgresqls_own_walked_page_by_page(
    live_app: FastAPI,
    sessions: async_sessionmaker[AsyncSession],
    company: Company,
    index: SearchIndex,
) -> None:
    async with sessions() as db:
        await seed_relevance_set(db, company)
        await db.commit()
    await caught_up(index, sessions)
    # One job changed after the index's position: PostgreSQL adds it from the outbox.
    async with sessions() as db:
        late = await create_job(db, company=company, title="Data engineer, arrived late")
        await db.commit()
    assert late.id not in await engine_ids(live_app, index, "data engineer")
    searches = [
        *(_filters(q=q) for q in QUERIES),
        _filters(q="data engineer", company_id=company.id),
        _filters(q='"product manager" -senior'),
        _filters(q="python or data", salary_min=1),
    ]
    async with await connect(live_app) as connection:
        for filters in searches:
            alone = await _walk(connection, filters, None, 1000)
            for limit in (1, 7, 20):
                assert await _walk(connection, filters, index, limit) == alone, (filters, limit)
        walked = await _walk(connection, _filters(q="data engineer"), index, 7)
        assert late.id in walked


async def test_a_long_transaction_holds_nothing_back_and_is_read_when_it_commits(
    live_app: FastAPI,
    sessions: async_sessionmaker[AsyncSession],
    company: Company,
    index: SearchIndex,
) -> None:
    await caught_up(index, sessions)
    async with sessions() as slow, sessions() as quick:
        # Begun first, committed last: its xid is below the quick one's.
        slow_company = await slow.get(Company, company.id)
        quick_company = await quick.get(Company, company.id)
        assert slow_company is not None
        assert quick_company is not None
        early = await create_job(slow, company=slow_company, title="Rust early bird")
        late = await create_job(quick, company=quick_company, title="Rust late riser")
        await quick.commit()
        await caught_up(index, sessions)
        assert await engine_ids(live_app, index, "rust") == [late.id]
        await slow.commit()
    await caught_up(index, sessions)
    assert sorted(await engine_ids(live_app, index, "rust")) == sorted([early.id, late.id])


async def test_the_index_is_kept_while_the_apps_event_loop_is_blocked(
    make_live_client: ClientFactory,
    live_app: FastAPI,
    sessions: async_sessionmaker[AsyncSession],
    company: Company,
    tmp_path: Path,
) -> None:
    # The indexer has a thread and an event loop of its own: a handler that blocks the API's
    # loop neither stops it nor leaves it holding a snapshot that a truncate or a migration
    # would wait on.
    http = await make_live_client(search_index_dir=tmp_path / "own")
    index: SearchIndex = http.app.state.search_index  # type: ignore[attr-defined]
    tree = parse("'zanzibar'")
    assert tree is not None
    compiled = compile_search(tree, None, Filters())
    async with sessions() as db:
        job = await create_job(db, company=company, title="Zanzibar navigator")
        await db.commit()
    # From here to the end nothing awaits: the loop is blocked throughout.
    deadline = time.monotonic() + 30
    found: list[int] = []
    while job.id not in found:
        assert time.monotonic() < deadline, "not indexed while the loop was blocked"
        time.sleep(0.05)  # noqa: ASYNC251 (the point: a blocked loop)
        view = index.view()
        found = [each.id for each in view.ranked(compiled, after=None, limit=10)] if view else []
    with psycopg.connect(admin.conninfo(live_app.state.engine.url), autocommit=True) as blocked:
        blocked.execute("SET lock_timeout = '5s'")
        blocked.execute("TRUNCATE search_outbox")
