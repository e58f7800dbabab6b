"""What every repository shares: setting columns, row locks, and the id-ordered keyset."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar, TypeVarTuple

from sqlalchemy import Executable, Row, Select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.cursor import CursorId, Position
from backend.core.pagination import Positioned
from backend.db.base import Base

Model = TypeVar("Model", bound=Base)
# A row of any columns, read by attribute (`row.id`) or by position.
AnyRow = Row[*tuple[Any, ...]]
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


async def first(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any] | None = None
) -> AnyRow | None:
    """Run a read statement on the session's connection; its first row, or None.

    How reads execute is decided here, for every repository but the hot reads
    (`backend.db.hot`): as Core on the connection the request already holds, so rows come
    back as tuples, with no ORM loading and no identity map they would never use. Writes
    that change loaded objects keep the ORM session.
    """
    connection = await session.connection()
    return (await connection.execute(statement, params)).first()


async def all_rows(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any] | None = None
) -> Sequence[AnyRow]:
    """Like `first`, every row."""
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
