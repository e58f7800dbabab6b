"""Read requests lease their connection straight from a pool (engine.ReadSession): the hot
reads' own when it has one idle, else the engine's; one connection at most, handed back as
the pool's other users expect it."""

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.util import greenlet_spawn

from backend.core.config import Settings
from backend.db import engine as engine_module
from backend.db.engine import (
    CountingPool,
    create_engine,
    create_read_pool,
    create_read_sessionmaker,
)
from backend.db.models import Role
from backend.db.repository import sessions as sessions_repo
from tests.conftest import ClientFactory, make_settings
from tests.test_races import live_job, live_user

API = "/api/v1"


async def test_a_read_request_never_holds_two_connections(
    make_live_client: ClientFactory,
) -> None:
    # One connection in the pool: a request that held its lease while the session took a
    # connection of its own would wait for itself until the pool's timeout, and fail with a
    # 503. The timeout leaves room for 21 requests queueing for that one connection twice
    # each on a loaded machine (at 2 seconds, CI once saw the queue itself time out).
    # (The engine's pool alone: no pool for the hot reads beside it.)
    client = await make_live_client(
        rate_limits_enabled=False,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_seconds=10,
        db_read_pool_size=0,
    )
    _, employer = await live_user(client, Role.employer)
    job = await live_job(client, employer)
    # Each of these reads the caller through the lease, then reads on through the session.
    reads = [
        (f"{API}/jobs/{job}", employer),
        (f"{API}/jobs/{job}/applications", employer),
        (f"{API}/companies", employer),
        (f"{API}/jobs", employer),
        (f"{API}/jobs?q=race&workplace=remote", employer),
        (f"{API}/jobs/autocomplete?q=ra", employer),
        (f"{API}/users/me", employer),
    ]
    for path, headers in reads:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
    answers = await asyncio.gather(
        *(client.get(path, headers=headers) for path, headers in reads * 3)
    )
    assert [response.status_code for response in answers] == [200] * len(reads) * 3


async def test_a_leased_connection_goes_back_as_the_writers_expect_it(
    make_live_client: ClientFactory,
) -> None:
    client = await make_live_client(
        rate_limits_enabled=False, db_pool_size=1, db_max_overflow=0, db_read_pool_size=0
    )
    app: FastAPI = client.app  # type: ignore[attr-defined]
    _, candidate = await live_user(client, Role.candidate)
    assert (await client.get(f"{API}/users/me", headers=candidate)).status_code == 200
    assert app.state.engine.pool.checkedout() == 0
    # The pool's one connection, leased in autocommit by the read, runs transactions again.
    async with app.state.sessionmaker() as session:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        assert raw.driver_connection.autocommit is False
        assert session.in_transaction()


async def test_a_lease_cancelled_mid_statement_leaves_the_pool_healthy(migrated_url: URL) -> None:
    # What a request's deadline does to a read: the task is cancelled inside the statement.
    engine = create_engine(make_settings(migrated_url, db_pool_size=1, db_max_overflow=0))
    sessions = create_read_sessionmaker(engine)
    pool = engine.pool
    assert isinstance(pool, CountingPool)
    try:
        async with sessions() as session:
            driver = await session.driver_connection()
            assert driver is not None
            statement = asyncio.create_task(driver.execute("SELECT pg_sleep(5)"))
            await asyncio.sleep(0.3)
            statement.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await statement
        assert pool.checkedout() == 0
        # The pool's one connection (returned, or replaced if it was left mid-statement)
        # serves the next read at once.
        async with sessions() as session:
            driver = await session.driver_connection()
            assert driver is not None
            async with asyncio.timeout(2):
                row = await (await driver.execute("SELECT 1")).fetchone()
            assert row == (1,)
            assert driver.autocommit is True
        assert pool.checkedout() == 0
    finally:
        await engine.dispose()


def status(driver: psycopg.AsyncConnection[Any]) -> psycopg.pq.TransactionStatus:
    return driver.info.transaction_status


