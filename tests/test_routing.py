"""The API's routes sit in the app's own router, in one list, each as it was declared, but
for the hot routes, which come first without changing which route serves a request."""

import itertools
import re

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute, Match

from backend.apis import health
from backend.apis.openapi import declared_order
from backend.apis.router import API_PREFIX, HOT_ROUTES, ROUTERS, include_routes


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
