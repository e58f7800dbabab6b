"""Administration: list, filter, promote, demote and deactivate accounts."""

from typing import Annotated

from fastapi import APIRouter, Query

from backend.apis.access import Admin, IdPath
from backend.apis.deps import DbSession
from backend.apis.openapi import problem_responses
from backend.apis.pagination import PageDep, to_page
from backend.schemas.admin import AdminUserUpdate
from backend.schemas.base import Text
from backend.schemas.pagination import Page
from backend.schemas.user import UserRead
from backend.services import admin as admin_service

router = APIRouter(prefix="/admin", tags=["admin"], responses=problem_responses(401, 403))


@router.get("/users", name="list-users", response_model=Page[UserRead])
async def list_users(
    admin: Admin,
    page: PageDep,
    db: DbSession,
    email: Annotated[
        Text | None, Query(max_length=320, description="Case-insensitive substring")
    ] = None,
) -> Page[UserRead]:
    """Every account, newest first, optionally filtered by email."""
    paged = await admin_service.list_users(db, email=email or None, page=page)
    return to_page(paged, UserRead.model_validate)


@router.patch(
    "/users/{user_id}",
    name="update-user",
    response_model=UserRead,
    responses=problem_responses(404),
)
async def update_user(
    user_id: IdPath, payload: AdminUserUpdate, admin: Admin, db: DbSession
) -> UserRead:
    """Change an account's role or deactivate it; deactivation ends its sessions at once."""
    user = await admin_service.update_user(db, admin=admin, user_id=user_id, payload=payload)
    return UserRead.model_validate(user)
