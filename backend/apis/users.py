"""The signed-in user's own account."""

from fastapi import APIRouter, Response, status

from backend.apis.deps import (
    ClientAddress,
    CurrentPrincipal,
    CurrentUser,
    DbSession,
    HasherDep,
    SettingsDep,
    TransactionsDep,
)
from backend.apis.openapi import problem_responses
from backend.schemas.auth import PasswordChange
from backend.schemas.user import UserRead, UserUpdate
from backend.services import auth as auth_service
from backend.services import users as users_service

router = APIRouter(prefix="/users", tags=["users"], responses=problem_responses(401))


@router.get("/me", response_model=UserRead)
async def read_me(user: CurrentUser) -> UserRead:
    """The signed-in user."""
    return UserRead.model_validate(user)


@router.patch("/me", response_model=UserRead)
async def update_me(payload: UserUpdate, user: CurrentUser, db: DbSession) -> UserRead:
    """Change the signed-in user's own profile."""
    updated = await users_service.update_profile(db, user=user, payload=payload)
    return UserRead.model_validate(updated)


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 409, 429),
)
async def change_password(
    payload: PasswordChange,
    principal: CurrentPrincipal,
    address: ClientAddress,
    db: DbSession,
    transactions: TransactionsDep,
    hasher: HasherDep,
    settings: SettingsDep,
) -> Response:
    """Change the password; every other session of the user ends. If the password changed
    meanwhile (a reset), nothing changes and the answer is 409."""
    await auth_service.change_password(
        db,
        transactions,
        hasher,
        settings,
        user=principal.user,
        session_id=principal.session_id,
        current_password=payload.current_password,
        new_password=payload.new_password,
        address=address,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
