"""The signed-in user's own account."""

from fastapi import APIRouter

from backend.apis.deps import CurrentUser, DbSession
from backend.apis.openapi import problem_responses
from backend.db.repository import users as users_repo
from backend.schemas.user import UserRead, UserUpdate

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
