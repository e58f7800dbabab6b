"""Queries over users; they flush but never commit."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from backend.core.emails import skeleton, spellings
from backend.core.pagination import Positioned
from backend.db.models import Role, User
from backend.db.repository import base
from backend.db.repository.base import IdPosition


async def get(session: AsyncSession, *, user_id: int) -> User | None:
    """The user with this id, or None."""
    return await session.get(User, user_id)


async def lock(session: AsyncSession, *, user_ids: list[int]) -> dict[int, User]:
    """Lock these users' rows against every other writer until the transaction ends.

    Rows are locked in id order, so that two transactions locking the same users never
    wait for each other in a circle. The rows come back as they are now.
    """
    statement = (
        select(User)
        .where(User.id.in_(sorted(set(user_ids))))
        .order_by(User.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {user.id: user for user in (await session.execute(statement)).scalars()}


async def get_by_email(session: AsyncSession, *, email: str) -> User | None:
    """The user with this email, in any spelling of it (case, compatibility forms, the domain
    in IDNA or Unicode form), or None."""
    statement = select(User).where(func.lower(User.email).in_(sorted(spellings(email))))
    return (await session.execute(statement)).scalars().first()


async def get_by_skeleton(session: AsyncSession, *, email: str) -> User | None:
    """The user whose address looks like `email` (same TS #39 skeleton), or None."""
    statement = select(User).where(User.email_skeleton == skeleton(email))
    return (await session.execute(statement)).scalar_one_or_none()


async def create(
    session: AsyncSession,
    *,
    email: str,
    hashed_password: str,
    full_name: str,
    role: Role,
    email_verified_at: datetime | None = None,
) -> User:
    """Insert a user; a taken email raises IntegrityError on uq_users_email_lower, a look-alike
    of a taken one on uq_users_email_skeleton."""
    user = User(
        email=email,
        email_skeleton=skeleton(email),
        hashed_password=hashed_password,
        full_name=full_name,
        role=role,
        email_verified_at=email_verified_at,
    )
    session.add(user)
    await session.flush()
    return user


async def update(session: AsyncSession, *, user: User, **values: object) -> User:
    """Set the given columns on a user."""
    return await base.update(session, user, **values)


# Who may be sent notifications: an active account whose address is confirmed. An
# unconfirmed address gets nothing from the board but its confirmation link.
MAILABLE = User.is_active & User.email_verified_at.is_not(None)


async def next_generation(session: AsyncSession, *, user: User) -> int:
    """Count a security event on a locked user: every link made under the generation so far
    stops working. The new generation."""
    statement = (
        sql_update(User)
        .where(User.id == user.id)
        .values(
            security_generation=User.security_generation + 1,
            updated_at=func.clock_timestamp(),
        )
        .returning(User.security_generation, User.updated_at)
    )
    generation, updated_at = (await session.execute(statement)).one()
    set_committed_value(user, "security_generation", generation)
    set_committed_value(user, "updated_at", updated_at)
    return int(generation)


async def replace_password_hash(
    session: AsyncSession, *, user: User, expected: str, new_hash: str
) -> bool:
    """Set a new password hash only if the stored one is still `expected` (compare-and-set)."""
    statement = (
        sql_update(User)
        .where(User.id == user.id, User.hashed_password == expected)
        .values(hashed_password=new_hash, updated_at=func.clock_timestamp())
        .returning(User.updated_at)
    )
    updated_at = (await session.execute(statement)).scalar_one_or_none()
    if updated_at is None:
        return False
    # The loaded row learns its new values without being marked for another UPDATE.
    set_committed_value(user, "hashed_password", new_hash)
    set_committed_value(user, "updated_at", updated_at)
    return True


async def list_page(
    session: AsyncSession, *, limit: int, email: str | None = None, after: IdPosition | None = None
) -> Positioned[User, IdPosition]:
    """Users, newest first, optionally those whose email contains `email` in any case."""
    statement = select(User).order_by(User.id.desc()).limit(limit + 1)
    if email:
        statement = statement.where(func.lower(User.email).contains(email.lower(), autoescape=True))
    if after is not None:
        statement = statement.where(User.id < after.id)
    return base.by_id((await session.execute(statement)).scalars())
