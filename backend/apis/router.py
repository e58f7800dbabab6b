"""Every versioned route, mounted by the app under /api/v1."""

from fastapi import APIRouter

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

api_router = APIRouter(prefix="/api/v1")
for module in (auth, users, saved_searches, notifications, companies, jobs, applications, admin):
    api_router.include_router(module.router)
api_router.include_router(companies.mine)
