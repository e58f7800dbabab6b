"""Registration, sign-in and the life of sessions: the rules between routes and repositories."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    HashQueueFull,
    InvalidCredentials,
    NotAuthenticated,
)
from backend.core.security import (
    PasswordHasher,
    create_access_token,
    hash_opaque_token,
    new_opaque_token,
)
from backend.db.models import Role, User, UserSession
from backend.db.models.user import EMAIL_MAX_LENGTH
from backend.db.queue import SEND_PASSWORD_RESET, enqueue
from backend.db.repository import password_resets as resets_repo
from backend.db.repository import sessions as sessions_repo
from backend.db.repository import users as users_repo
from backend.db.repository.sessions import Caller
from backend.db.transactions import Transactions, own_transaction, release
from backend.schemas.user import UserCreate
from backend.services import security_events, throttle, verification

INCORRECT_LOGIN = "Incorrect email or password."
EMAIL_TAKEN = "This email is already registered."
EMAIL_LOOKALIKE = "This email looks too much like an address already registered."
INVALID_REFRESH = "The refresh token is invalid, expired or already used."
INVALID_RESET = "This reset link is invalid, expired or already used."
# Refresh tokens are opaque strings we mint at 43 characters; anything far longer is junk.
MAX_OPAQUE_TOKEN_LENGTH = 512


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_at: datetime


async def register(db: AsyncSession, hasher: PasswordHasher, payload: UserCreate) -> User:
    """Create a candidate or employer account; a taken email is a 409."""
    if await users_repo.get_by_email(db, email=payload.email) is not None:
        # Checked first so that a duplicate costs no hashing; the constraint still decides races.
        raise Conflict(EMAIL_TAKEN)
    if await users_repo.get_by_skeleton(db, email=payload.email) is not None:
        raise Conflict(EMAIL_LOOKALIKE)
    await release(db)
    hashed_password = await hasher.hash(payload.password)
    user = await users_repo.create(
        db,
        email=payload.email,
        hashed_password=hashed_password,
        full_name=payload.full_name,
        role=Role(payload.role),
    )
    # An address that had its hour's share of mail gets none now: the account asks again
    # later (POST /auth/verify-email/resend).
    await verification.ask_to_confirm(
        db, user_id=user.id, email=user.email, generation=user.security_generation
    )
    return user


async def sign_in(
    db: AsyncSession,
    transactions: Transactions,
    hasher: PasswordHasher,
    settings: Settings,
    *,
    email: str,
    password: str,
    address: str,
) -> IssuedTokens:
    """Check the credentials within the sign-in throttle and open a session.

    An unknown email and a wrong password get the same 401 after the same hashing work;
    both count as failures. No connection is held while bcrypt runs.
    """
    hasher.check_room()  # a full hash queue refuses before anything is counted
    attempt = await throttle.start_password_check(
        transactions, settings, email=email, address=address
    )
    user = None
    if len(email) <= EMAIL_MAX_LENGTH and "\x00" not in email:
        user = await users_repo.get_by_email(db, email=email)
    await release(db)
    verified_hash = user.hashed_password if user else None
    try:
        matches, new_hash = await hasher.verify(password, verified_hash)
    except HashQueueFull:
        await throttle.give_back(transactions, attempt)  # the password was never checked
        raise
    if user is None or verified_hash is None or not matches:
        raise NotAuthenticated(INCORRECT_LOGIN)  # the attempt stays counted
    await throttle.password_check_passed(transactions, attempt)
    # Decided on the locked row: a password changed or an account deactivated while bcrypt
    # ran wins over this sign-in.
    current = (await users_repo.lock(db, user_ids=[user.id])).get(user.id)
    if current is None or current.hashed_password != verified_hash:
        raise NotAuthenticated(INCORRECT_LOGIN)
    if not current.is_active:
        raise Forbidden("This account is deactivated.")
    if new_hash is not None:
        await users_repo.replace_password_hash(
            db, user=current, expected=verified_hash, new_hash=new_hash
        )
    return await start_session(db, settings, user=current)


async def start_session(
    db: AsyncSession, settings: Settings, *, user: Caller | User
) -> IssuedTokens:
    """Open a sign-in session and issue its first access and refresh tokens."""
    expires_at = datetime.now(UTC) + timedelta(days=settings.session_expire_days)
    user_session = await sessions_repo.create(db, user_id=user.id, expires_at=expires_at)
    return await _issue_tokens(db, settings, user_session=user_session)


async def refresh(
    db: AsyncSession, transactions: Transactions, settings: Settings, *, refresh_token: str
) -> IssuedTokens:
    """Spend a refresh token for a new pair; a replayed one revokes its whole session."""
    if len(refresh_token) > MAX_OPAQUE_TOKEN_LENGTH:
        raise InvalidCredentials(INVALID_REFRESH)
    token_hash = hash_opaque_token(refresh_token)
    session_id = await sessions_repo.spend_refresh_token(db, token_hash=token_hash)
    if session_id is None:
        await db.rollback()  # nothing was spent; the request has nothing of its own to keep
        async with own_transaction(transactions) as record:
            spent = await sessions_repo.spent_token(
                record,
                token_hash=token_hash,
                leeway_seconds=settings.refresh_reuse_leeway_seconds,
            )
            if spent is not None and not spent[1]:
                # Spent (or expired) a while ago and presented again: whoever holds the
                # session's newer tokens may be a thief, so the session ends for everyone.
                # Within the leeway it is two tabs refreshing at once: the loser just fails.
                await sessions_repo.revoke(record, session_id=spent[0])
        raise InvalidCredentials(INVALID_REFRESH)
    user_session = await sessions_repo.get_live(db, session_id=session_id)
    if user_session is None:
        raise InvalidCredentials(INVALID_REFRESH)
    return await _issue_tokens(db, settings, user_session=user_session)


async def logout(
    db: AsyncSession, *, user: Caller, session_id: uuid.UUID, refresh_token: str | None
) -> None:
    """End the caller's session, and the session of a refresh token of theirs if one is given."""
    await sessions_repo.revoke(db, session_id=session_id)
    if refresh_token and len(refresh_token) <= MAX_OPAQUE_TOKEN_LENGTH:
        other = await sessions_repo.session_of_refresh_token(
            db, token_hash=hash_opaque_token(refresh_token)
        )
        if other is not None and other != session_id:
            live = await sessions_repo.get_live(db, session_id=other)
            if live is not None and live.user_id == user.id:
                await sessions_repo.revoke(db, session_id=other)


