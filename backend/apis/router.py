"""Every versioned route, mounted by the app under /api/v1."""

import inspect
import typing
from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request, Response, params
from fastapi.routing import APIRoute

from backend.apis import (
    admin,
    api_keys,
    applications,
    ats,
    auth,
    companies,
    interviews,
    jobs,
    members,
    moderation,
    notifications,
    options,
    pipelines,
    resumes,
    saved_jobs,
    saved_searches,
    users,
    webhooks,
)
from backend.apis.deps import bearer_scheme, reads_the_token
from backend.apis.params import QueryParameters

API_PREFIX = "/api/v1"
# In the order requests are matched: FastAPI tries routes one by one, so the routes every
# page view calls come first (the OpenAPI document lists its sections by TAGS, not by this).
ROUTERS: tuple[APIRouter, ...] = (
    jobs.router,
    options.router,
    users.router,
    applications.router,
    interviews.router,
    pipelines.router,
    resumes.router,
    companies.router,
    companies.mine,
    ats.router,
    api_keys.router,
    members.router,
    webhooks.router,
    saved_searches.router,
    saved_jobs.router,
    notifications.router,
    auth.router,
    moderation.router,
    moderation.owners,
    admin.router,
)
# The sections of the OpenAPI document, in the order a reader meets them.
TAGS = [
    {"name": "health", "description": "Liveness and readiness, for load balancers."},
    {"name": "auth", "description": "Accounts, sign-in sessions, passwords, email addresses."},
    {"name": "users", "description": "The signed-in user's own account."},
    {"name": "saved-searches", "description": "Searches kept for job alerts."},
    {"name": "saved-jobs", "description": "Jobs bookmarked, and what the user did with a list's."},
    {"name": "notifications", "description": "Unsubscribing from mail without signing in."},
    {"name": "companies", "description": "Companies, managed by their employers."},
    {"name": "jobs", "description": "Search and read jobs; employers post and edit them."},
    {"name": "applications", "description": "Candidates apply; employers review."},
    {"name": "resumes", "description": "Candidates' résumés and profiles."},
    {"name": "moderation", "description": "Jobs held for review, for moderators."},
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
    returns its own `Response` (`GET /users/me`) needs none of that: through FastAPI's
    documented seam for a route's handling (`get_route_handler`), it is called as Starlette
    calls an endpoint, with the app's exception handlers as before. FastAPI's routing still
    chooses the route, and documents it, as any other. About 45 us of a request's CPU (see
    BENCHMARKS.md).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        self.called_directly = needs_nothing_solved(self.endpoint, self.dependencies)
        if self.called_directly:
            endpoint: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
            return endpoint
        return super().get_route_handler()


def needs_nothing_solved(endpoint: Callable[..., Any], dependencies: Sequence[Any]) -> bool:
    """Whether `endpoint` is a coroutine taking only the request (positionally, annotated
    `Request`, without a default), annotated to return a `Response`, on a route that
    declares no dependencies: read from its own signature."""
    if dependencies or not inspect.iscoroutinefunction(endpoint):
        return False
    parameters = list(inspect.signature(endpoint).parameters.values())
    hints = typing.get_type_hints(endpoint)
    if len(parameters) != 1:
        return False
    (parameter,) = parameters
    returns = hints.get("return")
    return (
        parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
        and parameter.default is parameter.empty
        and hints.get(parameter.name) is Request
        and isinstance(returns, type)
        and issubclass(returns, Response)
    )


# What `include_routes` hands `add_api_route` from each declared route, the attribute of
# that name for the keyword of that name; `SET_HERE` it sets itself. Together they are every
# keyword of FastAPI's `add_api_route` (tests/test_routing.py checks it against FastAPI's
# own signature, so a keyword a new FastAPI adds is a decision, not a silent default).
COPIED = (
    "response_model",
    "status_code",
    "tags",
    "dependencies",
    "summary",
    "description",
    "response_description",
    "responses",
    "deprecated",
    "methods",
    "operation_id",
    "response_model_include",
    "response_model_exclude",
    "response_model_by_alias",
    "response_model_exclude_unset",
    "response_model_exclude_defaults",
    "response_model_exclude_none",
    "include_in_schema",
    "response_class",
    "name",
    "callbacks",
    "generate_unique_id_function",
    "strict_content_type",
)
SET_HERE = ("path", "endpoint", "openapi_extra", "route_class_override")


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
        copied = {name: getattr(route, name) for name in COPIED}
        app.router.add_api_route(
            prefix + route.path,
            route.endpoint,
            openapi_extra=_documented(route),
            route_class_override=Route,
            **copied,
        )


def _calls(call: Callable[..., Any], seen: set[int] | None = None) -> list[Callable[..., Any]]:
    """What `call` depends on, depth first, each once: the `Depends(...)` its parameters are
    annotated or defaulted with, read from its own signature as FastAPI reads it."""
    seen = set() if seen is None else seen
    found: list[Callable[..., Any]] = []
    target = call.__call__ if isinstance(call, QueryParameters) else call
    hints = typing.get_type_hints(target, include_extras=True)
    for parameter in inspect.signature(target).parameters.values():
        marks = [parameter.default]
        hint = hints.get(parameter.name)
        if typing.get_origin(hint) is Annotated:
            marks += list(typing.get_args(hint)[1:])
        for mark in marks:
            if isinstance(mark, params.Depends) and mark.dependency is not None:
                dependency = mark.dependency
                if id(dependency) not in seen:
                    seen.add(id(dependency))
                    found += [dependency, *_calls(dependency, seen)]
    return found


def _route_calls(route: APIRoute) -> list[Callable[..., Any]]:
    """Everything a route's endpoint and its declared dependencies depend on."""
    seen: set[int] = set()
    found = list(_calls(route.endpoint, seen))
    for declared in route.dependencies:
        if declared.dependency is not None and id(declared.dependency) not in seen:
            seen.add(id(declared.dependency))
            found += [declared.dependency, *_calls(declared.dependency, seen)]
    return found


def _query_parameters(route: APIRoute) -> list[QueryParameters[Any, Any]]:
    """The QueryParameters among a route's dependencies, depth first, each once."""
    return [call for call in _route_calls(route) if isinstance(call, QueryParameters)]


def _reads_the_token(route: APIRoute) -> bool:
    return reads_the_token(route.endpoint) or any(
        reads_the_token(call) for call in _route_calls(route)
    )


def _documented(route: APIRoute) -> dict[str, Any] | None:
    """The route's `openapi_extra`, with what its dependencies read that FastAPI does not
    see: query parameters read by `QueryParameters`, the bearer token read by a dependency
    marked `deps.reads_bearer_token` (as FastAPI documents a security dependency: the scheme
    by name, no scopes; `install_openapi` adds the scheme itself)."""
    extra = dict(route.openapi_extra or {})
    if _reads_the_token(route):
        extra["security"] = [*extra.get("security", []), {bearer_scheme.scheme_name: []}]
    readers = _query_parameters(route)
    if not readers:
        return extra or route.openapi_extra
    documented = [parameter for reader in readers for parameter in reader.documented]
    # FastAPI appends these to the parameters it documents itself; invalid ones are a 422
    # (install_openapi describes it as every other 422).
    extra["parameters"] = [*extra.get("parameters", []), *documented]
    extra["responses"] = {"422": {"description": "Validation Error"}, **extra.get("responses", {})}
    return extra
