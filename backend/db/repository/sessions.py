"""Sign-in sessions and the refresh tokens bound to them."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import hot
from backend.db.models import RefreshToken, Role, User, UserSession


async def create(session: AsyncSession, *, user_id: int, expires_at: datetime) -> UserSession:
    """Open a sign-in session for a user."""
    user_session = UserSession(id=uuid.uuid4(), user_id=user_id, expires_at=expires_at)
    session.add(user_session)
    await session.flush()
    return user_session


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in user as every authenticated request reads them: the account's columns,
    not an ORM object (a use case that changes the account loads and locks it)."""

    id: int
    email: str
    full_name: str
    role: Role
    is_active: bool
    created_at: datetime
    email_verified_at: datetime | None
    security_generation: int
    hashed_password: str | None = field(repr=False)
    # Set when a company's API key acts as this account (its company's primary owner).
    api_key_id: int | None = None


# The account's columns a Caller is read from, in order.
CALLER_COLUMNS = (
    "id",
    "email",
    "full_name",
    "role",
    "is_active",
    "created_at",
    "email_verified_at",
    "security_generation",
    "hashed_password",
)


def live() -> ColumnElement[bool]:
    """A session that works: neither revoked nor expired, its user active (with sessions
    joined to users). The one definition of it, for every query that asks."""
    return and_(
        UserSession.revoked_at.is_(None), UserSession.expires_at > func.now(), User.is_active
    )


# The query behind every authenticated request, a hot read (see backend.db.hot): the user,
# if the session is live.
CALLER = hot.HotRead(
    select(*(User.__table__.c[name] for name in CALLER_COLUMNS))
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        UserSession.id == bindparam("session_id", type_=UserSession.id.type),
        User.id == bindparam("user_id", type_=User.id.type),
        live(),
    ),
    Caller,
)


def active_user_statement(*, user_id: int, session_id: uuid.UUID) -> Select[Any]:
    """`CALLER` with its parameters bound (for the benchmark's ceiling)."""
    return CALLER.statement.params(user_id=user_id, session_id=session_id)


async def get_caller(reader: hot.Reader, *, user_id: int, session_id: uuid.UUID) -> Caller | None:
    """The active user of a live session of theirs, in one round trip; None otherwise."""
    return await hot.one(reader, CALLER, {"user_id": user_id, "session_id": session_id})


async def get_live(session: AsyncSession, *, session_id: uuid.UUID) -> UserSession | None:
    """A session that is neither revoked nor expired and whose user is active."""
    statement = (
        select(UserSession)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.id == session_id, live())
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def revoke(session: AsyncSession, *, session_id: uuid.UUID) -> None:
    """End one session at once: its access and refresh tokens stop working."""
    await session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def revoke_all(
    session: AsyncSession, *, user_id: int, except_session_id: uuid.UUID | None = None
) -> None:
    """End every session of a user, or every one but `except_session_id`."""
    statement = update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if except_session_id is not None:
        statement = statement.where(UserSession.id != except_session_id)
    await session.execute(statement.values(revoked_at=func.now()))


async def add_refresh_token(
    session: AsyncSession, *, session_id: uuid.UUID, token_hash: bytes, expires_at: datetime
) -> None:
    """Store the hash of a new refresh token for a session."""
    session.add(RefreshToken(token_hash=token_hash, session_id=session_id, expires_at=expires_at))
    await session.flush()


async def spend_refresh_token(session: AsyncSession, *, token_hash: bytes) -> uuid.UUID | None:
    """Mark an unspent, unexpired refresh token spent; its session id, or None.

    The row lock makes this atomic: of two concurrent calls with one token, one wins.
    """
    statement = (
        update(RefreshToken)
        .where(
            RefreshToken.token_hash == token_hash,
            RefreshToken.spent_at.is_(None),
            RefreshToken.expires_at > func.now(),
        )
        .values(spent_at=func.now())
        .returning(RefreshToken.session_id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def session_of_refresh_token(session: AsyncSession, *, token_hash: bytes) -> uuid.UUID | None:
    """The session a refresh token was issued for, spent or not."""
    statement = select(RefreshToken.session_id).where(RefreshToken.token_hash == token_hash)
    return (await session.execute(statement)).scalar_one_or_none()


async def spent_token(
    session: AsyncSession, *, token_hash: bytes, leeway_seconds: int
) -> tuple[uuid.UUID, bool] | None:
    """The session of a refresh token that cannot be spent (spent or expired), and whether it
    was spent within the last `leeway_seconds`; None for a token never issued."""
    recently = RefreshToken.spent_at > func.now() - timedelta(seconds=leeway_seconds)
    statement = select(RefreshToken.session_id, func.coalesce(recently, False)).where(
        RefreshToken.token_hash == token_hash
    )
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else (row[0], bool(row[1]))


async def purge(session: AsyncSession, *, revoked_before: datetime) -> int:
    """Delete sessions that expired, or were revoked before `revoked_before`, with their tokens.

    Spent refresh tokens of live sessions are kept: they are how a replay is recognised.
    """
    result = await session.execute(
        delete(UserSession).where(
            or_(UserSession.expires_at < func.now(), UserSession.revoked_at < revoked_before)
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
