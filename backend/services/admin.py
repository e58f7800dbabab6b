"""Administration of accounts."""

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.cursor import scope_of
from backend.core.exceptions import Forbidden, NotFound
from backend.core.pagination import Paged, PageRequest
from backend.db.models import Role, User
from backend.db.repository import users as users_repo
from backend.db.repository.base import IdPosition
from backend.db.repository.sessions import Caller
from backend.schemas.admin import AdminUserUpdate
from backend.services import security_events


async def list_users(db: AsyncSession, *, email: str | None, page: PageRequest) -> Paged[User]:
    """Every account, newest first, optionally those whose email contains `email`."""
    kind, scope = "admin:users", scope_of(email)
    rows = await users_repo.list_page(
        db, limit=page.limit, email=email, after=page.after(kind, IdPosition, scope)
    )
    return page.page(rows, kind, scope)


async def update_user(
    db: AsyncSession, *, admin: Caller, user_id: int, payload: AdminUserUpdate
) -> User:
    """Change a user's role or activity; deactivating ends every session of theirs, and every
    link mailed to them that is still pending, at once (a security event).

    The caller's and the target's rows are locked together first and the rules checked on
    what they are now: of two admins demoting each other at once, the second is no longer
    an admin when its turn comes (403), so an admin always remains.
    """
    changes = payload.model_dump(exclude_unset=True)
    if user_id == admin.id and (
        changes.get("is_active") is False or changes.get("role", Role.admin) != Role.admin
    ):
        # An admin who locks themselves out may leave nobody able to undo it.
        raise Forbidden("Admins cannot deactivate or demote themselves.")
    rows = await users_repo.lock(db, user_ids=[admin.id, user_id])
    caller = rows.get(admin.id)
    if caller is None or caller.role != Role.admin or not caller.is_active:
        raise Forbidden("Only admin accounts may do this.")
    user = rows.get(user_id)
    if user is None:
        raise NotFound("User not found.")
    if not changes:
        return user
    await users_repo.update(db, user=user, **changes)
    if changes.get("is_active") is False:
        await security_events.happened(db, account=user)
    return user