async def logout_everywhere(db: AsyncSession, *, user: Caller) -> None:
    """End every session of the caller's, this one included, and every link mailed to them
    that is still pending (a security event)."""
    account = (await users_repo.lock(db, user_ids=[user.id])).get(user.id)
    if account is None:
        raise InvalidCredentials()
    await security_events.happened(db, account=account)


async def change_password(
    db: AsyncSession,
    transactions: Transactions,
    hasher: PasswordHasher,
    settings: Settings,
    *,
    user: Caller,
    session_id: uuid.UUID,
    current_password: str,
    new_password: str,
    address: str,
) -> None:
    """Replace the password after checking the current one; every other session, and every
    pending mailed link, ends.

    Guessing the current password with a stolen token is throttled like signing in. If the
    password changed (a reset) while this request hashed, this one is a 409 and changes
    nothing.
    """
    verified_hash = user.hashed_password
    await release(db)
    hasher.check_room()
    attempt = await throttle.start_password_check(
        transactions, settings, email=user.email, address=address
    )
    try:
        matches, _ = await hasher.verify(current_password, verified_hash)
    except HashQueueFull:
        await throttle.give_back(transactions, attempt)
        raise
    if not matches:
        raise BadRequest("The current password is incorrect.")  # the attempt stays counted
    await throttle.password_check_passed(transactions, attempt)
    new_hash = await hasher.hash(new_password)
    current = (await users_repo.lock(db, user_ids=[user.id])).get(user.id)
    if current is None or current.hashed_password != verified_hash:
        raise Conflict("The password was changed meanwhile; sign in again.")
    if await sessions_repo.get_live(db, session_id=session_id) is None:
        raise InvalidCredentials()
    await users_repo.replace_password_hash(
        db, user=current, expected=verified_hash, new_hash=new_hash
    )
    await security_events.happened(db, account=current, keep_session_id=session_id)


async def request_password_reset(db: AsyncSession, *, email: str) -> None:
    """Mail a reset link (made by the worker) if the email belongs to an active account
    whose address is confirmed; to an unconfirmed one, its confirmation link instead (the
    board mails an unconfirmed address nothing else). Either within the address's hour's
    share of asked-for mail.

    The caller answers the same in every case; the mail is asked for in this transaction,
    so it goes out exactly when the request commits.
    """
    user = await users_repo.get_by_email(db, email=email)
    if user is None or not user.is_active:
        return
    if user.email_verified_at is None:
        await verification.ask_to_confirm(
            db, user_id=user.id, email=user.email, generation=user.security_generation
        )
        return
    if await throttle.take_mail_place(db, email=user.email) is None:
        await enqueue(db, SEND_PASSWORD_RESET, user_id=user.id, generation=user.security_generation)


async def confirm_password_reset(
    db: AsyncSession, hasher: PasswordHasher, *, token: str, new_password: str
) -> None:
    """Spend a reset token and set the new password; every session of the user, and every
    other pending mailed link, ends.

    The token is looked at, the new password hashed with no connection held, then the token
    spent on the locked user, if it was made under the account's security generation: of
    two resets, or a reset and a password change, at once, exactly one takes effect.
    """
    if len(token) > MAX_OPAQUE_TOKEN_LENGTH:
        raise BadRequest(INVALID_RESET)
    token_hash = hash_opaque_token(token)
    user_id = await resets_repo.peek(db, token_hash=token_hash)
    if user_id is None:
        raise BadRequest(INVALID_RESET)
    await release(db)
    new_hash = await hasher.hash(new_password)
    user = (await users_repo.lock(db, user_ids=[user_id])).get(user_id)
    if user is None or not user.is_active:
        raise BadRequest(INVALID_RESET)
    if (
        await resets_repo.use(db, token_hash=token_hash, generation=user.security_generation)
        is None
    ):
        raise BadRequest(INVALID_RESET)
    await users_repo.update(db, user=user, hashed_password=new_hash)
    await security_events.happened(db, account=user)
    await throttle.clear_sign_in_failures(db, email=user.email)


async def _issue_tokens(
    db: AsyncSession, settings: Settings, *, user_session: UserSession
) -> IssuedTokens:
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
