"""The hot reads: a short, explicit list of reads that run on psycopg itself.

How a read executes, the one rule: **through a SQLAlchemy session (Core or ORM), except the
reads below, which every page view makes and which run on psycopg directly.**

- the signed-in caller (`sessions.get_caller`), for `GET /users/me`, a job's page and a
  candidate's applications;
- a job's page (`jobs.read_access`), autocomplete (`job_search.autocomplete`), every search
  of `GET /jobs` (`job_search.search_newest`, `search_by_salary`, `search_by_relevance`,
  one statement per shape of filters, and its feed) and a candidate's applications
  (`applications.list_for_candidate`).

Each is a `HotRead`: a SQLAlchemy statement compiled once with SQLAlchemy's public
`compile()`, its values adapted by psycopg itself (the schema's enums registered on each
connection, native arrays, UUIDs, timestamps, `Decimal`), its rows built by psycopg's
row factories into the typed class it names (by position where the statement selects a
dataclass's fields in order, else by name). A route opens its connection with
`HotConnections.connection()`: one of psycopg's own pool (`psycopg_pool`, DB_HOT_POOL_SIZE
of the process's DB_POOL_SIZE, in autocommit), waited for in turn when all are busy; when
none comes within a quarter of a second (the server gone, the pool trying to reconnect),
one of the engine's, taken and handed back through SQLAlchemy's public async API
(`AsyncEngine.connect`), overflow included, so a server that is down is still a 503 within
that quarter second. Either is discarded only when psycopg says it is broken. The same
`HotRead` runs on a session too (`one`, `every`), so a route that already holds a session
uses it. Both paths announce each statement to `backend.db.observe`.
"""

import dataclasses
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import psycopg
from psycopg.rows import AsyncRowFactory, args_row, class_row
from psycopg.types.enum import EnumInfo, register_enum
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import URL, Dialect, Enum, Select
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from backend.core.config import Settings
from backend.db import observe
from backend.db.base import Base
from backend.db.engine import connect_args, is_alive, load_any_timestamp

Row = TypeVar("Row")
# Where a read runs: a psycopg connection of the raw path, or a session.
Reader = AsyncSession | psycopg.AsyncConnection[Any]

# The dialect the engine speaks (SQLAlchemy's constructor carries no annotations).
_DIALECT: Dialect = postgresql_psycopg.dialect()  # type: ignore[no-untyped-call]


class HotRead(Generic[Row]):
    """A read of fixed shape on a hot path, and the class each of its rows becomes (built
    from the columns by name: label every column the class has a field for).

    `prepare=False` for a read whose best plan depends on its values (a search's words and
    filters): psycopg then never prepares it, so PostgreSQL plans each execution for its
    values. A prepared statement may be switched to one generic plan for all values after
    five executions, which for a search can be many times slower than the plan its values
    call for; a read whose plan cannot depend on its values (a key lookup) keeps preparing.
    """

    __slots__ = ("defaults", "prepare", "row", "rows", "sql", "statement")

    def __init__(
        self, statement: Select[*tuple[Any, ...]], row: type[Row], *, prepare: bool = True
    ) -> None:
        self.prepare: bool | None = None if prepare else False
        compiled = statement.compile(dialect=_DIALECT)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("a hot read takes no expanding (IN) parameters")
        self.statement = statement
        self.row = row
        self.rows: AsyncRowFactory[Row] = _row_factory(statement, row)
        self.sql: str = compiled.string
        # Values written into the statement itself (`Job.status == JobStatus.published`).
        self.defaults = {
            name: value for name, value in compiled.params.items() if value is not None
        }

    def parameters(self, values: Mapping[str, Any] | None) -> dict[str, Any]:
        return {**self.defaults, **(values or {})}


def _row_factory(statement: Select[*tuple[Any, ...]], row: type[Row]) -> AsyncRowFactory[Row]:
    """psycopg's row factory for `row`: its fields given by position (`args_row`) when the
    statement selects a dataclass's fields in their order, else by name (`class_row`)."""
    if dataclasses.is_dataclass(row):
        fields = [field.name for field in dataclasses.fields(row) if field.init]
        if list(statement.selected_columns.keys()) == fields:
            return args_row(row)
    return class_row(row)


async def one(
    reader: Reader, read: HotRead[Row], values: Mapping[str, Any] | None = None
) -> Row | None:
    """The read's first row, or None."""
    if isinstance(reader, AsyncSession):
        found = (await reader.execute(read.statement, dict(values or {}))).mappings().first()
        return None if found is None else read.row(**found)
    parameters = read.parameters(values)
    observe.statement(read.sql, parameters)
    async with reader.cursor(row_factory=read.rows) as cursor:
        await cursor.execute(read.sql, parameters, prepare=read.prepare)
        return await cursor.fetchone()


async def every(
    reader: Reader, read: HotRead[Row], values: Mapping[str, Any] | None = None
) -> list[Row]:
    """Every row of the read."""
    if isinstance(reader, AsyncSession):
        result = await reader.execute(read.statement, dict(values or {}))
        return [read.row(**found) for found in result.mappings()]
    parameters = read.parameters(values)
    observe.statement(read.sql, parameters)
    async with reader.cursor(row_factory=read.rows) as cursor:
        await cursor.execute(read.sql, parameters, prepare=read.prepare)
        return await cursor.fetchall()


def schema_enums() -> dict[str, type[Any]]:
    """The schema's enum types by name, with the Python enum each maps to."""
    found: dict[str, type[Any]] = {}
    for table in Base.metadata.tables.values():
        for column in table.columns:
            kind = column.type
            if isinstance(kind, Enum) and kind.name and kind.enum_class is not None:
                found[kind.name] = kind.enum_class
    return found


