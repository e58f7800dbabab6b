"""What every repository shares: setting columns, row locks, and the id-ordered keyset."""

from collections.abc import Iterable
from typing import Any, Literal, TypeVar, TypeVarTuple

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.cursor import CursorId, Position
from backend.db.base import Base

Model = TypeVar("Model", bound=Base)
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


def locked(statement: Select[*Columns], lock: Lock, *of: Any) -> Select[*Columns]:
    """`statement` with the row lock a loader asked for, taken on the tables `of`."""
    if lock is None:
        return statement
    return statement.with_for_update(of=of or None, read=lock == "share")


class IdPosition(Position):
    """The position in a list ordered by id alone, newest first."""

    id: CursorId


def by_id(rows: Iterable[Model]) -> list[tuple[Model, IdPosition]]:
    """Rows of an id-ordered list, each with its position."""
    return [(row, IdPosition(id=row.id)) for row in rows]  # type: ignore[attr-defined]
