"""The API's routes sit in the app's own router, in one list, each as it was declared, but
for the hot routes, which come first without changing which route serves a request; an
endpoint with nothing for FastAPI to solve is called directly."""

import itertools
import re

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute, Match

from backend.apis import health
from backend.apis.openapi import declared_order
from backend.apis.router import (
    API_PREFIX,
    COPIED,
    HOT_ROUTES,
    ROUTERS,
    SET_HERE,
    Route,
    include_routes,
)


def test_every_api_route_is_one_entry_of_the_apps_router(app: FastAPI) -> None:
    routes = app.router.routes
    hot = [
        route
        for route in routes[: len(HOT_ROUTES)]
        if isinstance(route, APIRoute)
        and (next(iter((route.methods or set()) - {"HEAD"})), route.path) in HOT_ROUTES
    ]
    assert len(hot) == len(HOT_ROUTES)
    declared = [
        (router, route)
        for router in ROUTERS
        for route in router.routes
        if not any(entry.endpoint is route.endpoint for entry in hot)  # type: ignore[attr-defined]
    ]
    positions = []
    for _, route in declared:
        assert isinstance(route, APIRoute)
        matching = [
            index
            for index, entry in enumerate(routes)
            if isinstance(entry, APIRoute)
            and entry.path == API_PREFIX + route.path
            and entry.endpoint is route.endpoint
            and entry.methods == route.methods
        ]
        assert len(matching) == 1, route.path
        positions.append(matching[0])
    # In the order they were declared, after the health probes, and nothing before them but
    # plain routes (an included router would be matched as a whole, then again inside).
    assert positions == sorted(positions)
    first_health = min(
        index
        for index, entry in enumerate(routes)
        if isinstance(entry, APIRoute) and entry.endpoint is health.router.routes[0].endpoint  # type: ignore[attr-defined]
    )
    assert first_health < positions[0]
    assert all(
        isinstance(entry, APIRoute) or type(entry).__module__.startswith("starlette")
        for entry in routes[: positions[-1] + 1]
    )


def test_include_routes_passes_every_keyword_of_fastapis_add_api_route() -> None:
    import inspect

    keywords = set(inspect.signature(APIRouter.add_api_route).parameters) - {"self"}
    assert set(COPIED) | set(SET_HERE) == keywords
    assert not set(COPIED) & set(SET_HERE)
    # Each copied keyword is an attribute of a route FastAPI built from the same keyword.
    router = APIRouter()

    @router.get("/sample", summary="S", tags=["t"])
    async def sample() -> None:
        return None

    (route,) = router.routes
    assert isinstance(route, APIRoute)
    assert all(hasattr(route, name) for name in COPIED)


def test_a_router_with_dependencies_of_its_own_is_refused() -> None:
    async def guard() -> None:
        return None

    router = APIRouter(dependencies=[Depends(guard)])

    @router.get("/guarded")
    async def guarded() -> None:
        return None

    with pytest.raises(ValueError, match="include it whole"):
        include_routes(FastAPI(), router)


# Values tried for each path parameter: a number, and words other routes have as fixed parts.
_SAMPLE_VALUES = ("1", "me", "feed", "autocomplete", "applications", "jobs", "x")


def _sample_paths(path_format: str) -> set[str]:
    parameters = re.findall(r"{[^}]+}", path_format)
    paths = set()
    for values in itertools.product(_SAMPLE_VALUES, repeat=len(parameters)):
        path = path_format
        for parameter, value in zip(parameters, values, strict=True):
            path = path.replace(parameter, value, 1)
        paths.add(path)
    return paths


def _served_by(routes: list[BaseRoute], method: str, path: str) -> object:
    """What FastAPI's router does with the request: hand it to the first route that matches in
    full, else answer 405 for the path (the Allow header names every method some route
    serves there, whichever route the router found first)."""
    partial = None
    for route in routes:
        match, _ = route.matches(
            {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        )
        if match == Match.FULL:
            return route
        if match == Match.PARTIAL and partial is None:
            partial = route
    return ("405", getattr(partial, "path", None)) if partial is not None else None


def test_hot_routes_first_change_no_request_s_route(app: FastAPI) -> None:
    routes = list(app.router.routes)
    declared = declared_order(app)
    assert routes != declared  # the hot routes were moved
    assert sorted(map(id, routes)) == sorted(map(id, declared))
    tried = 0
    for context in iter_route_contexts(app.routes):
        path_format = getattr(context, "path_format", None)
        if not path_format:
            continue
        for path in _sample_paths(path_format):
            for method in ("GET", "HEAD", "POST", "PATCH", "DELETE", "PUT"):
                tried += 1
                assert _served_by(routes, method, path) == _served_by(declared, method, path), (
                    method,
                    path,
                )
    assert tried > 1000


def test_the_openapi_document_lists_routes_as_declared(app: FastAPI) -> None:
    paths = list(app.openapi()["paths"])
    assert paths.index(API_PREFIX + "/jobs") < paths.index(API_PREFIX + "/users/me")
    assert paths[0] == "/health/live"


def _needing_nothing_solved(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in app.router.routes
        if isinstance(route, Route) and route.called_directly
        for method in route.methods or ()
    }


def test_the_endpoints_that_need_nothing_solved_are_called_directly(app: FastAPI) -> None:
    assert _needing_nothing_solved(app) == {("GET", API_PREFIX + "/users/me"), ("GET", "/metrics")}


async def test_a_route_called_directly_answers_as_fastapi_would() -> None:
    """Only an async endpoint taking the request alone, returning a Response, without
    parameters or dependencies, skips FastAPI's handler; exceptions reach the app's
    handlers either way, and dependencies still run where there are some."""
    ran: list[str] = []

    async def guard() -> None:
        ran.append("guard")

    router = APIRouter()

    @router.get("/direct")
    async def direct(request: Request) -> Response:
        if "fail" in request.query_params:
            raise HTTPException(status.HTTP_418_IM_A_TEAPOT, "no")
        return PlainTextResponse("direct")

    @router.get("/model")
    async def model(request: Request) -> dict[str, str]:
        return {"path": request.url.path}

    @router.get("/sync")
    def sync(request: Request) -> Response:
        return PlainTextResponse("sync")

    @router.get("/query")
    async def query(request: Request, q: int = 0) -> Response:
        return PlainTextResponse(str(q))

    @router.get("/guarded", dependencies=[Depends(guard)])
    async def guarded(request: Request) -> Response:
        return PlainTextResponse("guarded")

    app = FastAPI()
    include_routes(app, router)
    assert _needing_nothing_solved(app) == {("GET", "/direct")}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        assert (await client.get("/direct")).text == "direct"
        failed = await client.get("/direct?fail")
        assert (failed.status_code, failed.json()) == (418, {"detail": "no"})
        assert (await client.get("/model")).json() == {"path": "/model"}
        assert (await client.get("/sync")).text == "sync"
        assert (await client.get("/query?q=5")).text == "5"
        assert (await client.get("/query?q=x")).status_code == 422
        assert (await client.get("/guarded")).text == "guarded"
    assert ran == ["guard"]
