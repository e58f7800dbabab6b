"""The async engine and session factory, built by the app (never at import)."""

import select
from typing import Any

from psycopg import pq
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from backend.core.config import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    """An engine over psycopg 3 with pre-pinged pooled connections and a statement timeout."""
    engine = create_async_engine(
        settings.database,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        # A connection that died with a restarted server is replaced, not handed out.
        pool_pre_ping=True,
        # Errors and logs never carry bound values (password hashes, token hashes, emails).
        hide_parameters=True,
        connect_args={
            # UTC timestamps come back from every server, whatever its TimeZone.
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms} -c TimeZone=UTC",
            "connect_timeout": 5,
        },
    )
    engine.dialect.do_ping = is_connection_alive  # type: ignore[method-assign]
    return engine


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
