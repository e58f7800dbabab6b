"""Single-use password reset tokens."""

from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import PasswordResetToken


async def create(
    session: AsyncSession,
    *,
    user_id: int,
    generation: int,
    token_hash: bytes,
    expires_at: datetime,
) -> None:
    """Store the hash of a new reset token for a user, under their security generation."""
    session.add(
        PasswordResetToken(
            token_hash=token_hash, user_id=user_id, generation=generation, expires_at=expires_at
        )
    )
    await session.flush()


async def peek(session: AsyncSession, *, token_hash: bytes) -> int | None:
    """The user id of an unused, unexpired reset token, without spending it; else None."""
    statement = select(PasswordResetToken.user_id).where(
        PasswordResetToken.token_hash == token_hash,
        PasswordResetToken.used_at.is_(None),
        PasswordResetToken.expires_at > func.now(),
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def use(session: AsyncSession, *, token_hash: bytes, generation: int) -> int | None:
    """Spend an unused, unexpired reset token made under `generation`; the user id it was
    for, or None."""
    statement = (
        update(PasswordResetToken)
        .where(
            PasswordResetToken.token_hash == token_hash,
            PasswordResetToken.generation == generation,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > func.now(),
        )
        .values(used_at=func.now())
        .returning(PasswordResetToken.user_id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def use_all(session: AsyncSession, *, user_id: int) -> None:
    """Spend every outstanding reset token of a user (after the password changed)."""
    await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=func.now())
    )


async def purge(session: AsyncSession, *, older_than: datetime) -> int:
    """Delete tokens that expired, or were used, before `older_than`."""
    result = await session.execute(
        delete(PasswordResetToken).where(
            or_(
                PasswordResetToken.expires_at < older_than,
                PasswordResetToken.used_at < older_than,
            )
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
