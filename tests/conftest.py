"""Test harness: a throwaway PostgreSQL migrated once; each test in a rolled-back transaction.

The database is found in this order: TEST_DATABASE_URL (used as it is, never dropped);
a testcontainers PostgreSQL where a Docker engine answers; a database with a random name
created on the server of DATABASE_URL and dropped at the end of the run; and where no
server answers there (or with TEST_POSTGRES=embedded), the same on the built-in PostgreSQL
(backend/embedded.py), started in a folder of the run's own.
"""

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, ExitStack
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.config import Settings, load_settings
from backend.db import admin
from backend.db.hot import BoundHotConnections
from backend.main import create_app
from tests.mailbox import messages
from tests.tasks import run_queued

if TYPE_CHECKING:
    from backend.db.models import Company
    from tests.factories import Actors

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256"
# TEST_POSTGRES=embedded: the built-in PostgreSQL (backend/embedded.py), as a machine with
# no server of its own gets it.
EMBEDDED = os.environ.get("TEST_POSTGRES") == "embedded"


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        url = make_url(explicit)
        admin.create_database(url)
        yield url
        return
    if not EMBEDDED and _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15-alpine", driver="psycopg") as container:
            yield make_url(container.get_connection_url())
        return
    server = load_settings(environment="development").database
    with ExitStack() as stack:
        if EMBEDDED or not admin.answers(server):
            from backend.embedded import start

            # This run's own, in a folder of its own, stopped and deleted with it.
            server, handle = start(tmp_path_factory.mktemp("pgdata"), "postgres")
            stack.enter_context(handle)
        url = server.set(database=f"jobboard_test_{uuid.uuid4().hex[:12]}")
        admin.create_database(url)
        try:
            yield url
        finally:
            admin.drop_database(url)


# TEST_PGBOUNCER_PORT: the app reaches the test database through a PgBouncer on this
# port of the same host (migrations and fixtures still go straight to PostgreSQL), with
# prepared statements off. TEST_SERVER_TIMEZONE: the time zone PostgreSQL speaks to the
# test role in the test database, to show that responses are UTC whatever it is.
PGBOUNCER_PORT = os.environ.get("TEST_PGBOUNCER_PORT")
SERVER_TIMEZONE = os.environ.get("TEST_SERVER_TIMEZONE")


@pytest.fixture(scope="session")
def migrated_url(database_url: URL) -> URL:
    admin.upgrade(database_url)
    admin.configure_database(database_url, statement_timeout_ms=15_000)
    if SERVER_TIMEZONE:
        import psycopg
        from psycopg import sql

        with psycopg.connect(admin.conninfo(database_url), autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER ROLE CURRENT_USER IN DATABASE {} SET timezone TO {}").format(
                    sql.Identifier(str(database_url.database)), sql.Literal(SERVER_TIMEZONE)
                )
            )
    return database_url


def app_database(url: URL) -> tuple[URL, bool]:
    """The URL the app uses for `url`'s database, and whether it may prepare statements."""
    if PGBOUNCER_PORT:
        return url.set(port=int(PGBOUNCER_PORT)), False
    return url, True


# The search engine's index of this test process's database (every app of the process
# shares it: one writes, the others read).
SEARCH_INDEX_DIR = Path(tempfile.mkdtemp(prefix="jobboard-test-search-"))


