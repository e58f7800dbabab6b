"""Sign-in sessions and the refresh tokens bound to them."""

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import RefreshToken, User, UserSession


async def create(session: AsyncSession, *, user_id: int, expires_at: datetime) -> UserSession:
    """Open a sign-in session for a user."""
    user_session = UserSession(id=uuid.uuid4(), user_id=user_id, expires_at=expires_at)
    session.add(user_session)
    await session.flush()
    return user_session


async def get_active_user(
    session: AsyncSession, *, user_id: int, session_id: uuid.UUID
) -> User | None:
    """The active user of a live session of theirs, in one round trip; None otherwise."""
    statement = (
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.id == session_id,
            User.id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > func.now(),
            User.is_active,
        )
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def add_refresh_token(
    session: AsyncSession, *, session_id: uuid.UUID, token_hash: bytes, expires_at: datetime
) -> None:
    """Store the hash of a new refresh token for a session."""
    session.add(RefreshToken(token_hash=token_hash, session_id=session_id, expires_at=expires_at))
    await session.flush()
