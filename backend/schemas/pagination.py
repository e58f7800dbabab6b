"""The list envelope every paginated route answers with."""

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, Field

from backend.core.pagination import DEFAULT_LIMIT, MAX_LIMIT

Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    next_cursor: str | None


class PageQuery(BaseModel):
    """`?limit=&cursor=`: what every paginated route takes."""

    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Items per page")] = DEFAULT_LIMIT
    cursor: Annotated[
        str | None, Field(max_length=1024, description="`next_cursor` of the previous page")
    ] = None
