"""Query parameters read by `apis.params.QueryParameters` mean what FastAPI's own query
models make of them: the same values, the same 422 errors, the same OpenAPI document."""

from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend.apis.params import QueryParameters, documented_parameters, same
from backend.schemas.job import JobSearch
from backend.schemas.pagination import PageQuery

QUERIES = [
    "",
    "q=engineer",
    "q=engineer&workplace=remote&employment_type=contract",
    "tag=python&tag=go&tag=rust",
    "tag=",
    "workplace=remote&workplace=hybrid",
    "workplace=moon",
    "company_id=12",
    "company_id=0",
    "company_id=twelve",
    "company_id=99999999999999999999999",
    "salary_min=-5",
    "salary_min=50000&sort=salary",
    "sort=random",
    "posted_after=2026-11-01T00:00:00Z",
    "posted_after=2026-11-01",
    "posted_after=yesterday",
    "q=" + "x" * 201,
    "location=" + "y" * 201,
    "q=%00",
    "unknown=1&limit=5",
    "&".join(f"tag=t{n}" for n in range(21)),
    "limit=0",
    "limit=100",
    "limit=101",
    "limit=ten",
    "limit=",
    "limit=5&limit=7",
    "cursor=" + "c" * 1025,
    "cursor=abc",
]


def answer(value: BaseModel) -> JSONResponse:
    return JSONResponse(value.model_dump(mode="json"))


@pytest.fixture
async def both() -> httpx.AsyncClient:
    """The same models read by FastAPI (/fastapi/...) and by QueryParameters (/ours/...)."""
    app = FastAPI()

    @app.exception_handler(RequestValidationError)
    async def errors(_: Any, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            [{"loc": e["loc"], "msg": e["msg"], "type": e["type"]} for e in exc.errors()], 422
        )

    @app.get("/fastapi/search")
    async def fastapi_search(query: Annotated[JobSearch, Query()]) -> JSONResponse:
        return answer(query)

    @app.get("/ours/search")
    async def our_search(
        query: Annotated[JobSearch, Depends(QueryParameters(JobSearch, same))],
    ) -> JSONResponse:
        return answer(query)

    @app.get("/fastapi/page")
    async def fastapi_page(query: Annotated[PageQuery, Query()]) -> JSONResponse:
        return answer(query)

    @app.get("/ours/page")
    async def our_page(
        query: Annotated[PageQuery, Depends(QueryParameters(PageQuery, same))],
    ) -> JSONResponse:
        return answer(query)

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.mark.parametrize("what", ["search", "page"])
async def test_every_query_reads_as_fastapi_reads_it(both: httpx.AsyncClient, what: str) -> None:
    statuses = set()
    for query in QUERIES:
        theirs = await both.get(f"/fastapi/{what}?{query}")
        ours = await both.get(f"/ours/{what}?{query}")
        assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json()), query
        statuses.add(ours.status_code)
    assert statuses == {200, 422}


def test_a_model_with_aliases_is_refused() -> None:
    from pydantic import Field

    class Aliased(BaseModel):
        per_page: int = Field(20, alias="perPage")

    with pytest.raises(ValueError, match="no aliases"):
        QueryParameters(Aliased, same)


@pytest.mark.parametrize(
    "annotation",
    ["set[str]", "frozenset[str]", "tuple[str, ...]", "Sequence[str]", "set[int] | None"],
)
def test_a_collection_not_read_as_fastapi_reads_it_is_refused_when_declared(
    annotation: str,
) -> None:
    from collections.abc import Sequence

    namespace = {"BaseModel": BaseModel, "Sequence": Sequence}
    exec(  # noqa: S102 (a model declared from the test's own text)
        f"class Several(BaseModel):\n    values: {annotation} = None\n    q: str | None = None\n",
        namespace,
    )
    with pytest.raises(TypeError, match=r"declare several values as list\[\.\.\.\]"):
        QueryParameters(namespace["Several"], same)  # type: ignore[arg-type]


def test_lists_and_text_are_read() -> None:
    class Fine(BaseModel):
        tag: list[str] = []
        q: str | None = None
        raw: bytes | None = None

    assert QueryParameters(Fine, same).model is Fine


def test_a_model_that_takes_other_parameters_is_refused() -> None:
    from pydantic import ConfigDict

    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")
        q: str | None = None

    with pytest.raises(ValueError, match="ignore other parameters"):
        QueryParameters(Strict, same)


async def test_the_routes_document_the_parameters_fastapi_would(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    listing = document["paths"]["/api/v1/jobs"]["get"]
    expected = documented_parameters(JobSearch) + documented_parameters(PageQuery)
    assert listing["parameters"] == expected
    assert "422" in listing["responses"]
    mine = document["paths"]["/api/v1/users/me/applications"]["get"]
    names = [parameter["name"] for parameter in mine["parameters"]]
    assert names[-2:] == ["limit", "cursor"]
    assert mine["parameters"][-2:] == documented_parameters(PageQuery)
    assert "422" in mine["responses"]
