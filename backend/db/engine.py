"""The async engine and session factory, built by the app (never at import)."""

import select
from datetime import UTC, datetime
from typing import Any

from psycopg import DataError, pq
from psycopg.abc import Buffer
from psycopg.types.datetime import TimestamptzLoader
from sqlalchemy import URL, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

from backend.core.config import Settings


class CountingPool(AsyncAdaptedQueuePool):
    """The async queue pool, counting the callers waiting for a connection (for /metrics)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting = 0

    def _do_get(self) -> ConnectionPoolEntry:
        self.waiting += 1
        try:
            return super()._do_get()
        finally:
            self.waiting -= 1


def create_engine(
    settings: Settings, url: URL | None = None, *, connect_timeout: int = 5
) -> AsyncEngine:
    """An engine over psycopg 3 with pre-pinged pooled connections, on the primary unless
    another `url` is given."""
    engine = create_async_engine(
        url or settings.database,
        poolclass=CountingPool,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        # A connection that died with a restarted server is replaced, not handed out.
        pool_pre_ping=True,
        # Errors and logs never carry bound values (password hashes, token hashes, emails).
        hide_parameters=True,
        # No startup parameters (PgBouncer refuses `options`): `migrate` sets the database's
        # TimeZone (UTC) and statement_timeout, and responses are written in UTC anyway.
        connect_args=connect_args(settings, connect_timeout=connect_timeout),
    )
    engine.dialect.do_ping = is_connection_alive  # type: ignore[method-assign]
    event.listen(engine.sync_engine, "connect", _load_any_timestamp)
    return engine


# Python's datetime ends at year 9999 and starts at year 1; PostgreSQL's timestamps go
# further (and have infinities). A value stored before the API bounded its input, or by
# hand, reads as the nearest time Python has, instead of failing every read that meets it.
_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


class _ClampedTimestamptzLoader(TimestamptzLoader):
    def load(self, data: Buffer) -> datetime:
        try:
            return super().load(data)
        except DataError:
            written = bytes(data)
            return _FIRST if written.startswith(b"-") or written.endswith(b"BC") else _LAST


def _load_any_timestamp(dbapi_connection: Any, _: Any) -> None:
    adapters = dbapi_connection.driver_connection.adapters
    adapters.register_loader("timestamptz", _ClampedTimestamptzLoader)


def connect_args(settings: Settings, *, connect_timeout: int = 5) -> dict[str, Any]:
    """What every connection is opened with."""
    arguments: dict[str, Any] = {"connect_timeout": connect_timeout}
    if not settings.db_prepared_statements:
        arguments["prepare_threshold"] = None  # never prepare: PgBouncer transaction mode
    return arguments


def is_connection_alive(dbapi_connection: Any) -> bool:
    """A pre-ping without a round trip: an idle, live connection has nothing to read.

    When the server ends a connection (restart, pg_terminate_backend, idle timeout) it sends
    an error and closes the socket, so the socket turns readable. Checking that costs a
    system call instead of a `SELECT 1` on every checkout. poll(), unlike select(), works
    for descriptors of any number (select() fails above 1 023).
    """
    connection = dbapi_connection.driver_connection
    if connection is None or connection.closed or connection.pgconn.status != pq.ConnStatus.OK:
        return False
    poller = select.poll()
    poller.register(connection.pgconn.socket, select.POLLIN | select.POLLPRI)
    return not poller.poll(0)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after the commit, which happens before the response is built.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read: autocommit, so no BEGIN and COMMIT round trips."""
    return create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))
