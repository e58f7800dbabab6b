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
