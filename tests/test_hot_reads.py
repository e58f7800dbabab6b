"""The hot reads (backend.db.hot): psycopg itself on a connection taken and handed back
through SQLAlchemy's public async API; one connection at most a request; what an operator
may do to the engine (a profiling listener, overflow, a statement timeout) changes nothing
for them; and the tests run this path, not a stand-in."""

import asyncio
import contextlib
import gc
import logging
import time
import warnings
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Numeric,
    Table,
    bindparam,
    column,
    event,
    func,
    select,
)
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import QueuePool

from backend.db import hot, observe
from backend.db.engine import create_engine
from backend.db.models import Role
from backend.db.repository import sessions as sessions_repo
from tests.conftest import ClientFactory, make_settings
from tests.factories import Actors
from tests.test_races import live_job, live_user

API = "/api/v1"


@dataclass(frozen=True, slots=True)
class Answer:
    answer: int


_ONE = hot.HotRead(select((bindparam("value", type_=Integer) + 1).label("answer")), Answer)


async def test_a_read_request_never_holds_two_connections(
    make_live_client: ClientFactory,
) -> None:
    # One connection in the pool: a request that held its hot connection while a session
    # took another would wait for itself until the pool's timeout, and fail with a 503.
    client = await make_live_client(
        rate_limits_enabled=False, db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=10
    )
    _, employer = await live_user(client, Role.employer)
    _, candidate = await live_user(client, Role.candidate)
    job = await live_job(client, employer)
    reads = [
        (f"{API}/jobs/{job}", employer),
        (f"{API}/jobs/{job}/applications", employer),
        (f"{API}/companies", employer),
        (f"{API}/jobs", employer),
        (f"{API}/jobs?q=race&workplace=remote", employer),
        (f"{API}/jobs/autocomplete?q=ra", employer),
        (f"{API}/users/me", employer),
        (f"{API}/users/me/applications", candidate),
    ]
    for path, headers in reads:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
    # Refused inside its hot connection: the connection goes back all the same.
    refused = await client.get(f"{API}/users/me/applications", headers=employer)
    assert refused.status_code == 403
    assert client.app.state.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    answers = await asyncio.gather(
        *(client.get(path, headers=headers) for path, headers in reads * 3)
    )
    assert [response.status_code for response in answers] == [200] * len(reads) * 3


