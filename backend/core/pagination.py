"""Keyset pages: what a list use case takes (`limit`, `cursor`) and gives (`items`, next cursor).

Services take a `PageRequest` and hand back a `Paged`; repositories return each row with
its typed position, and the cursor of the next page is the position of the last row served.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, overload

from backend.core.cursor import CursorCodec, InvalidCursor, P
from backend.core.exceptions import InvalidField

Row = TypeVar("Row")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Positioned(Sequence[tuple[Row, P]]):
    """A list's rows, each with its position in the list's order, the position built only
    when asked for: a page needs the position of its last row alone (the next cursor), and
    validating one for each row cost about 5 us a row. Reads as a sequence of (row,
    position) pairs."""

    __slots__ = ("_position", "items")

    def __init__(self, items: Sequence[Row], position: Callable[[int], P]) -> None:
        self.items = items
        self._position = position

    def position(self, index: int) -> P:
        """The position of the row at `index`."""
        return self._position(range(len(self.items))[index])

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> tuple[Row, P]: ...
    @overload
    def __getitem__(self, index: slice) -> "Positioned[Row, P]": ...
    def __getitem__(self, index: int | slice) -> "tuple[Row, P] | Positioned[Row, P]":
        if isinstance(index, slice):
            indices = range(len(self.items))[index]
            return Positioned(self.items[index], lambda i: self._position(indices[i]))
        return self.items[index], self.position(index)


@dataclass(frozen=True, slots=True)
class Paged(Generic[Row]):
    items: list[Row]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    cursor: str | None
    codec: CursorCodec

    def after(self, kind: str, position: type[P], scope: str = "") -> P | None:
        """The position the cursor holds; None on page one; a 422 for any other cursor."""
        if self.cursor is None:
            return None
        try:
            return self.codec.decode(kind, scope, self.cursor, position)
        except InvalidCursor:
            raise InvalidField(("query", "cursor"), "Invalid cursor") from None

    def page(self, rows: Positioned[Row, P], kind: str, scope: str = "") -> Paged[Row]:
        """This page's rows and the cursor of the next (rows hold one extra to tell)."""
        if len(rows) <= self.limit:
            return Paged(list(rows.items), None)
        cursor = self.codec.encode(kind, scope, rows.position(self.limit - 1))
        return Paged(list(rows.items[: self.limit]), cursor)
