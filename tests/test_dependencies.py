"""Every dependency is async: FastAPI runs a plain `def` one in a thread, on every request."""

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordRequestForm

# A class FastAPI builds from form fields: constructing it is plain attribute assignment.
ALLOWED_SYNC = {OAuth2PasswordRequestForm}


def calls(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from calls(sub)


def is_async(call: Any) -> bool:
    return (
        inspect.iscoroutinefunction(call)
        or inspect.isasyncgenfunction(call)
        or (
            not inspect.isroutine(call)
            and not inspect.isclass(call)
            and inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004
        )
    )


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        nested = getattr(route, "original_router", None) or getattr(route, "router", None)
        if nested is not None and nested is not route:
            yield from api_routes(list(nested.routes))


def test_no_dependency_runs_in_the_threadpool(app: FastAPI) -> None:
    sync = set()
    routes = list(api_routes(list(app.routes)))
    assert len(routes) >= 29
    for route in routes:
        assert inspect.iscoroutinefunction(route.endpoint), route.path
        sync |= {
            getattr(call, "__qualname__", repr(call))
            for call in calls(route.dependant)
            if call not in ALLOWED_SYNC and not is_async(call)
        }
    assert sync == set()


def test_no_route_opens_a_second_session(app: FastAPI) -> None:
    # Public reads open a session of their own (`get_public_read_db`), not one on top of the
    # request's: a route taking both would hold two connections at once.
    from backend.apis.deps import get_db, get_public_read_db

    own_session: dict[Any, list[str]] = {get_public_read_db: []}
    for route in api_routes(list(app.routes)):
        used = set(calls(route.dependant))
        for dependency, routes in own_session.items():
            if dependency in used:
                routes.append(route.path)
                assert get_db not in used, route.path
                assert (route.methods or set()) <= {"GET", "HEAD"}, route.path
    assert "/api/v1/companies/{company_id}" in own_session[get_public_read_db]


# The hot reads open their one connection in their body (`deps.hot_reads`,
# `deps.public_hot_reads`), without a generator dependency: they take no session from a
# dependency, nor anything that would open one (a dependency signing the caller in on the
# request's session).
OPENED_IN_THE_ROUTE = {
    "/api/v1/users/me",
    "/api/v1/jobs",
    "/api/v1/jobs/{job_id:int}",
    "/api/v1/jobs/autocomplete",
    "/api/v1/users/me/applications",
}


def test_routes_that_open_their_session_take_none_from_dependencies(app: FastAPI) -> None:
    from backend.apis.deps import get_db, get_public_read_db, reads_the_token

    found = set()
    for route in api_routes(list(app.routes)):
        if route.path not in OPENED_IN_THE_ROUTE or "GET" not in (route.methods or set()):
            continue
        found.add(route.path)
        assert route.methods == {"GET"}, route.path
        used = set(calls(route.dependant))
        assert not used & {get_db, get_public_read_db}, route.path
        assert not any(reads_the_token(call) for call in used), route.path
    assert found == OPENED_IN_THE_ROUTE
