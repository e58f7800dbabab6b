"""The signed-in user's own account."""

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import User
from backend.db.repository import users as users_repo
from backend.schemas.user import UserUpdate


async def update_profile(db: AsyncSession, *, user: User, payload: UserUpdate) -> User:
    """Change the caller's own profile (their name)."""
    changes = payload.model_dump(exclude_unset=True)
    if not changes:
        return user
    return await users_repo.update(db, user=user, **changes)