_PREPARED = "hot_reads_prepared"
# How long a hot read waits its turn for a connection of the own pool (seconds) before it
# takes the engine's. Busy, the pool hands one over in a few milliseconds (a hot read holds
# it for about one); a pool that cannot connect (the server gone: it counts the connections
# it keeps trying to open as its own) hands none, and the engine's then answers at once.
OWN_POOL_WAIT = 0.25


def hot_pool_size(settings: Settings) -> int:
    """How many of an API process's DB_POOL_SIZE connections are the hot reads' own (the
    engine keeps at least one)."""
    return max(0, min(settings.db_hot_pool_size, settings.db_pool_size - 1))


class HotConnections:
    """Where the hot reads get a connection: psycopg's own pool when it has one idle, else
    the engine's."""

    def __init__(
        self, engine: AsyncEngine, settings: Settings | None = None, url: URL | None = None
    ) -> None:
        self.engine = engine
        self.enums = schema_enums()
        self._infos: list[tuple[EnumInfo, type[Any]]] | None = None
        # The pool's connections with the enums registered (forgotten with the connection).
        self._prepared: weakref.WeakSet[psycopg.AsyncConnection[Any]] = weakref.WeakSet()
        size = 0 if settings is None else hot_pool_size(settings)
        # How long a hot read waits its turn for the own pool before the engine's takes it.
        self.wait = OWN_POOL_WAIT
        self.pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] | None = None
        if settings is not None and size:
            target = (url or settings.database).set(drivername="postgresql")
            self.pool = AsyncConnectionPool(
                target.render_as_string(hide_password=False),
                kwargs={
                    "autocommit": True,
                    **connect_args(settings, role="api-hot" if url is None else "api-replica-hot"),
                },
                min_size=size,
                max_size=size,
                open=False,
                configure=self._configure,
                name="hot-reads",
            )

    async def open(self) -> None:
        """Start the pool's connections (in the background: a server that is down does not
        stop the app from starting; the hot reads take the engine's meanwhile)."""
        if self.pool is not None:
            await self.pool.open(wait=False)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def _configure(self, driver: psycopg.AsyncConnection[Any]) -> None:
        # Nothing sent to the server here: the enums are registered on first use, as on the
        # engine's connections, so a starting app reads nothing it does not need yet.
        load_any_timestamp(driver)

    async def prepare(self, driver: psycopg.AsyncConnection[Any]) -> None:
        """Register the schema's enums on a connection (their types are read once, from
        the first connection prepared)."""
        if self._infos is None:
            infos = []
            for name, enum in self.enums.items():
                info = await EnumInfo.fetch(driver, name)
                if info is not None:  # a database migrated before the type existed
                    infos.append((info, enum))
            self._infos = infos
        for info, enum in self._infos:
            register_enum(info, driver, enum)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection, handed back on leaving the block; discarded only when
        psycopg says it is broken (a statement timeout keeps it)."""
        own = await self._own()
        if own is not None:
            assert self.pool is not None
            try:
                yield own
            finally:
                # The pool checks what comes back: a broken connection, or one left
                # mid-statement, is closed and replaced; an idle one is kept.
                await self.pool.putconn(own)
            return
        async with self.engine.connect() as connection:
            driver = await self._ready(connection)
            # Autocommit through psycopg's own switch, back off before the connection goes
            # back (on an idle connection neither sends anything): cheaper than SQLAlchemy's
            # isolation-level option, which resets the level on every return.
            await driver.set_autocommit(True)
            try:
                yield driver
            except BaseException as exc:
                if driver.broken or driver.closed or _mid_statement(driver):
                    await connection.invalidate(exc)
                    raise
                await driver.set_autocommit(False)
                raise
            await driver.set_autocommit(False)

    async def _own(self) -> psycopg.AsyncConnection[Any] | None:
        """A connection of the own pool, waited for in turn while all of them are busy; None
        (the engine's, then) when none comes within OWN_POOL_WAIT, or the one that came was
        ended by the server: the engine then answers at once, with a connection or with the
        error a 503 is made of."""
        pool = self.pool
        if pool is None:
            return None
        try:
            own = await pool.getconn(timeout=self.wait)
        except PoolTimeout:
            return None  # none came in time: the engine's pool takes its turn
        if not is_alive(own):
            # The server ended it while it was idle: closed, the pool replaces it.
            await own.close()
            await pool.putconn(own)
            return None
        if own not in self._prepared:
            try:
                await self.prepare(own)
            except BaseException:
                await pool.putconn(own)
                raise
            self._prepared.add(own)
        return own

    async def _ready(self, connection: AsyncConnection) -> psycopg.AsyncConnection[Any]:
        """The psycopg connection under one of the engine's, its enums registered once
        (marked in the pooled connection's documented `info`)."""
        pooled = await connection.get_raw_connection()
        driver = _driver(pooled.driver_connection)
        if not pooled.info.get(_PREPARED):
            await self.prepare(driver)
            pooled.info[_PREPARED] = True
        return driver


class BoundHotConnections(HotConnections):
    """The hot reads on one connection that stays open (a test's, inside its transaction):
    the production path, with the connection given instead of pooled."""

    def __init__(self, engine: AsyncEngine, connection: AsyncConnection) -> None:
        super().__init__(engine)
        self.bound = connection

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        yield await self._ready(self.bound)


def _driver(driver: Any) -> psycopg.AsyncConnection[Any]:
    if not isinstance(driver, psycopg.AsyncConnection):
        raise TypeError("hot reads run on psycopg connections")
    return driver


def _mid_statement(driver: psycopg.AsyncConnection[Any]) -> bool:
    # Left while a statement ran (a deadline cancelled the request): the server may still be
    # sending its result, so the connection cannot serve another.
    return driver.info.transaction_status == psycopg.pq.TransactionStatus.ACTIVE
