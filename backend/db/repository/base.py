"""What every repository shares: setting columns, row locks, and the id-ordered keyset."""

from collections import namedtuple
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, TypeVarTuple, overload

import psycopg
from sqlalchemy import Connection, Dialect, Engine, Executable, Float, Row, Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from backend.core.cursor import CursorId, Position
from backend.core.pagination import Positioned
from backend.db.base import Base
from backend.db.engine import Lease, ReadSession, as_sqlalchemy_error

Model = TypeVar("Model", bound=Base)
# A row of any columns, read by attribute (`row.id`) or by position.
AnyRow = Row[*tuple[Any, ...]]
# Where reads run: a session, or a `Lease` for reads whose statements are all `Prepared`.
Reader = AsyncSession | Lease
Columns = TypeVarTuple("Columns")

# How a loader reads a row it is about to change: "update" locks it against every other
# writer until the transaction ends, "share" only against changes (several may share it).
Lock = Literal["update", "share"] | None


async def update(session: AsyncSession, instance: Model, **values: object) -> Model:
    """Set the given columns on a loaded row and flush; server-side values come back."""
    for name, value in values.items():
        setattr(instance, name, value)
    await session.flush()
    return instance


class Prepared:
    """A read statement of fixed shape, declared once by its repository (`bindparam`s for its
    values) and compiled once: `first` and `all_rows` send its SQL straight to the request's
    psycopg connection, skipping SQLAlchemy's per-execution work (cache key, compiled-cache
    lookup, result set metadata) on the paths every request takes. Values still travel as
    bound parameters; types with Python-side conversions are converted both ways as
    SQLAlchemy would."""

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None

    def compiled(self, dialect: Dialect) -> "_Compiled":
        if self._compiled is None:
            compiled = self.statement.compile(dialect=dialect)
            if any(bind.expanding for bind in compiled.binds.values()):
                raise ValueError("a Prepared statement cannot take expanding (IN) parameters")
            self._compiled = _Compiled(
                sql=compiled.string,
                defaults={
                    name: bind.effective_value
                    for name, bind in compiled.binds.items()
                    if not bind.required
                },
                binds={
                    name: process
                    for name, process in compiled._bind_processors.items()
                    if callable(process)
                },
                processed=tuple(
                    (index, process)
                    for index, column in enumerate(self.statement.selected_columns)
                    if (process := _result_processor(column.type, dialect)) is not None
                ),
                # Rows read by attribute (`row.id`) as well as by position.
                make=namedtuple(
                    "PreparedRow",
                    [column.key or "_" for column in self.statement.selected_columns],
                    rename=True,
                ),
            )
        return self._compiled


