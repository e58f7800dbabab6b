"""Keyset pagination for routes: `?limit=&cursor=` in, `{items, next_cursor}` out."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError

from backend.core.cursor import CursorCodec, InvalidCursor

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
Row = TypeVar("Row")


def invalid_cursor() -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", "cursor"), "msg": "Invalid cursor", "type": "value_error"}]
    )


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    cursor: str | None
    codec: CursorCodec

    def position(self, kind: str, *types: type) -> tuple[Any, ...] | None:
        """The position the cursor holds, its values converted to `types`; None on page one."""
        if self.cursor is None:
            return None
        try:
            values = self.codec.decode(kind, self.cursor)
            if len(values) != len(types):
                raise InvalidCursor("wrong length")
            return tuple(_convert(value, kind) for value, kind in zip(values, types, strict=True))
        except (InvalidCursor, TypeError, ValueError):
            raise invalid_cursor() from None

    def after_id(self, kind: str) -> int | None:
        """For lists ordered by id alone: the id the cursor holds; None on page one."""
        position = self.position(kind, int)
        return None if position is None else int(position[0])

    def page(
        self, rows: Sequence[Row], kind: str, key: Callable[[Row], list[Any]]
    ) -> tuple[list[Row], str | None]:
        """The rows of this page and the cursor of the next (rows hold one extra to tell)."""
        if len(rows) <= self.limit:
            return list(rows), None
        items = list(rows[: self.limit])
        return items, self.codec.encode(kind, key(items[-1]))


def _convert(value: Any, kind: type) -> Any:
    if value is None:
        return None
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is int and type(value) is int:
        return value
    raise TypeError(f"expected {kind.__name__}")


async def page_params(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=1024, description="`next_cursor` of the previous page")
    ] = None,
) -> PageParams:
    codec = CursorCodec(request.app.state.settings.secret_key.get_secret_value())
    return PageParams(limit=limit, cursor=cursor or None, codec=codec)


PageDep = Annotated[PageParams, Depends(page_params)]
