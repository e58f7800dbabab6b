"""Overload with small, fixed sizes: a sign-in storm starves no read, a full hash queue says
so at once, and a request past its deadline is stopped with its database work."""

import asyncio
import time
from collections import Counter

import httpx
import psycopg
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from backend.db import admin
from backend.db.models import AuthAttempt, Role
from backend.services.throttle import LOGIN_EMAIL
from tests.conftest import ClientFactory
from tests.factories import assert_problem, unique_email
from tests.test_races import live_job, live_user

API = "/api/v1"


async def timed_get(client: httpx.AsyncClient, url: str) -> tuple[int, float]:
    started = time.perf_counter()
    response = await client.get(url)
    return response.status_code, time.perf_counter() - started


async def test_a_sign_in_storm_starves_no_read(make_live_client: ClientFactory) -> None:
    # A pool of 2 connections: were bcrypt to hold one, 40 sign-ins would hold both and
    # the job list would wait past its 2 s pool timeout (503).
    client = await make_live_client(
        bcrypt_rounds=10,
        db_pool_size=2,
        db_max_overflow=0,
        db_pool_timeout_seconds=2,
        rate_limits_enabled=False,
        password_hash_queue_limit=16,
    )
    idle = [await timed_get(client, f"{API}/jobs") for _ in range(5)]
    assert all(status == 200 for status, _ in idle)

    sign_ins = [
        client.post(
            f"{API}/auth/token", data={"username": unique_email("storm"), "password": "wrong pw!"}
        )
        for _ in range(40)
    ]
    reads = [timed_get(client, f"{API}/jobs") for _ in range(10)]
    storm_task = asyncio.gather(*sign_ins)
    during = await asyncio.gather(*reads)
    storm = [response.status_code for response in await storm_task]
    # No read waited out the 2 s pool timeout (that would be a 503): the sign-ins never
    # held the connections. What a read took beyond that is the machine's CPU (bcrypt's
    # threads and, on a shared two-core machine, other tests), so no wall-clock bound here.
    assert [status for status, _ in during] == [200] * 10
    assert set(storm) <= {401, 503}
    assert storm.count(503) > 0  # more arrived than the queue holds: refused at once


async def test_a_password_hash_in_progress_holds_no_database_connection(
    make_live_client: ClientFactory,
) -> None:
    """Decided by the pool, not a clock: one connection in all, a 0.5 s wait for it, and a
    hash that takes far longer. Were the sign-in to hold the connection while hashing, the
    read during the hash would wait out the pool timeout and be a 503."""
    client = await make_live_client(
        bcrypt_rounds=14,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_seconds=0.5,
        rate_limits_enabled=False,
    )
    app: FastAPI = client.app  # type: ignore[attr-defined]
    sign_in = asyncio.create_task(
        client.post(
            f"{API}/auth/token", data={"username": unique_email("slow"), "password": "wrong pw!"}
        )
    )
    for _ in range(1000):
        if app.state.hasher.pending:
            break
        await asyncio.sleep(0.005)
    assert app.state.hasher.pending == 1
    read = await client.get(f"{API}/companies")
    assert read.status_code == 200, read.text
    # The hash was still running: the read was served during it.
    assert app.state.hasher.pending == 1
    assert (await sign_in).status_code == 401
    # And a held connection does make that read a 503: the check can fail.
    async with app.state.engine.connect() as held:
        await held.exec_driver_sql("SELECT 1")
        assert_problem(await client.get(f"{API}/companies"), 503)


async def test_a_full_hash_queue_is_503_at_once_and_counts_nothing(
    make_live_client: ClientFactory,
) -> None:
    client = await make_live_client(
        bcrypt_rounds=10, password_hash_queue_limit=2, login_max_failures=100
    )
    user, _ = await live_user(client, Role.candidate)
    responses = await asyncio.gather(
        *(
            client.post(f"{API}/auth/token", data={"username": user.email, "password": "wrong!!!"})
            for _ in range(12)
        )
    )
    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) == {401, 503}
    for response in responses:
        if response.status_code == 503:
            assert_problem(response, 503)
            assert response.headers["Retry-After"] == "1"
    app: FastAPI = client.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as db:
        counted = await db.scalar(
            select(func.count()).select_from(AuthAttempt).where(AuthAttempt.kind == LOGIN_EMAIL)
        )
    # Only the checks that ran are failures.
    assert counted == statuses[401]


async def test_a_request_past_its_deadline_is_503_and_its_work_is_cancelled(
    make_live_client: ClientFactory, migrated_url: URL
) -> None:
    # The account and the job are made under the usual deadline: on a loaded machine a
    # sign-in may pass half a second, and it is not what is tested here.
    setup = await make_live_client()
    _, employer = await live_user(setup, Role.employer)
    job_id = await live_job(setup, employer)
    client = await make_live_client(request_timeout_seconds=0.5)
    # Another connection holds the job's row: the change below waits for it.
    async with await psycopg.AsyncConnection.connect(admin.conninfo(migrated_url)) as holder:
        await holder.execute("SELECT 1 FROM jobs WHERE id = %s FOR UPDATE", (job_id,))
        started = time.perf_counter()
        response = await client.patch(
            f"{API}/jobs/{job_id}", json={"title": "Too late"}, headers=employer
        )
        elapsed = time.perf_counter() - started
        problem = assert_problem(response, 503)
        assert "0.5 seconds" in str(problem["detail"])
        assert response.headers["Retry-After"] == "1"
        assert 0.5 <= elapsed < 3, elapsed
        # The waiting statement was cancelled on the server, not left queued for the lock.
        waiting = await holder.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        assert (await waiting.fetchone()) == (0,)
        await holder.rollback()
    # And the app goes on serving, the change undone. The app's deadline is still 0.5 s: on
    # a loaded machine a read can pass it too (a 503 of its own), so a few are allowed.
    for _ in range(5):
        read = await client.get(f"{API}/jobs/{job_id}")
        if read.status_code != 503:
            break
        assert "0.5 seconds" in str(read.json()["detail"])
    assert read.status_code == 200, read.text
    assert read.json()["title"] == "Race Engineer"
