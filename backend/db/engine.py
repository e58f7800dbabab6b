"""The async engine and session factory, built by the app (never at import)."""

import select
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import DataError, pq
from psycopg.abc import Buffer
from psycopg.types.datetime import TimestamptzLoader
from sqlalchemy import URL, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import (
    AsyncAdaptedQueuePool,
    ConnectionPoolEntry,
    PoolProxiedConnection,
    PoolResetState,
)

from backend.core.config import Settings
from backend.db import observe

_IDLE = pq.TransactionStatus.IDLE


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
    settings: Settings,
    url: URL | None = None,
    *,
    role: str,
    connect_timeout: int = 5,
    pool_size: int | None = None,
    observed: bool = True,
) -> AsyncEngine:
    """An engine over psycopg 3 with checked pooled connections, on the primary unless
    another `url` is given, with DB_POOL_SIZE connections unless `pool_size` says; its
    connections named for `role` (`application_name`). Its statements are announced to
    `backend.db.observe` unless `observed` is false (a background loop's, which no request
    sends)."""
    engine = create_async_engine(
        url or settings.database,
        poolclass=CountingPool,
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        # A connection that died with a restarted server is replaced, not handed out: see
        # `_refuse_a_dead_connection`, the pool's checkout event.
        # Errors and logs never carry bound values (password hashes, token hashes, emails).
        hide_parameters=True,
        # A connection back in the pool is rolled back only if it is in a transaction
        # (`_roll_back_if_in_transaction`).
        pool_reset_on_return=None,
        # No startup parameters (PgBouncer refuses `options`): `migrate` sets the database's
        # TimeZone (UTC) and statement_timeout, and responses are written in UTC anyway.
        connect_args=connect_args(settings, role=role, connect_timeout=connect_timeout),
    )
    event.listen(engine.sync_engine, "connect", _load_any_timestamp)
    event.listen(engine.sync_engine, "checkout", _refuse_a_dead_connection)
    event.listen(engine.sync_engine, "reset", _roll_back_if_in_transaction)
    if observed:
        observe.announce_sqlalchemy_statements(engine)
    return engine


def _refuse_a_dead_connection(
    dbapi_connection: Any, _: ConnectionPoolEntry, __: PoolProxiedConnection
) -> None:
    """The pool's checkout event: a connection the server ended is refused with
    `DisconnectionError`, on which the pool discards it and checks out another (SQLAlchemy's
    documented pessimistic disconnect handling), without a round trip (`is_connection_alive`)."""
    if not is_connection_alive(dbapi_connection):
        raise DisconnectionError("the server ended this connection")


def _roll_back_if_in_transaction(
    dbapi_connection: Any, _: ConnectionPoolEntry, state: PoolResetState
) -> None:
    """What the pool's reset on return does, without the call when there is nothing to roll
    back: on an idle connection psycopg's rollback sends nothing, but reaching it from the
    pool costs two switches between SQLAlchemy's greenlet and the event loop, on every
    checkin (see BENCHMARKS.md)."""
    if state.terminate_only or not state.asyncio_safe:
        return  # being closed, or outside the event loop: as the default reset, nothing
    driver = dbapi_connection.driver_connection
    if driver.closed or driver.info.transaction_status != _IDLE:
        dbapi_connection.rollback()


# Python's datetime ends at year 9999 and starts at year 1; PostgreSQL's timestamps go
# further (and have infinities). A value stored before the API bounded its input, or by
# hand, reads as the nearest time Python has, instead of failing every read that meets it.
_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


class _ClampedTimestamptzLoader(TimestamptzLoader):
    def load(self, data: Buffer) -> datetime:
        # The server writes ISO 8601 (DateStyle ISO, its default), which the standard
        # library parses in C, some forty times faster than the general loader this class
        # replaces; other styles, years past 9999 and infinities take the general way.
        try:
            return datetime.fromisoformat(bytes(data).decode("ascii"))
        except ValueError:
            pass
        try:
            return super().load(data)
        except DataError:
            written = bytes(data)
            return _FIRST if written.startswith(b"-") or written.endswith(b"BC") else _LAST


def load_any_timestamp(driver: psycopg.AsyncConnection[Any]) -> None:
    """Timestamps past Python's range read as the nearest time it has, on this connection."""
    driver.adapters.register_loader("timestamptz", _ClampedTimestamptzLoader)


def _load_any_timestamp(dbapi_connection: Any, _: Any) -> None:
    load_any_timestamp(dbapi_connection.driver_connection)


def application_name(role: str) -> str:
    """What a connection is called in `pg_stat_activity` and the server's log: the board,
    then the part of it that opened the connection (`api`, `api-hot`, `worker`, `queue`,
    `migrate`, `cli` ...)."""
    return f"jobboard-{role}"


def connect_args(settings: Settings, *, role: str, connect_timeout: int = 5) -> dict[str, Any]:
    """What every connection is opened with (PgBouncer passes `application_name` on)."""
    arguments: dict[str, Any] = {
        "connect_timeout": connect_timeout,
        "application_name": application_name(role),
    }
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
    return connection is not None and is_alive(connection)


def is_alive(connection: psycopg.AsyncConnection[Any]) -> bool:
    """`is_connection_alive` for a psycopg connection itself."""
    if connection.closed or connection.pgconn.status != pq.ConnStatus.OK:
        return False
    poller = select.poll()
    poller.register(connection.pgconn.socket, select.POLLIN | select.POLLPRI)
    return not poller.poll(0)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after the commit, which happens before the response is built.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read: autocommit, so no BEGIN and COMMIT round trips."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        expire_on_commit=False,
        autoflush=False,
    )
