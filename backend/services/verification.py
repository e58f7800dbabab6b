"""Confirmed email addresses: the link mailed at registration (and on request), changing
one's address, and what an unconfirmed account may not do yet.

A confirmation link carries a signed token naming the user and the address it confirms
(backend.core.security.create_link_token): the account's own address, or the one they
asked to change to, which takes effect only when the link is opened. It works only under
the account's security generation it was asked for (see backend.services.security_events).
"""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.emails import skeleton
from backend.core.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    HashQueueFull,
    TooManyRequests,
)
from backend.core.security import (
    VERIFY_EMAIL_PURPOSE,
    InvalidToken,
    PasswordHasher,
    decode_link_token,
)
from backend.db.models import User
from backend.db.queue import SEND_EMAIL_VERIFICATION, enqueue
from backend.db.repository import users as users_repo
from backend.db.repository.sessions import Caller
from backend.db.transactions import Transactions, release
from backend.services import security_events, throttle

INVALID_LINK = "This confirmation link is invalid, expired or already used."
ALREADY_CONFIRMED = "Your email address is already confirmed."
EMAIL_TAKEN = "This email is already registered."
EMAIL_LOOKALIKE = "This email looks too much like an address already registered."
SAME_EMAIL = "This is already your email address."


def require_confirmed(user: Caller, action: str) -> None:
    """403 for an account whose address is not confirmed yet, saying how to confirm it."""
    if user.email_verified_at is None:
        raise Forbidden(
            f"Confirm your email address before you {action}: open the link we mailed to "
            f"{user.email}, or ask for a new one (POST /api/v1/auth/verify-email/resend)."
        )


async def ask_to_confirm(
    db: AsyncSession, *, user_id: int, email: str, generation: int
) -> int | None:
    """Mail a confirmation link for `email`, made under the account's security `generation`,
    once `db`'s transaction commits; unless the address had its hour's share of asked-for
    mail (throttle.take_mail_place): then nothing is asked for and the answer is the
    seconds until it may be."""
    wait = await throttle.take_mail_place(db, email=email)
    if wait is None:
        await enqueue(
            db, SEND_EMAIL_VERIFICATION, user_id=user_id, email=email, generation=generation
        )
    return wait


async def resend(db: AsyncSession, *, user: Caller) -> None:
    """A new link for the caller's own address, unless it is confirmed (409), or the
    address had its hour's share of mail (429)."""
    if user.email_verified_at is not None:
        raise Conflict(ALREADY_CONFIRMED)
    wait = await ask_to_confirm(
        db, user_id=user.id, email=user.email, generation=user.security_generation
    )
    if wait is not None:
        raise TooManyRequests(retry_after=wait)


async def _check_free(db: AsyncSession, *, email: str, user_id: int) -> None:
    owner = await users_repo.get_by_email(db, email=email)
    if owner is not None and owner.id != user_id:
        raise Conflict(EMAIL_TAKEN)
    lookalike = await users_repo.get_by_skeleton(db, email=email)
    if lookalike is not None and lookalike.id != user_id:
        raise Conflict(EMAIL_LOOKALIKE)


async def confirm(db: AsyncSession, settings: Settings, *, token: str) -> User:
    """Confirm the address a link names, on the locked account.

    A link works only under the security generation it was made for: a password change
    or reset, an address change, signing out everywhere or deactivation since it was asked
    for ends it. A link for the account's own address confirms it once; a link for another
    address (asked for with `change_email`) makes it the account's address, confirmed, if
    it is still free: a security event, which ends every other pending link and every
    session. Anything else is a 400 and changes nothing.
    """
    try:
        claims = decode_link_token(settings, token, purpose=VERIFY_EMAIL_PURPOSE)
    except InvalidToken:
        raise BadRequest(INVALID_LINK) from None
    account = (await users_repo.lock(db, user_ids=[claims.user_id])).get(claims.user_id)
    if account is None or not account.is_active or claims.generation != account.security_generation:
        raise BadRequest(INVALID_LINK)
    now = datetime.now(UTC)
    if claims.subject.lower() == account.email.lower():
        if account.email_verified_at is not None:
            raise BadRequest(INVALID_LINK)
        return await users_repo.update(db, user=account, email_verified_at=now)
    await _check_free(db, email=claims.subject, user_id=account.id)
    await users_repo.update(
        db,
        user=account,
        email=claims.subject,
        email_skeleton=skeleton(claims.subject),
        email_verified_at=now,
    )
    await security_events.happened(db, account=account)
    return account


async def change_email(
    db: AsyncSession,
    transactions: Transactions,
    hasher: PasswordHasher,
    settings: Settings,
    *,
    user: Caller,
    new_email: str,
    password: str,
    address: str,
) -> None:
    """Mail a confirmation link to `new_email` once the password is checked (throttled as a
    sign-in is); the address changes only when the link is opened. Counted against the
    account's confirmation links an hour and the new address's share of mail (429)."""
    if new_email.lower() == user.email.lower():
        raise Conflict(SAME_EMAIL)
    await _check_free(db, email=new_email, user_id=user.id)
    await release(db)
    hasher.check_room()
    attempt = await throttle.start_password_check(
        transactions, settings, email=user.email, address=address
    )
    try:
        matches, _ = await hasher.verify(password, user.hashed_password)
    except HashQueueFull:
        await throttle.give_back(transactions, attempt)
        raise
    if not matches:
        raise BadRequest("The password is incorrect.")  # the attempt stays counted
    await throttle.password_check_passed(transactions, attempt)
    await throttle.count_confirmation_request(transactions, settings, user_id=user.id)
    wait = await ask_to_confirm(
        db, user_id=user.id, email=new_email, generation=user.security_generation
    )
    if wait is not None:
        raise TooManyRequests(retry_after=wait)
