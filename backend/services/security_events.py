"""Security events: what ends when an account's password, address or sessions change.

A password change or reset, an address change, signing out everywhere and deactivation are
each one call here, on the account's locked row: the account's security generation moves
on (every mailed link made under the old one stops working: confirmation and unsubscribe
links carry it, reset tokens are stored with it), every reset link still unused is spent,
and every session ends but the one named to stay (the session that changed the password).
"""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import User
from backend.db.repository import password_resets as resets_repo
from backend.db.repository import sessions as sessions_repo
from backend.db.repository import users as users_repo


async def happened(
    db: AsyncSession, *, account: User, keep_session_id: uuid.UUID | None = None
) -> None:
    """End every pending link and every session of a locked `account` (but
    `keep_session_id`)."""
    await users_repo.next_generation(db, user=account)
    await resets_repo.use_all(db, user_id=account.id)
    await sessions_repo.revoke_all(db, user_id=account.id, except_session_id=keep_session_id)
