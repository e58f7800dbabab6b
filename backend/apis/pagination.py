"""Keyset pagination for routes: `?limit=&cursor=` in, `{items, next_cursor}` out."""

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request

from backend.core.cursor import CursorCodec
from backend.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Paged, PageRequest
from backend.schemas.pagination import Page

Row = TypeVar("Row")
Item = TypeVar("Item")


async def page_request(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=1024, description="`next_cursor` of the previous page")
    ] = None,
) -> PageRequest:
    codec: CursorCodec = request.app.state.cursor_codec
    return PageRequest(limit=limit, cursor=cursor or None, codec=codec)


PageDep = Annotated[PageRequest, Depends(page_request)]


def to_page(paged: Paged[Row], convert: Callable[[Row], Item]) -> Page[Item]:
    return Page(items=[convert(row) for row in paged.items], next_cursor=paged.next_cursor)
