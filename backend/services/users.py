"""The signed-in user's own account."""

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.exceptions import InvalidCredentials, InvalidField
from backend.core.security import PasswordHasher
from backend.db.models import User
from backend.db.repository import users as users_repo
from backend.db.repository.sessions import Caller
from backend.db.transactions import Transactions
from backend.schemas.user import UserUpdate
from backend.services import verification


async def update_profile(
    db: AsyncSession,
    transactions: Transactions,
    hasher: PasswordHasher,
    settings: Settings,
    *,
    user: Caller,
    payload: UserUpdate,
    address: str,
) -> User | Caller:
    """Change the caller's own profile: their name at once, on their locked row; their
    address once confirmed (a link goes to the new one, after the password is checked)."""
    if payload.email is not None:
        if payload.current_password is None:
            raise InvalidField(
                ("body", "current_password"), "is required to change the email address"
            )
        await verification.change_email(
            db,
            transactions,
            hasher,
            settings,
            user=user,
            new_email=payload.email,
            password=payload.current_password,
            address=address,
        )
    changes = payload.model_dump(exclude_unset=True, exclude={"email", "current_password"})
    if not changes:
        return user
    account = (await users_repo.lock(db, user_ids=[user.id])).get(user.id)
    if account is None:  # deleted since the request was authenticated
        raise InvalidCredentials()
    return await users_repo.update(db, user=account, **changes)
