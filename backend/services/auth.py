"""Registration and sign-in: the rules between the auth routes and the repositories."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.exceptions import Conflict, Forbidden, NotAuthenticated
from backend.core.security import (
    PasswordHasher,
    create_access_token,
    hash_opaque_token,
    new_opaque_token,
)
from backend.db.models import Role, User, UserSession
from backend.db.models.user import EMAIL_MAX_LENGTH
from backend.db.repository import sessions as sessions_repo
from backend.db.repository import users as users_repo
from backend.schemas.user import UserCreate

INCORRECT_LOGIN = "Incorrect email or password."


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_at: datetime


async def register(db: AsyncSession, hasher: PasswordHasher, payload: UserCreate) -> User:
    """Create a candidate or employer account; a taken email is a 409 via its constraint."""
    if await users_repo.get_by_email(db, email=payload.email) is not None:
        # Checked first so that a duplicate costs no hashing; the constraint still decides races.
        raise Conflict("This email is already registered.")
    return await users_repo.create(
        db,
        email=payload.email,
        hashed_password=await hasher.hash(payload.password),
        full_name=payload.full_name,
        role=Role(payload.role),
    )


async def authenticate(
    db: AsyncSession, hasher: PasswordHasher, *, email: str, password: str
) -> User:
    """The user whose credentials these are; the same 401 for unknown email and wrong password."""
    user = None
    if len(email) <= EMAIL_MAX_LENGTH and "\x00" not in email:
        user = await users_repo.get_by_email(db, email=email)
    matches, new_hash = await hasher.verify(password, user.hashed_password if user else None)
    if user is None or not matches:
        raise NotAuthenticated(INCORRECT_LOGIN)
    if not user.is_active:
        raise Forbidden("This account is deactivated.")
    if new_hash is not None:
        await users_repo.update(db, user=user, hashed_password=new_hash)
    return user


async def start_session(db: AsyncSession, settings: Settings, *, user: User) -> IssuedTokens:
    """Open a sign-in session and issue its first access and refresh tokens."""
    expires_at = datetime.now(UTC) + timedelta(days=settings.session_expire_days)
    user_session = await sessions_repo.create(db, user_id=user.id, expires_at=expires_at)
    return await issue_tokens(db, settings, user_session=user_session)


async def issue_tokens(
    db: AsyncSession, settings: Settings, *, user_session: UserSession
) -> IssuedTokens:
    """Mint an access token and a new refresh token for a live session."""
    refresh_token = new_opaque_token()
    await sessions_repo.add_refresh_token(
        db,
        session_id=user_session.id,
        token_hash=hash_opaque_token(refresh_token),
        expires_at=user_session.expires_at,
    )
    access = create_access_token(settings, user_id=user_session.user_id, session_id=user_session.id)
    return IssuedTokens(
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=refresh_token,
        refresh_expires_at=user_session.expires_at,
    )