async def test_a_connection_returned_inside_a_transaction_is_rolled_back(
    migrated_url: URL,
) -> None:
    # The pool resets only a connection that is in a transaction (an idle one has nothing to
    # roll back): one returned mid-transaction is handed out again idle, its work undone.
    engine = create_engine(make_settings(migrated_url, db_pool_size=1, db_max_overflow=0))
    try:
        lease = await engine.raw_connection()
        driver = lease.driver_connection
        assert driver is not None
        await driver.execute("CREATE TEMPORARY TABLE lease_probe (id int)")
        assert status(driver) == psycopg.pq.TransactionStatus.INTRANS
        await greenlet_spawn(lease.close)
        lease = await engine.raw_connection()
        again = lease.driver_connection
        assert id(again) == id(driver)  # the pool's one connection
        assert status(driver) == psycopg.pq.TransactionStatus.IDLE
        probe = await driver.execute("SELECT to_regclass('pg_temp.lease_probe')")
        assert await probe.fetchone() == (None,)
        await driver.rollback()
        await greenlet_spawn(lease.close)
    finally:
        await engine.dispose()


async def test_a_session_ends_its_idle_lease_in_place_and_anything_else_shielded(
    migrated_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Leaving a read session that holds only an idle lease cannot be interrupted (nothing
    # in returning it waits), so it is done in place; any other close runs in a task of its
    # own, shielded from the request's cancellation, as SQLAlchemy does.
    engine = create_engine(make_settings(migrated_url, db_pool_size=1, db_max_overflow=0))
    sessions = create_read_sessionmaker(engine)
    pool = engine.pool
    assert isinstance(pool, CountingPool)
    tasks: list[object] = []
    create_task = asyncio.create_task

    def counted(coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        tasks.append(coro)
        return create_task(coro, **kwargs)

    monkeypatch.setattr(asyncio, "create_task", counted)
    entered: list[object] = []
    spawn = greenlet_spawn

    async def counted_spawn(fn: Any, *args: Any, **kwargs: Any) -> Any:
        entered.append(fn)
        return await spawn(fn, *args, **kwargs)

    monkeypatch.setattr(engine_module, "greenlet_spawn", counted_spawn)
    try:
        async with sessions() as session:
            driver = await session.driver_connection()
            assert driver is not None
            await (await driver.execute("SELECT 1")).fetchone()
        assert tasks == []
        assert entered == []  # an idle connection is checked in without the greenlet
        assert pool.checkedout() == 0
        async with sessions() as session:
            again = await session.driver_connection()
            assert again is driver  # the pool's one connection, reused
            assert again.autocommit is True

        async with sessions() as session:
            driver = await session.driver_connection()
            assert driver is not None
            await driver.execute("BEGIN")  # not idle: returning it means a rollback
        assert len(tasks) == 1
        assert len(entered) == 1
        assert pool.checkedout() == 0

        async with sessions() as session:
            await session.execute(select(1))  # the session's own connection
        assert len(tasks) == 2
        assert pool.checkedout() == 0
    finally:
        await engine.dispose()


def checked_out(engine: Any) -> int:
    pool = engine.pool
    assert isinstance(pool, CountingPool)
    return pool.checkedout()


async def open_read_pool(settings: Settings) -> AsyncConnectionPool[Any]:
    read_pool = create_read_pool(settings)
    assert read_pool is not None
    await read_pool.open(wait=True, timeout=10)
    return read_pool


def idle_in(read_pool: AsyncConnectionPool[Any]) -> int:
    return read_pool.get_stats()["pool_available"]


async def refilled(read_pool: AsyncConnectionPool[Any], size: int) -> None:
    """Wait (10 s at most) for the pool to hold `size` idle connections again."""
    for _ in range(200):
        if idle_in(read_pool) == size:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the read pool holds {idle_in(read_pool)} idle connections")


async def test_hot_reads_lease_from_the_read_pool_else_from_the_engines(
    migrated_url: URL,
) -> None:
    settings = make_settings(migrated_url, db_pool_size=1, db_max_overflow=0, db_read_pool_size=1)
    engine = create_engine(settings)
    read_pool = await open_read_pool(settings)
    sessions = create_read_sessionmaker(engine, read_pool)
    try:
        async with sessions() as first:
            pooled = await first.driver_connection()
            assert pooled is not None
            assert pooled.autocommit is True
            assert idle_in(read_pool) == 0
            assert checked_out(engine) == 0
            # The read pool's one connection is taken: the next read does not wait for it,
            # it leases from the engine's pool.
            async with sessions() as second:
                leased = await second.driver_connection()
                assert leased is not None
                assert leased is not pooled
                assert checked_out(engine) == 1
                row = await sessions_repo.get_caller(second, user_id=0, session_id=uuid.uuid4())
                assert row is None
            assert checked_out(engine) == 0
            row = await sessions_repo.get_caller(first, user_id=0, session_id=uuid.uuid4())
            assert row is None
        assert idle_in(read_pool) == 1
        async with sessions() as again:
            assert await again.driver_connection() is pooled  # back, and handed out again
    finally:
        await read_pool.close()
        await engine.dispose()


async def test_a_read_pool_lease_goes_back_before_the_session_takes_a_connection(
    migrated_url: URL,
) -> None:
    # As with the engine's lease: a request never holds two connections.
    settings = make_settings(migrated_url, db_pool_size=1, db_max_overflow=0, db_read_pool_size=1)
    engine = create_engine(settings)
    read_pool = await open_read_pool(settings)
    sessions = create_read_sessionmaker(engine, read_pool)
    try:
        async with sessions() as session:
            assert await session.driver_connection() is not None
            assert idle_in(read_pool) == 0
            assert (await session.execute(select(1))).scalar_one() == 1
            assert idle_in(read_pool) == 1
            assert checked_out(engine) == 1
        assert checked_out(engine) == 0
        assert idle_in(read_pool) == 1
    finally:
        await read_pool.close()
        await engine.dispose()


async def test_a_read_pool_lease_cancelled_mid_statement_leaves_the_pool_healthy(
    migrated_url: URL,
) -> None:
    # What a request's deadline does to a read (as for the engine's lease above).
    settings = make_settings(migrated_url, db_read_pool_size=1)
    engine = create_engine(settings)
    read_pool = await open_read_pool(settings)
    sessions = create_read_sessionmaker(engine, read_pool)
    try:
        async with sessions() as session:
            driver = await session.driver_connection()
            assert driver is not None
            statement = asyncio.create_task(driver.execute("SELECT pg_sleep(5)"))
            await asyncio.sleep(0.3)
            statement.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await statement
        # The pool's one connection (returned idle, or replaced if it was left
        # mid-statement) serves the next read at once.
        await refilled(read_pool, 1)
        async with sessions() as session:
            again = await session.driver_connection()
            assert again is not None
            assert checked_out(engine) == 0  # from the read pool
            async with asyncio.timeout(2):
                assert await (await again.execute("SELECT 1")).fetchone() == (1,)
            assert again.autocommit is True
    finally:
        await read_pool.close()
        await engine.dispose()


async def test_a_read_pool_connection_the_server_ended_is_not_used(migrated_url: URL) -> None:
    # Straight to PostgreSQL: through PgBouncer, ending a server connection leaves the
    # client's connection to PgBouncer as it was.
    settings = make_settings(migrated_url, db_read_pool_size=1, direct=True)
    engine = create_engine(settings)
    read_pool = await open_read_pool(settings)
    sessions = create_read_sessionmaker(engine, read_pool)
    try:
        async with sessions() as session:
            driver = await session.driver_connection()
            assert driver is not None
            pid = (await (await driver.execute("SELECT pg_backend_pid()")).fetchone() or [0])[0]
        async with engine.connect() as killer:
            await killer.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)}, 5000)")
        await asyncio.sleep(0.1)  # the server's goodbye reaches the socket
        # The read finds the connection ended, discards it and leases from the engine's pool.
        async with sessions() as session:
            leased = await session.driver_connection()
            assert leased is not None
            assert leased is not driver
            assert await (await leased.execute("SELECT 1")).fetchone() == (1,)
        await refilled(read_pool, 1)
        async with sessions() as session:
            fresh = await session.driver_connection()
            assert fresh is not None
            assert fresh is not driver
            row = await (await fresh.execute("SELECT pg_backend_pid()")).fetchone()
            assert row is not None
            assert row[0] != pid
    finally:
        await read_pool.close()
        await engine.dispose()


async def test_read_pool_connections_read_any_stored_time(migrated_url: URL) -> None:
    # As the engine's connections do (`engine._ClampedTimestamptzLoader`): a time past what
    # Python can hold reads as the nearest one it can, instead of failing the read.
    read_pool = await open_read_pool(make_settings(migrated_url, db_read_pool_size=1))
    try:
        async with read_pool.connection() as connection:
            cursor = await connection.execute(
                "SELECT 'infinity'::timestamptz, '-infinity'::timestamptz,"
                " '2026-01-02 03:04:05+00'::timestamptz"
            )
            row = await cursor.fetchone()
        assert row == (
            datetime.max.replace(tzinfo=UTC),
            datetime.min.replace(tzinfo=UTC),
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        )
    finally:
        await read_pool.close()
