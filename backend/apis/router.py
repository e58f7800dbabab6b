"""Every versioned route, mounted by the app under /api/v1."""

from fastapi import APIRouter, FastAPI

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
    """Each module's router straight into the app under the prefix. Through one router
    holding them all, every request was matched through one more level of included routers
    (FastAPI matches an included router's routes when choosing it, and again inside it)."""
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
