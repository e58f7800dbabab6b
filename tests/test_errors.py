"""Cross-cutting error behaviour: problem bodies, 413, 500, 503, request ids, pooling."""

import uuid
from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.security import create_access_token
from backend.main import create_app
from tests.conftest import make_settings
from tests.factories import DEFAULT_PASSWORD, Actors, assert_problem, bearer

REGISTER = "/api/v1/auth/register"


async def test_unknown_route_is_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/nothing-here"), 404)


async def test_wrong_method_is_405_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.delete("/api/v1/auth/register"), 405)


async def test_body_over_the_limit_is_413_before_parsing(client: httpx.AsyncClient) -> None:
    oversized = b'{"email": "' + b"a" * (1024 * 1024) + b'"}'
    response = await client.post(
        REGISTER, content=oversized, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)


async def test_streamed_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"a" * 65536 * 2

    response = await client.post(
        REGISTER, content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


async def test_bad_content_length_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        REGISTER, content=b"{}", headers={"content-type": "application/json", "content-length": "x"}
    )
    assert_problem(response, 400)


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    made = await client.get("/health/live")
    assert len(made.headers["x-request-id"]) == 32
    echoed = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    unsafe = await client.get("/health/live", headers={"X-Request-ID": "a b<script>"})
    assert unsafe.headers["x-request-id"] != "a b<script>"


async def test_unexpected_error_is_a_bare_500_problem(
    settings: object, migrated_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(migrated_url))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: SELECT password FROM users")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom", headers={"X-Request-ID": "req-42"})
    problem = assert_problem(response, 500)
    assert "req-42" in str(problem["detail"])
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert "req-42" in caplog.text
    assert "secret internals" in caplog.text


@pytest.fixture
async def app_without_database(migrated_url: URL) -> AsyncIterator[httpx.AsyncClient]:
    # Port 1 on loopback: nothing listens there, so every connection is refused at once.
    settings = make_settings(migrated_url.set(port=1), direct=True, db_pool_timeout_seconds=2)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def test_database_down_is_503_with_retry_after(
    app_without_database: httpx.AsyncClient,
) -> None:
    client = app_without_database
    settings = client.app.state.settings  # type: ignore[attr-defined]
    token = create_access_token(settings, user_id=1, session_id=uuid.uuid4()).token
    responses = [
        await client.get("/api/v1/users/me", headers=bearer(token)),
        await client.post(
            REGISTER,
            json={"email": "a@example.com", "password": DEFAULT_PASSWORD, "full_name": "A"},
        ),
        await client.post(
            "/api/v1/auth/token", data={"username": "a@example.com", "password": DEFAULT_PASSWORD}
        ),
        await client.get("/health/ready"),
    ]
    for response in responses:
        assert_problem(response, 503)
        assert int(response.headers["retry-after"]) > 0
    assert (await client.get("/health/live")).status_code == 200


async def test_restarted_database_costs_no_failed_request(
    live_app: FastAPI, migrated_url: URL
) -> None:
    transport = httpx.ASGITransport(app=live_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        body = {"email": "pool@example.com", "password": DEFAULT_PASSWORD, "full_name": "P"}
        assert (await client.post(REGISTER, json=body)).status_code == 201
        # Kill every server connection the pool holds, as a database restart would.
        engine = live_app.state.engine
        pooled = [await engine.connect() for _ in range(engine.pool.checkedin())]
        assert pooled
        pids = [(await c.execute(text("SELECT pg_backend_pid()"))).scalar_one() for c in pooled]
        for connection in pooled:
            await connection.close()
        conninfo = migrated_url.set(drivername="postgresql")
        with psycopg.connect(conninfo.render_as_string(hide_password=False)) as killer:
            # With a timeout, each call returns once that backend has exited, as after a restart.
            for pid in pids:
                terminated = killer.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
                assert terminated.fetchone() == (True,)
        token = await client.post(
            "/api/v1/auth/token",
            data={"username": "pool@example.com", "password": DEFAULT_PASSWORD},
        )
        assert token.status_code == 200, token.text


async def test_a_write_to_a_read_only_database_is_503_not_500(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, caplog: pytest.LogCaptureFixture
) -> None:
    # As on a standby: this test's requests share its connection, now read-only.
    await db.execute(text("SET LOCAL transaction_read_only = on"))
    headers = actors.employer.headers
    created = await client.post("/api/v1/companies", json={"name": "Co"}, headers=headers)
    problem = assert_problem(created, 503)
    assert "read-only" in str(problem["detail"])
    assert created.headers["Retry-After"]
    # A sign-out that cannot be written is not a 204: the client knows it did not happen.
    assert_problem(await client.post("/api/v1/auth/logout", headers=headers), 503)
    assert "ReadOnlySqlTransaction [25006]" in caplog.text
    # Reads go on.
    assert (await client.get("/api/v1/jobs")).status_code == 200
