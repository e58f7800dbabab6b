"""Every versioned route, mounted by the app under /api/v1."""

import inspect
import typing
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import request_response

from backend.apis import (
    admin,
    applications,
    auth,
    companies,
    jobs,
    notifications,
    saved_searches,
    users,
)
from backend.apis.deps import bearer_scheme, reads_the_token
from backend.apis.params import QueryParameters

API_PREFIX = "/api/v1"
# In the order requests are matched: FastAPI tries routes one by one, so the routes every
# page view calls come first (the OpenAPI document lists its sections by TAGS, not by this).
ROUTERS: tuple[APIRouter, ...] = (
    jobs.router,
    users.router,
    applications.router,
    companies.router,
    companies.mine,
    saved_searches.router,
    notifications.router,
    auth.router,
    admin.router,
)
# The sections of the OpenAPI document, in the order a reader meets them.
TAGS = [
    {"name": "health", "description": "Liveness and readiness, for load balancers."},
    {"name": "auth", "description": "Accounts, sign-in sessions, passwords, email addresses."},
    {"name": "users", "description": "The signed-in user's own account."},
    {"name": "saved-searches", "description": "Searches kept for job alerts."},
    {"name": "notifications", "description": "Unsubscribing from mail without signing in."},
    {"name": "companies", "description": "Companies, managed by their employers."},
    {"name": "jobs", "description": "Search and read jobs; employers post and edit them."},
    {"name": "applications", "description": "Candidates apply; employers review."},
    {"name": "admin", "description": "Accounts, for administrators."},
    {"name": "feeds", "description": "Atom feed and sitemaps."},
]


# The routes nearly every page view calls, matched before all others. FastAPI's router tries
# an app's routes one by one until one matches (about 1.5 us each on the benchmark machine),
# and in declared order these sit behind the documentation's and the probes' routes and the
# API's own earlier ones: `GET /users/me` was the sixteenth, `GET /users/me/applications`
# the twenty-third (see BENCHMARKS.md).
HOT_ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", API_PREFIX + "/users/me"),
    ("GET", API_PREFIX + "/jobs"),
    ("GET", API_PREFIX + "/jobs/{job_id:int}"),
    ("GET", API_PREFIX + "/jobs/autocomplete"),
    ("GET", API_PREFIX + "/users/me/applications"),
)


def match_hot_routes_first(app: FastAPI) -> None:
    """Move `HOT_ROUTES` to the front of the app's routes, keeping the declared order for the
    OpenAPI document (`openapi.declared_order`).

    Which route serves a request does not change: no hot route matches a path and method
    another route serves, nor the reverse (`tests/test_routing.py` tries every route's
    paths against every other route).
    """
    routes = app.router.routes
    app.state.declared_routes = {id(route): index for index, route in enumerate(routes)}
    hot = []
    for method, path in HOT_ROUTES:
        found = [
            route
            for route in routes
            if isinstance(route, APIRoute)
            and route.path == path
            and method in (route.methods or ())
        ]
        if len(found) != 1:
            raise LookupError(f"{method} {path} is not one route of the app")
        hot.append(found[0])
    routes[:] = [*hot, *(route for route in routes if route not in hot)]


