"""Keyset pagination for routes: `?limit=&cursor=` in, `{items, next_cursor}` out."""

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from backend.apis.params import QueryParameters
from backend.core.cursor import CursorCodec
from backend.core.pagination import Paged, PageRequest
from backend.schemas.pagination import Page, PageQuery

Row = TypeVar("Row")
Item = TypeVar("Item")


def _page_request(request: Request, query: PageQuery) -> PageRequest:
    codec: CursorCodec = request.app.state.cursor_codec
    return PageRequest(limit=query.limit, cursor=query.cursor or None, codec=codec)


PAGE_PARAMETERS = QueryParameters(PageQuery, _page_request)
PageDep = Annotated[PageRequest, Depends(PAGE_PARAMETERS)]


def to_page(paged: Paged[Row], convert: Callable[[Row], Item]) -> Page[Item]:
    return Page(items=[convert(row) for row in paged.items], next_cursor=paged.next_cursor)
