"""The async engine and session factory, built by the app (never at import)."""

import asyncio
import select
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import DataError, pq
from psycopg.abc import Buffer
from psycopg.types.datetime import TimestamptzLoader
from sqlalchemy import URL, Connection, Dialect, event
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import (
    AsyncAdaptedQueuePool,
    ConnectionPoolEntry,
    PoolProxiedConnection,
    PoolResetState,
)
from sqlalchemy.util import greenlet_spawn

from backend.core.config import Settings

_IDLE = pq.TransactionStatus.IDLE
_OK = pq.ConnStatus.OK


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
        # A connection back in the pool is rolled back only if it is in a transaction
        # (`_roll_back_if_in_transaction`).
        pool_reset_on_return=None,
        # No startup parameters (PgBouncer refuses `options`): `migrate` sets the database's
        # TimeZone (UTC) and statement_timeout, and responses are written in UTC anyway.
        connect_args=connect_args(settings, connect_timeout=connect_timeout),
    )
    engine.dialect.do_ping = is_connection_alive  # type: ignore[method-assign]
    event.listen(engine.sync_engine, "connect", _load_any_timestamp)
    event.listen(engine.sync_engine, "reset", _roll_back_if_in_transaction)
    event.listen(engine.sync_engine, "engine_connect", _in_transaction_mode)
    return engine


def _in_transaction_mode(connection: Connection) -> None:
    """A `Connection` runs its statements in transactions, unless it asked for autocommit.

    Leased reads (`Lease`, `ReadSession`) hand their connection back still in autocommit:
    the next lease finds it so, and a `Connection` that gets it switches it back here (in
    SQLAlchemy's greenlet; on an idle connection nothing is sent). Under reads alone a
    connection is never switched at all, instead of twice a read.
    """
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return  # what SQLAlchemy itself sets for such a connection
    adapted = connection.connection.dbapi_connection
    if adapted is not None and adapted.autocommit:
        adapted.autocommit = False


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


def as_sqlalchemy_error(exc: psycopg.Error, sql: str | None, dialect: Dialect) -> StatementError:
    """A driver error as SQLAlchemy raises it, so that the problem handlers map it (503s,
    constraint names), without its parameters."""
    return DBAPIError.instance(sql, None, exc, psycopg.Error, hide_parameters=True, dialect=dialect)


_LEASE = "read_lease"


class _ReadSyncSession(Session):
    pass


@event.listens_for(_ReadSyncSession, "after_transaction_create")
def _lease_ends_where_a_transaction_begins(session: Session, transaction: Any) -> None:
    # The session is about to take a connection of its own (an ORM or Core read): the
    # leased one goes back first, so that a request never holds two. This runs inside the
    # session's greenlet, where the pool's blocking calls may wait.
    if transaction.parent is None and _LEASE in session.info:
        _return_lease(session.info)


def _reusable(driver: psycopg.AsyncConnection[Any] | None) -> bool:
    # Read from libpq's connection itself: `driver.info` builds an object on every call.
    return (
        driver is not None
        and driver.pgconn.status == _OK
        and driver.pgconn.transaction_status == _IDLE
    )


def _return_lease(info: dict[Any, Any]) -> None:
    """Back to the pool, inside SQLAlchemy's greenlet (where the pool may wait)."""
    lease: PoolProxiedConnection = info.pop(_LEASE)
    try:
        if not _reusable(lease.driver_connection):
            # Cancelled mid-statement (a deadline) or broken: never handed out again.
            lease.invalidate()
    finally:
        lease.close()  # back to the pool, or (invalidated) closed and replaced


async def _take_lease(engine: AsyncEngine, info: dict[Any, Any]) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection leased into `info`, leased from `engine`'s pool (checked out,
    pre-pinged, in autocommit: switched on here unless the last lease left it so) on first
    use."""
    lease: PoolProxiedConnection | None = info.get(_LEASE)
    if lease is None:
        try:
            lease = await engine.raw_connection()
        except psycopg.Error as exc:  # as a `Connection` would raise it: a 503
            raise as_sqlalchemy_error(exc, None, engine.dialect) from exc
        info[_LEASE] = lease
        driver = lease.driver_connection
        assert driver is not None
        if not driver.autocommit:
            try:
                await driver.set_autocommit(True)
            except BaseException:
                await _hand_back(info)
                raise
    connection: psycopg.AsyncConnection[Any] | None = lease.driver_connection
    assert connection is not None
    return connection


async def _discard_lease(info: dict[Any, Any], exc: BaseException) -> None:
    """A statement on the lease failed for the connection's sake: it is discarded."""
    lease: PoolProxiedConnection | None = info.pop(_LEASE, None)
    if lease is not None:
        await greenlet_spawn(lease.invalidate, exc)
        await greenlet_spawn(lease.close)