def make_settings(url: URL, **overrides: object) -> Settings:
    """Settings of an app on `url`'s database (through PgBouncer when the run uses one,
    unless `direct=True`)."""
    direct = bool(overrides.pop("direct", False))
    app_url, prepared = (url, True) if direct else app_database(url)
    values: dict[str, object] = {
        "environment": "development",
        "secret_key": TEST_SECRET_KEY,
        "database_url": app_url.render_as_string(hide_password=False),
        "db_prepared_statements": prepared,
        "bcrypt_rounds": 4,
        "cors_origins": [],
        "search_index_dir": SEARCH_INDEX_DIR,
        # New posters' jobs are published at once, as every test but moderation's expects
        # (tests/test_moderation.py turns review on; the setting's default holds them).
        "moderation_first_jobs": 0,
        "moderation_signals_hold": False,
        # Every test account's address is at example.com: no daily limit of publications
        # stands in the way of the tests that publish many (tests/test_moderation.py sets
        # its own).
        "jobs_per_day": 100_000,
        "jobs_per_day_per_domain": 1_000_000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(migrated_url: URL) -> Settings:
    return make_settings(migrated_url)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def session_factory(app: FastAPI) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on one connection inside an outer transaction rolled back after the test.

    Requests made during the test use it too: the app's commits release savepoints only,
    and its hot reads run on that connection (`BoundHotConnections`: the production raw path
    with the test's connection given instead of a pooled one).
    """
    async with app.state.engine.connect() as connection:
        transaction = await connection.begin()
        factory = async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        hot = BoundHotConnections(app.state.engine, connection)
        originals = app.state.sessionmaker, app.state.read_sessionmaker, app.state.hot
        app.state.sessionmaker = app.state.read_sessionmaker = factory
        app.state.hot = hot
        app.state.bound_hot = hot
        try:
            yield factory
        finally:
            app.state.sessionmaker, app.state.read_sessionmaker, app.state.hot = originals
            await transaction.rollback()


@pytest.fixture
async def db(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


@pytest.fixture
async def client(app: FastAPI, db: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        http.app = app  # type: ignore[attr-defined]
        yield http


ClientFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def make_client(
    migrated_url: URL,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
) -> AsyncIterator[ClientFactory]:
    """Build a client for an app with other settings, in this test's rolled-back transaction.

    `client_address` sets the peer address the app sees.
    """
    async with AsyncExitStack() as stack:

        async def make(client_address: str = "127.0.0.1", **overrides: object) -> httpx.AsyncClient:
            application = create_app(make_settings(migrated_url, **overrides))
            await stack.enter_async_context(application.router.lifespan_context(application))
            application.state.sessionmaker = session_factory
            application.state.read_sessionmaker = session_factory
            application.state.hot = app.state.bound_hot
            transport = httpx.ASGITransport(app=application, client=(client_address, 50000))
            http = httpx.AsyncClient(transport=transport, base_url="http://test")
            http.app = application  # type: ignore[attr-defined]
            return await stack.enter_async_context(http)

        yield make


@pytest.fixture
async def mail_client(make_client: ClientFactory, tmp_path: Path) -> httpx.AsyncClient:
    """A client of an app that writes its mail into `tmp_path` (a module may redefine it
    with other settings)."""
    return await make_client(
        mail_backend="file",
        mail_file_dir=tmp_path,
        frontend_url="https://jobs.example",
        api_url="https://api.jobs.example",
    )


# The mail sent so far, once every task the requests asked for has run.
Sent = Callable[[], Awaitable[list[EmailMessage]]]


@pytest.fixture
def sent(mail_client: httpx.AsyncClient, db: AsyncSession, tmp_path: Path) -> Sent:
    """What `mail_client`'s requests mailed into `tmp_path`, their tasks run first (as a
    worker would, in the test's transaction)."""

    async def deliver() -> list[EmailMessage]:
        await run_queued(mail_client, db)
        return messages(tmp_path)

    return deliver


_EVERY_TABLE = (
    "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
    "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
)


async def _empty_every_table(application: FastAPI) -> None:
    """TRUNCATE every table, waiting at most a second at a time for its locks and trying
    again: a TRUNCATE queued behind another worker's test transaction would block every
    new lock request on these tables meanwhile, and that test may be waiting (over HTTP, or
    through an app of its own) for one of those very requests, which PostgreSQL cannot see
    as a deadlock."""
    for attempt in range(60):
        try:
            async with application.state.engine.begin() as connection:
                await connection.execute(text("SET LOCAL lock_timeout = '1s'"))
                # Whatever a test left on the server's session (through PgBouncer a SET
                # outlives the client that made it), the cleanup is not cut short.
                await connection.execute(text("SET LOCAL statement_timeout = '60s'"))
                tables = await connection.execute(text(_EVERY_TABLE))
                await connection.execute(text(f"TRUNCATE {tables.scalar_one()} CASCADE"))
            return
        except OperationalError as error:
            if not isinstance(error.orig, psycopg.errors.LockNotAvailable) or attempt == 59:
                raise
            await asyncio.sleep(0.2)


def empty_every_table(url: URL) -> None:
    """What tests of real servers committed, gone (straight to PostgreSQL)."""
    for attempt in range(60):  # as `_empty_every_table`, and why
        try:
            with psycopg.connect(admin.conninfo(url)) as connection, connection.transaction():
                connection.execute("SET LOCAL lock_timeout = '1s'")
                connection.execute("SET LOCAL statement_timeout = '60s'")
                row = connection.execute(_EVERY_TABLE).fetchone()
                assert row is not None
                connection.execute(f"TRUNCATE {row[0]} CASCADE")
            return
        except psycopg.errors.LockNotAvailable:
            if attempt == 59:
                raise
            time.sleep(0.2)


@pytest.fixture
async def live_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """An app whose requests really commit, each on its own connection (for concurrency).

    Every table is emptied afterwards.
    """
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        try:
            yield application
        finally:
            await _empty_every_table(application)


@pytest.fixture
async def live_client(live_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=live_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        http.app = live_app  # type: ignore[attr-defined]
        yield http


@pytest.fixture
async def make_live_client(migrated_url: URL) -> AsyncIterator[ClientFactory]:
    """Like `live_client`, for an app with other settings; every table is emptied afterwards."""
    async with AsyncExitStack() as stack:
        built: list[FastAPI] = []

        async def make(client_address: str = "127.0.0.1", **overrides: object) -> httpx.AsyncClient:
            application = create_app(make_settings(migrated_url, **overrides))
            await stack.enter_async_context(application.router.lifespan_context(application))
            built.append(application)
            transport = httpx.ASGITransport(app=application, client=(client_address, 50000))
            http = httpx.AsyncClient(transport=transport, base_url="http://test")
            http.app = application  # type: ignore[attr-defined]
            return await stack.enter_async_context(http)

        try:
            yield make
        finally:
            if built:
                await _empty_every_table(built[0])


@pytest.fixture
async def actors(db: AsyncSession, app: FastAPI, client: httpx.AsyncClient) -> "Actors":
    """Two employers with a company each, two candidates and an admin, all signed in."""
    from tests.factories import make_actors

    return await make_actors(db, app, client)


@pytest.fixture
def company(actors: "Actors") -> "Company":
    """The first employer's company."""
    assert actors.employer.company is not None
    return actors.employer.company