class Route(APIRoute):
    """FastAPI's API route, calling an endpoint that has nothing to be solved directly.

    For every request, FastAPI's handler of a route reads the body, solves the dependencies
    and parameters, runs the endpoint inside its operation spans and exit stacks, and turns
    what it returned into a response. An endpoint that takes nothing but the request and
    returns its own `Response` (`GET /users/me`) needs none of that: it is called as
    Starlette calls an endpoint (`request_response`), with the app's exception handlers as
    before. FastAPI's routing still chooses the route, and documents it, as any other. About
    45 us of a request's CPU (see BENCHMARKS.md).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.called_directly = needs_nothing_solved(self)
        if self.called_directly:
            self.app = request_response(endpoint)


def needs_nothing_solved(route: APIRoute) -> bool:
    """Whether `route`'s endpoint is a coroutine taking only the request (positionally),
    with no dependency, parameter or body, and annotated to return a `Response`."""
    dependant = route.dependant
    parameters = list(inspect.signature(route.endpoint).parameters.values())
    returns = typing.get_type_hints(route.endpoint).get("return")
    return (
        inspect.iscoroutinefunction(route.endpoint)
        and route.body_field is None
        and len(parameters) == 1
        and parameters[0].name == dependant.request_param_name
        and parameters[0].kind
        in (parameters[0].POSITIONAL_ONLY, parameters[0].POSITIONAL_OR_KEYWORD)
        and not any(
            (
                dependant.path_params,
                dependant.query_params,
                dependant.header_params,
                dependant.cookie_params,
                dependant.body_params,
                dependant.dependencies,
            )
        )
        and isinstance(returns, type)
        and issubclass(returns, Response)
    )


def include_api(app: FastAPI) -> None:
    """Every versioned route into the app's own router, under the prefix."""
    for router in ROUTERS:
        include_routes(app, router, prefix=API_PREFIX)


def include_routes(app: FastAPI, router: APIRouter, *, prefix: str = "") -> None:
    """Each route of `router` added to the app's router as it was declared, the prefix
    before its path.

    `app.include_router` keeps the router whole as one entry of the app's routes: a request
    is then matched against the included router's routes to choose it, and again inside it,
    behind every included router before it (measured in BENCHMARKS.md). Added one by one,
    the routes are matched once, in one list, by FastAPI's own router. The routers declare
    no dependencies, callbacks or defaults of their own beyond what each route already
    carries (their prefix, tags and responses are merged into the route when it is
    declared); `include_routes` refuses one that does.

    The query parameters a route reads through `params.QueryParameters` are added to its
    OpenAPI operation, after those FastAPI reads itself, as FastAPI lists a dependency's, and
    so is the bearer token its dependencies read (`deps.reads_bearer_token`). Each is a
    `Route`.
    """
    if router.dependencies or router.callbacks or router.on_startup or router.on_shutdown:
        raise ValueError(f"router {router.prefix!r} has settings of its own: include it whole")
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r} is not an API route: include its router whole")
        app.router.add_api_route(
            prefix + route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=route.tags,
            dependencies=route.dependencies,
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses=route.responses,
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            callbacks=route.callbacks,
            openapi_extra=_documented(route),
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
            route_class_override=Route,
        )


def _query_parameters(dependant: Dependant) -> list[QueryParameters[Any, Any]]:
    """The QueryParameters among a route's dependencies, depth first, each once."""
    found: list[QueryParameters[Any, Any]] = []
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, QueryParameters) and dependency.call not in found:
            found.append(dependency.call)
        found.extend(reader for reader in _query_parameters(dependency) if reader not in found)
    return found


def _reads_the_token(dependant: Dependant) -> bool:
    return reads_the_token(dependant.call) or any(
        _reads_the_token(dependency) for dependency in dependant.dependencies
    )


def _documented(route: APIRoute) -> dict[str, Any] | None:
    """The route's `openapi_extra`, with what its dependencies read that FastAPI does not
    see: query parameters read by `QueryParameters`, the bearer token read by a dependency
    marked `deps.reads_bearer_token` (as FastAPI documents a security dependency: the scheme
    by name, no scopes; `install_openapi` adds the scheme itself)."""
    extra = dict(route.openapi_extra or {})
    if _reads_the_token(route.dependant):
        extra["security"] = [*extra.get("security", []), {bearer_scheme.scheme_name: []}]
    readers = _query_parameters(route.dependant)
    if not readers:
        return extra or route.openapi_extra
    documented = [parameter for reader in readers for parameter in reader.documented]
    # FastAPI appends these to the parameters it documents itself; invalid ones are a 422
    # (install_openapi describes it as every other 422).
    extra["parameters"] = [*extra.get("parameters", []), *documented]
    extra["responses"] = {"422": {"description": "Validation Error"}, **extra.get("responses", {})}
    return extra