def _result_processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    # A float column arrives as a Python float from psycopg; SQLAlchemy's processor for it
    # would need the driver's type code, which is known only once a result is described.
    if isinstance(type_, Float) and not type_.asdecimal:
        return None
    return type_._cached_result_processor(dialect, None)


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    defaults: Mapping[str, Any]
    binds: Mapping[str, Callable[[Any], Any]]
    # The columns whose values SQLAlchemy converts (enums, arrays), by position.
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]
    make: Callable[..., tuple[Any, ...]]

    def parameters(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        values = {**self.defaults, **(params or {})}
        for name, process in self.binds.items():
            if name in values:
                values[name] = process(values[name])
        return values

    def row(self, raw: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self.processed:
            return self.make(*raw)
        values = list(raw)
        for index, process in self.processed:
            if values[index] is not None:
                values[index] = process(values[index])
        return self.make(*values)


async def _run_prepared(
    session: Reader, query: Prepared, params: Mapping[str, Any] | None
) -> tuple[_Compiled, Any]:
    # Where the statement runs: the connection a `Lease` or a read session leases from the
    # pool, or the one the session holds. Either way, what listens to the engine's statements
    # (query counts, plans, tracing) hears it as if SQLAlchemy had sent it, and a connection
    # that broke is never handed out again.
    invalidate: Callable[[BaseException], Awaitable[None]]
    listener: Engine | Connection | None
    listened: Any = None  # no `Connection` exists for a leased read
    if isinstance(session, Lease):
        driver = await session.driver_connection()
        dialect, listener = session.engine.dialect, session.engine.sync_engine
        invalidate = session.invalidate_lease
    elif isinstance(session, ReadSession) and (leased := await session.driver_connection()):
        assert session.bind is not None
        driver = leased
        dialect, listener = session.bind.dialect, session.bind.sync_engine
        invalidate = session.invalidate_lease
    else:
        connection = await session.connection()
        held = (await connection.get_raw_connection()).driver_connection
        assert held is not None
        driver = held
        dialect, listener = connection.dialect, connection.sync_connection
        listened = listener
        invalidate = connection.invalidate
    compiled = query.compiled(dialect)
    values = compiled.parameters(params)
    if listener is not None and listener.dispatch.before_cursor_execute:
        listener.dispatch.before_cursor_execute(listened, None, compiled.sql, values, None, False)
    try:
        return compiled, await driver.execute(compiled.sql, values)
    except psycopg.Error as exc:
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            await invalidate(exc)
        raise as_sqlalchemy_error(exc, compiled.sql, dialect) from exc


@overload
async def first(
    session: Reader, statement: Prepared, params: Mapping[str, Any] | None = None
) -> Any | None: ...
@overload
async def first(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any] | None = None
) -> AnyRow | None: ...
async def first(
    session: Reader,
    statement: Executable | Prepared,
    params: Mapping[str, Any] | None = None,
) -> tuple[Any, ...] | AnyRow | None:
    """Run a read statement on the session's connection; its first row, or None.

    How reads execute is decided here, for every repository: as Core on the connection the
    request already holds, so rows come back as tuples, with no ORM loading and no identity
    map they would never use; a `Prepared` statement goes straight to the driver. Writes that
    change loaded objects keep the ORM session.
    """
    if isinstance(statement, Prepared):
        compiled, cursor = await _run_prepared(session, statement, params)
        raw = await cursor.fetchone()
        return None if raw is None else compiled.row(raw)
    if isinstance(session, Lease):
        raise TypeError("a Lease runs Prepared statements only: open a session")
    connection = await session.connection()
    return (await connection.execute(statement, params)).first()


@overload
async def all_rows(
    session: Reader, statement: Prepared, params: Mapping[str, Any] | None = None
) -> list[Any]: ...
@overload
async def all_rows(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any] | None = None
) -> Sequence[AnyRow]: ...
async def all_rows(
    session: Reader,
    statement: Executable | Prepared,
    params: Mapping[str, Any] | None = None,
) -> list[tuple[Any, ...]] | Sequence[AnyRow]:
    """Like `first`, every row."""
    if isinstance(statement, Prepared):
        compiled, cursor = await _run_prepared(session, statement, params)
        return [compiled.row(raw) for raw in await cursor.fetchall()]
    if isinstance(session, Lease):
        raise TypeError("a Lease runs Prepared statements only: open a session")
    connection = await session.connection()
    return (await connection.execute(statement, params)).all()


def locked(statement: Select[*Columns], lock: Lock, *of: Any) -> Select[*Columns]:
    """`statement` with the row lock a loader asked for, taken on the tables `of`."""
    if lock is None:
        return statement
    return statement.with_for_update(of=of or None, read=lock == "share")


class IdPosition(Position):
    """The position in a list ordered by id alone, newest first."""

    id: CursorId


Listed = TypeVar("Listed")


def by_id(rows: Iterable[Listed]) -> Positioned[Listed, IdPosition]:
    """Rows of an id-ordered list (objects or rows with an `id`), each with its position."""
    items = list(rows)
    return Positioned(items, lambda index: IdPosition(id=items[index].id))  # type: ignore[attr-defined]
