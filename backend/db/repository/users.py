"""Queries over users; they flush but never commit."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Role, User
from backend.db.repository import base


async def get(session: AsyncSession, *, user_id: int) -> User | None:
    """The user with this id, or None."""
    return await session.get(User, user_id)


async def get_by_email(session: AsyncSession, *, email: str) -> User | None:
    """The user with this email, compared case-insensitively, or None."""
    statement = select(User).where(func.lower(User.email) == email.lower())
    return (await session.execute(statement)).scalar_one_or_none()


async def create(
    session: AsyncSession, *, email: str, hashed_password: str, full_name: str, role: Role
) -> User:
    """Insert a user; a taken email raises IntegrityError on uq_users_email_lower."""
    user = User(email=email, hashed_password=hashed_password, full_name=full_name, role=role)
    session.add(user)
    await session.flush()
    return user


async def update(session: AsyncSession, *, user: User, **values: object) -> User:
    """Set the given columns on a user."""
    return await base.update(session, user, **values)


async def list_page(
    session: AsyncSession, *, limit: int, email: str | None = None, after_id: int | None = None
) -> list[User]:
    """Users, newest first, optionally those whose email contains `email` in any case."""
    statement = select(User).order_by(User.id.desc()).limit(limit + 1)
    if email:
        statement = statement.where(func.lower(User.email).contains(email.lower(), autoescape=True))
    if after_id is not None:
        statement = statement.where(User.id < after_id)
    return list((await session.execute(statement)).scalars())
