"""Administration of accounts."""

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.exceptions import Forbidden
from backend.db.models import Role, User
from backend.db.repository import sessions as sessions_repo
from backend.db.repository import users as users_repo
from backend.schemas.admin import AdminUserUpdate


async def update_user(
    db: AsyncSession, *, admin: User, user: User, payload: AdminUserUpdate
) -> User:
    """Change a user's role or activity; deactivating ends every session of theirs at once."""
    changes = payload.model_dump(exclude_unset=True)
    if user.id == admin.id and (
        changes.get("is_active") is False or changes.get("role", Role.admin) != Role.admin
    ):
        # An admin who locks themselves out may leave nobody able to undo it.
        raise Forbidden("Admins cannot deactivate or demote themselves.")
    if not changes:
        return user
    await users_repo.update(db, user=user, **changes)
    if changes.get("is_active") is False:
        await sessions_repo.revoke_all(db, user_id=user.id)
    return user
