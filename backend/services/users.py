"""The signed-in user's own account."""

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.exceptions import InvalidCredentials
from backend.db.models import User
from backend.db.repository import users as users_repo
from backend.db.repository.sessions import Caller
from backend.schemas.user import UserUpdate


async def update_profile(db: AsyncSession, *, user: Caller, payload: UserUpdate) -> User | Caller:
    """Change the caller's own profile (their name), on their locked row."""
    changes = payload.model_dump(exclude_unset=True)
    if not changes:
        return user
    account = (await users_repo.lock(db, user_ids=[user.id])).get(user.id)
    if account is None:  # deleted since the request was authenticated
        raise InvalidCredentials()
    return await users_repo.update(db, user=account, **changes)