async def _hand_back(info: dict[Any, Any]) -> None:
    """Hand the connection leased into `info` back to the pool (nothing if none is)."""
    lease: PoolProxiedConnection | None = info.get(_LEASE)
    if lease is None:
        return
    if _reusable(lease.driver_connection):
        # Back in autocommit (see `_in_transaction_mode`). Checking in an idle connection
        # neither waits nor talks to the server (the reset listener has nothing to roll
        # back; the pool's queue takes it back at once), so it needs no trip into
        # SQLAlchemy's greenlet, which is there for the driver's awaits. SQLAlchemy itself
        # returns connections from outside its greenlet when the garbage collector finds
        # them.
        del info[_LEASE]
        lease.close()
        return
    await greenlet_spawn(_return_lease, info)


def _holds_an_idle_lease(info: dict[Any, Any]) -> bool:
    lease: PoolProxiedConnection | None = info.get(_LEASE)
    return lease is not None and _reusable(lease.driver_connection)


class Lease:
    """One pooled connection for a read whose statements are all compiled once
    (`repository.base.Prepared`): leased from the engine's pool on first use, in autocommit,
    and handed back on leaving `async with`.

    What a `ReadSession` does for such a read, without the session: building, tracking and
    closing an ORM session that never runs a statement of its own cost `GET /users/me`
    about 8% of its throughput (see BENCHMARKS.md). A statement that is not compiled once
    cannot run here; a route that needs one opens a session.
    """

    __slots__ = ("engine", "info")

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.info: dict[Any, Any] = {}

    async def __aenter__(self) -> "Lease":
        return self

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        if _LEASE not in self.info:
            return
        if _holds_an_idle_lease(self.info):
            await _hand_back(self.info)  # never waits: no cancellation can land inside it
            return
        # Left mid-statement (a deadline's cancellation) or broken: discarding the connection
        # talks to the server, so it runs in a task of its own that the request's
        # cancellation does not interrupt, as SQLAlchemy closes a session.
        await asyncio.shield(asyncio.create_task(_hand_back(self.info)))

    async def driver_connection(self) -> psycopg.AsyncConnection[Any]:
        """The leased psycopg connection (leased on first use)."""
        return await _take_lease(self.engine, self.info)

    async def invalidate_lease(self, exc: BaseException) -> None:
        await _discard_lease(self.info, exc)


class ReadSession(AsyncSession):
    """The session of a request that only reads.

    Its statements run in autocommit. Statements compiled once (`repository.base.Prepared`,
    the hot read paths) run on a connection leased straight from the engine's pool
    (`driver_connection`): no ORM session transaction, no `Connection` object, no isolation
    level bookkeeping, which is most of what a short read costs in SQLAlchemy (about 300 us
    a request, see BENCHMARKS.md). Anything else the session runs takes the ordinary path;
    the lease is returned before that, and when the session closes. A read that runs only
    statements compiled once needs no session at all: it takes a `Lease`.
    """

    sync_session_class = _ReadSyncSession

    async def driver_connection(self) -> psycopg.AsyncConnection[Any] | None:
        """The leased psycopg connection (leased on first use), or None where the session
        already holds a connection of its own or is not bound to an engine (the tests' one
        outer transaction): then statements run on the session's connection."""
        if self.in_transaction() or not isinstance(self.bind, AsyncEngine):
            return None
        return await _take_lease(self.bind, self.info)

    async def invalidate_lease(self, exc: BaseException) -> None:
        """A statement on the lease failed for the connection's sake: it is discarded."""
        await _discard_lease(self.info, exc)

    async def return_lease(self) -> None:
        """Hand the leased connection back to the pool (nothing if none is leased)."""
        await _hand_back(self.info)

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        if self._holds_only_an_idle_lease():
            # Returning an idle lease never waits (nothing is sent on an idle connection,
            # and the pool takes it back without blocking), so no cancellation can land in
            # the middle of it: no task of its own to shield it, which SQLAlchemy's exit
            # makes for every close and which costs two turns of the event loop.
            await self.close()
            return
        await super().__aexit__(type_, value, traceback)

    def _holds_only_an_idle_lease(self) -> bool:
        sync = self.sync_session
        return (
            _holds_an_idle_lease(self.info) and not sync.in_transaction() and not sync.identity_map
        )

    async def close(self) -> None:
        leased = _LEASE in self.info
        await self.return_lease()
        sync = self.sync_session
        if leased and not sync.in_transaction() and not sync.identity_map:
            # Only the lease was used: the session holds nothing to close, and closing it
            # anyway would cost another trip into SQLAlchemy's greenlet on every read.
            return
        await super().close()


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[ReadSession]:
    """Sessions for requests that only read: autocommit, so no BEGIN and COMMIT round trips."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        class_=ReadSession,
        expire_on_commit=False,
        autoflush=False,
    )
