"""The API's routes sit in the app's own router, in one list, each as it was declared."""

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from backend.apis import health
from backend.apis.router import API_PREFIX, ROUTERS, include_routes


def test_every_api_route_is_one_entry_of_the_apps_router(app: FastAPI) -> None:
    routes = app.router.routes
    declared = [(router, route) for router in ROUTERS for route in router.routes]
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
