"""Every versioned route, mounted by the app under /api/v1."""

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

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
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
        )