async def test_sqlalchemys_profiling_listener_sees_every_statement_it_is_shown(
    make_live_client: ClientFactory,
) -> None:
    # SQLAlchemy's performance FAQ: a start time kept in `conn.info` by
    # before_cursor_execute, read back by after_cursor_execute. The hot reads do not pass
    # through SQLAlchemy's cursor, so they fire neither; the session path fires both.
    client = await make_live_client(rate_limits_enabled=False)
    engine = client.app.state.engine.sync_engine  # type: ignore[attr-defined]
    before: list[str] = []
    after: list[float] = []

    def start(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        conn.info.setdefault("query_start_time", []).append(time.perf_counter())
        before.append(statement)

    def stop(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        after.append(time.perf_counter() - conn.info["query_start_time"].pop(-1))

    event.listen(engine, "before_cursor_execute", start)
    event.listen(engine, "after_cursor_execute", stop)
    try:
        _, employer = await live_user(client, Role.employer)
        job = await live_job(client, employer)
        for path in (
            f"{API}/jobs",
            f"{API}/jobs?q=race",
            f"{API}/jobs/{job}",
            f"{API}/jobs/autocomplete?q=ra",
            f"{API}/users/me",
        ):
            response = await client.get(path, headers=employer if "me" in path else {})
            assert response.status_code == 200, (path, response.text)
    finally:
        event.remove(engine, "before_cursor_execute", start)
        event.remove(engine, "after_cursor_execute", stop)
    assert before
    assert len(before) == len(after)


async def test_overflow_connections_go_back_without_an_error_or_a_warning(
    make_live_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_live_client(rate_limits_enabled=False, db_pool_size=1, db_max_overflow=2)
    app: FastAPI = client.app  # type: ignore[attr-defined]
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        for _ in range(3):

            async def read() -> int:
                async with app.state.hot.connection() as connection:
                    found = await hot.one(connection, _ONE, {"value": 1})
                    await asyncio.sleep(0.05)  # all three hold a connection at once
                    assert found is not None
                    return found.answer

            assert list(await asyncio.gather(read(), read(), read())) == [2, 2, 2]
            assert app.state.engine.pool.checkedout() == 0
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@dataclass(frozen=True, slots=True)
class Money:
    id: int
    amount: Decimal | None


async def test_numeric_values_round_trip_on_the_raw_path(app: FastAPI, db: AsyncSession) -> None:
    prices = Table(
        "hot_read_prices",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("amount", Numeric(12, 2)),
        prefixes=["TEMPORARY"],
    )
    connection = await db.connection()
    await connection.run_sync(lambda sync: prices.create(sync))
    await connection.execute(
        prices.insert(), [{"id": 1, "amount": Decimal("1234.50")}, {"id": 2, "amount": None}]
    )
    read = hot.HotRead(
        select(prices.c.id, prices.c.amount)
        .where(prices.c.amount.is_(None) | (prices.c.amount >= bindparam("least")))
        .order_by(prices.c.id),
        Money,
    )
    async with app.state.hot.connection() as raw:
        rows = await hot.every(raw, read, {"least": Decimal("1000.00")})
    assert rows == [Money(id=1, amount=Decimal("1234.50")), Money(id=2, amount=None)]
    assert isinstance(rows[0].amount, Decimal)
    # The same read through the session gives the same rows.
    assert await hot.every(db, read, {"least": Decimal("1000.00")}) == rows


# Each path a hot read may take: psycopg's own pool (one connection of two), or the
# engine's (no pool of its own).
PATHS = pytest.mark.parametrize(
    "sizes",
    [{"db_pool_size": 2, "db_hot_pool_size": 1}, {"db_pool_size": 1, "db_hot_pool_size": 0}],
    ids=["own-pool", "engine"],
)


@PATHS
async def test_a_statement_timeout_keeps_the_connection_and_answers_503(
    make_live_client: ClientFactory, migrated_url: URL, sizes: dict[str, int]
) -> None:
    client = await make_live_client(rate_limits_enabled=False, db_max_overflow=0, **sizes)
    app: FastAPI = client.app  # type: ignore[attr-defined]
    assert (app.state.hot.pool is not None) == bool(sizes["db_hot_pool_size"])
    if app.state.hot.pool is not None:
        await app.state.hot.pool.wait()  # its one connection open, so the route takes it
    async with app.state.hot.connection() as raw:
        pid = raw.info.backend_pid
        await raw.execute("SET statement_timeout = '200ms'")
    # Autocomplete waits for a lock another connection holds, past the statement timeout.
    blocker = await psycopg.AsyncConnection.connect(
        migrated_url.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        await blocker.execute("LOCK TABLE job_titles IN ACCESS EXCLUSIVE MODE")
        answer = await client.get(f"{API}/jobs/autocomplete", params={"q": "ra"})
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert int(answer.headers["retry-after"]) > 0
    finally:
        await blocker.rollback()
        await blocker.close()
    async with app.state.hot.connection() as raw:
        assert raw.info.backend_pid == pid  # the same connection: kept, not thrown away
        await raw.execute("RESET statement_timeout")
    assert (await client.get(f"{API}/jobs/autocomplete", params={"q": "ra"})).status_code == 200


@PATHS
async def test_a_read_cancelled_mid_statement_leaves_the_pool_healthy(
    migrated_url: URL, sizes: dict[str, int]
) -> None:
    # What a request's deadline does to a read: the task is cancelled inside the statement.
    settings = make_settings(migrated_url, db_max_overflow=0, **sizes)
    engine = create_engine(settings, role="tests", pool_size=1)
    connections = hot.HotConnections(engine, settings)
    await connections.open()
    if connections.pool is not None:
        await connections.pool.wait()
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    try:

        async def slow() -> None:
            async with connections.connection() as raw:
                await raw.execute("SELECT pg_sleep(5)")

        statement = asyncio.create_task(slow())
        await asyncio.sleep(0.3)
        statement.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await statement
        assert pool.checkedout() == 0
        # The pool's one connection (returned, or replaced if it was left mid-statement)
        # serves the next read at once.
        async with asyncio.timeout(2), connections.connection() as raw:
            assert await hot.one(raw, _ONE, {"value": 41}) == Answer(42)
        assert pool.checkedout() == 0
        if connections.pool is not None:
            # The own pool's connection came back to it, or was replaced: one is idle again.
            await connections.pool.wait(timeout=5)
            assert connections.pool.get_stats()["pool_available"] == 1
    finally:
        await connections.close()
        await engine.dispose()


async def test_the_tests_run_the_raw_path(
    client: httpx.AsyncClient, app: FastAPI, actors: Actors
) -> None:
    sent: list[str] = []
    with observe.watching(lambda sql, _: sent.append(sql)):
        response = await client.get(f"{API}/users/me", headers=actors.candidate.headers)
    assert response.status_code == 200
    # The caller's read, as psycopg was given it: SQLAlchemy's compiled text, named
    # parameters in psycopg's style.
    assert sent == [sessions_repo.CALLER.sql]
    assert "%(user_id)s" in sent[0]


async def test_a_hot_read_refuses_expanding_parameters() -> None:
    with pytest.raises(ValueError, match="expanding"):
        hot.HotRead(
            select(func.count()).where(column("x").in_(bindparam("ids", expanding=True))), Answer
        )


async def test_the_own_pool_shows_in_metrics(make_live_client: ClientFactory) -> None:
    client = await make_live_client(rate_limits_enabled=False, db_pool_size=5, db_hot_pool_size=2)
    app: FastAPI = client.app  # type: ignore[attr-defined]
    assert app.state.hot.pool is not None
    await app.state.hot.pool.wait()
    # The engine keeps the rest of the process's connections.
    assert app.state.engine.pool.size() == 3
    metrics = (await client.get("/metrics")).text
    assert 'jobboard_db_pool_connections{database="primary_hot",state="idle"} 2.0' in metrics
    assert 'jobboard_db_pool_connections{database="primary_hot",state="in_use"} 0.0' in metrics


async def _own_pool(migrated_url: URL, **sizes: Any) -> tuple[hot.HotConnections, Any]:
    settings = make_settings(migrated_url, db_max_overflow=0, **sizes)
    engine = create_engine(settings, role="tests", pool_size=1)
    connections = hot.HotConnections(engine, settings)
    await connections.open()
    assert connections.pool is not None
    await connections.pool.wait()
    return connections, engine


async def test_the_own_pool_serves_the_hot_reads_and_they_wait_their_turn(
    migrated_url: URL,
) -> None:
    connections, engine = await _own_pool(migrated_url, db_pool_size=2, db_hot_pool_size=1)
    assert connections.pool is not None
    try:
        async with connections.connection() as raw:
            assert connections.pool.get_stats()["pool_available"] == 0  # the own pool's one
            assert engine.pool.checkedout() == 0
            own = raw.info.backend_pid

            # A second read while the one connection is busy waits for it, in turn, rather
            # than taking the engine's (which the sessions need).
            async def second() -> int:
                async with connections.connection() as other:
                    assert await hot.one(other, _ONE, {"value": 1}) == Answer(2)
                    return other.info.backend_pid

            waiting = asyncio.create_task(second())
            await asyncio.sleep(0.2)
            assert not waiting.done()
            assert engine.pool.checkedout() == 0
        assert await waiting == own
        assert connections.pool.get_stats()["pool_available"] == 1
    finally:
        await connections.close()
        await engine.dispose()


async def test_a_connection_the_server_ended_is_replaced_and_the_read_still_answers(
    migrated_url: URL,
) -> None:
    # Straight to PostgreSQL, even in a run through PgBouncer: there the server ending a
    # connection ends PgBouncer's, not the app's.
    connections, engine = await _own_pool(
        migrated_url, direct=True, db_pool_size=2, db_hot_pool_size=1
    )
    assert connections.pool is not None
    try:
        async with connections.connection() as raw:
            ended = raw.info.backend_pid
        admin = await psycopg.AsyncConnection.connect(
            migrated_url.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
        )
        async with admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (ended,))
        await asyncio.sleep(0.2)  # the server has closed the socket
        # The dead connection is not handed out: the read runs on the engine's at once.
        async with asyncio.timeout(2), connections.connection() as raw:
            assert raw.info.backend_pid != ended
            assert await hot.one(raw, _ONE, {"value": 41}) == Answer(42)
        # The pool replaces the one it lost, and serves the reads again.
        await connections.pool.wait(timeout=5)
        async with connections.connection() as raw:
            assert connections.pool.get_stats()["pool_available"] == 0
            assert raw.info.backend_pid != ended
    finally:
        await connections.close()
        await engine.dispose()


@pytest.mark.parametrize("missing", ["server", "database"])
async def test_with_no_database_to_reach_a_hot_read_is_a_503_at_once(
    migrated_url: URL, missing: str
) -> None:
    # The own pool keeps trying to connect, and counts those connections as its own: a
    # read must not wait for them until its deadline.
    from backend.main import create_app
    from tests.test_server import free_port

    url = (
        migrated_url.set(port=free_port())
        if missing == "server"
        else migrated_url.set(database="jobboard_no_such_database")
    )
    app = create_app(make_settings(url, direct=True, db_pool_size=3, db_hot_pool_size=2))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            for _ in range(3):
                started = time.monotonic()
                answer = await http.get(f"{API}/jobs/autocomplete", params={"q": "ra"})
                assert answer.status_code == 503, answer.text
                assert time.monotonic() - started < 1.5


@dataclass(frozen=True, slots=True)
class Pair:
    first: int
    second: str


async def test_rows_are_built_right_whether_the_columns_follow_the_fields_or_not(
    db: AsyncSession, app: FastAPI
) -> None:
    first = bindparam("first", type_=Integer).label("first")
    second = func.concat("n", bindparam("first", type_=Integer)).label("second")
    in_order = hot.HotRead(select(first, second), Pair)
    reversed_ = hot.HotRead(select(second, first), Pair)
    async with app.state.hot.connection() as raw:
        assert await hot.one(raw, in_order, {"first": 7}) == Pair(7, "n7")
        assert await hot.one(raw, reversed_, {"first": 7}) == Pair(7, "n7")
