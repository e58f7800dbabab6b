"""Read requests lease their connection straight from the pool (engine.ReadSession, and
engine.Lease for reads of compiled statements alone): one connection at most, handed back as
the pool's other users expect it."""

import asyncio
import contextlib
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import Integer, bindparam, select
from sqlalchemy.engine import URL
from sqlalchemy.util import greenlet_spawn

from backend.db import engine as engine_module
from backend.db.engine import (
    CountingPool,
    Lease,
    ReadSession,
    create_engine,
    create_read_sessionmaker,
)
from backend.db.models import Role
from backend.db.repository import base
from tests.conftest import ClientFactory, make_settings
from tests.test_races import live_job, live_user

API = "/api/v1"
_ONE = base.Prepared(select((bindparam("value", type_=Integer) + 1).label("answer")))


async def test_a_read_request_never_holds_two_connections(
    make_live_client: ClientFactory,
) -> None:
    # One connection in the pool: a request that held its lease while the session took a
    # connection of its own would wait for itself until the pool's timeout, and fail with a
    # 503. The timeout leaves room for 21 requests queueing for that one connection twice
    # each on a loaded machine (at 2 seconds, CI once saw the queue itself time out).
    client = await make_live_client(
        rate_limits_enabled=False, db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=10
    )
    _, employer = await live_user(client, Role.employer)
    _, candidate = await live_user(client, Role.candidate)
    job = await live_job(client, employer)
    # Each of these reads the caller through the lease, then reads on through the session or
    # the same lease (`engine.Lease`).
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
    # Refused inside its lease: the lease goes back all the same.
    refused = await client.get(f"{API}/users/me/applications", headers=employer)
    assert refused.status_code == 403
    assert client.app.state.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    answers = await asyncio.gather(
        *(client.get(path, headers=headers) for path, headers in reads * 3)
    )
    assert [response.status_code for response in answers] == [200] * len(reads) * 3


async def test_a_leased_connection_goes_back_as_the_writers_expect_it(
    make_live_client: ClientFactory,
) -> None:
    client = await make_live_client(rate_limits_enabled=False, db_pool_size=1, db_max_overflow=0)
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


@pytest.mark.parametrize("reader", ["ReadSession", "Lease"])
async def test_a_lease_cancelled_mid_statement_leaves_the_pool_healthy(
    migrated_url: URL, reader: str
) -> None:
    # What a request's deadline does to a read: the task is cancelled inside the statement.
    engine = create_engine(make_settings(migrated_url, db_pool_size=1, db_max_overflow=0))
    sessions = create_read_sessionmaker(engine)

    def read() -> ReadSession | Lease:
        return sessions() if reader == "ReadSession" else Lease(engine)

    pool = engine.pool
    assert isinstance(pool, CountingPool)
    try:
        async with read() as session:
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
        async with read() as session:
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


async def test_a_lease_runs_prepared_statements_only_and_hands_its_connection_back(
    migrated_url: URL,
) -> None:
    engine = create_engine(make_settings(migrated_url, db_pool_size=1, db_max_overflow=0))
    pool = engine.pool
    assert isinstance(pool, CountingPool)
    try:
        async with Lease(engine):
            pass
        assert pool.checkedout() == 0
        assert pool.checkedin() == 0  # nothing leased unused
        async with Lease(engine) as lease:
            row = await base.first(lease, _ONE, {"value": 41})
            assert row is not None
            assert row.answer == 42
            driver = await lease.driver_connection()
            assert driver.autocommit is True
            assert pool.checkedout() == 1
            assert await base.all_rows(lease, _ONE, {"value": 1}) == [(2,)]  # the same lease
            assert pool.checkedout() == 1
            with pytest.raises(TypeError, match="Prepared statements only"):
                # What mypy refuses (the overloads) is refused at run time as well.
                await base.first(lease, select(1))  # type: ignore[call-overload]
        assert pool.checkedout() == 0
        assert driver.autocommit is True  # left so for the next lease
        # A Connection gets it back in transaction mode; one that asked for autocommit, not.
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert raw.driver_connection is driver
            assert driver.autocommit is False
            await connection.execute(select(1))
            assert connection.in_transaction()
        async with Lease(engine) as lease:
            assert await lease.driver_connection() is driver
            assert driver.autocommit is True
        reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        async with reads.connect() as connection:
            raw = await connection.get_raw_connection()
            assert raw.driver_connection is driver
            assert driver.autocommit is True
        async with engine.connect() as connection:
            assert driver.autocommit is False
    finally:
        await engine.dispose()
