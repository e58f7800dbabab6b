"""Every versioned route, mounted by the app under /api/v1."""

from fastapi import APIRouter

from backend.apis import auth, users

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(auth.router)
api_router.include_router(users.router)
