"""The signed-in user's own account."""

from fastapi import APIRouter, Request, Response, status

from backend.apis.deps import CurrentPrincipal, CurrentUser, DbSession, HasherDep, SettingsDep
from backend.apis.openapi import problem_responses
from backend.db.repository import users as users_repo
from backend.schemas.auth import PasswordChange
from backend.schemas.user import UserRead, UserUpdate
from backend.services import auth as auth_service
from backend.services import throttle

router = APIRouter(prefix="/users", tags=["users"], responses=problem_responses(401))


@router.get("/me", response_model=UserRead)
async def read_me(user: CurrentUser) -> UserRead:
    """The signed-in user."""
    return UserRead.model_validate(user)


@router.patch("/me", response_model=UserRead)
async def update_me(payload: UserUpdate, user: CurrentUser, db: DbSession) -> UserRead:
    """Change the signed-in user's own profile."""
    user = await users_repo.update(db, user=user, **payload.model_dump(exclude_unset=True))
    return UserRead.model_validate(user)


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 429),
)
async def change_password(
    payload: PasswordChange,
    principal: CurrentPrincipal,
    request: Request,
    db: DbSession,
    hasher: HasherDep,
    settings: SettingsDep,
) -> Response:
    """Change the password; every other session of the user ends."""
    await auth_service.change_password(
        db,
        hasher,
        settings,
        user=principal.user,
        session_id=principal.session_id,
        current_password=payload.current_password,
        new_password=payload.new_password,
        address=throttle.client_address(request),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
