"""Throttling rules: failed sign-ins per email and per address, request rates per address.

Every counter is taken before the expensive work it guards (a bcrypt check, an account
creation): however many requests arrive at once, no more than the limit get through.
"""

import hashlib
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import emails
from backend.core.config import Settings
from backend.core.exceptions import TooManyRequests
from backend.core.metrics import THROTTLED
from backend.db.models.user import EMAIL_MAX_LENGTH
from backend.db.repository import throttle as throttle_repo
from backend.db.transactions import Transactions, own_transaction

LOGIN_EMAIL = "login_email"
LOGIN_ADDRESS = "login_address"
REGISTER_ADDRESS = "register_address"
RESET_ADDRESS = "reset_address"
VERIFY_ADDRESS = "verify_address"
VERIFY_USER = "verify_user"
# Confirmation links one account may ask for in VERIFY_WINDOW_SECONDS.
VERIFY_MAX_PER_USER = 5
VERIFY_WINDOW_SECONDS = 3600
RATE_WINDOW_SECONDS = 60
MAIL_TO_ADDRESS = "mail_to_address"
REPORT_ACCOUNT = "report_account"
REPORT_ADDRESS = "report_address"
REPORT_WINDOW_SECONDS = 3600
# Mails an address gets an hour that anyone may ask the board to send it (confirmation
# links, reset links), whoever asks and whatever RATE_LIMITS_ENABLED says.
MAIL_TO_ADDRESS_PER_HOUR = 5
MAIL_TO_ADDRESS_WINDOW_SECONDS = 3600

SIGN_IN_THROTTLED = "Too many failed sign-ins; try again later."


def email_key(email: str) -> str:
    """What failures are counted under: the email in its one written form, lowercased (so that
    no spelling of an address escapes its count), or a digest of an absurd one."""
    key = emails.normalize_form(email).lower()
    if len(key) > EMAIL_MAX_LENGTH or "\x00" in key:
        return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key


@dataclass(slots=True)
class SignInAttempt:
    """The places a password check took in the counters: a failure keeps them, a success
    gives them back."""

    email: str
    counted: list[int] = field(default_factory=list)


async def start_password_check(
    transactions: Transactions,
    settings: Settings,
    *,
    email: str,
    address: str,
    per_address: bool = True,
) -> SignInAttempt:
    """Count a password check against the email and the address before it runs, or 429.

    The count is committed at once, in its own transaction: a check that fails is a
    counted failure whatever happens to the request, and concurrent checks for one email
    take turns, so at most LOGIN_MAX_FAILURES of them run in a window.
    """
    attempt = SignInAttempt(email=email)
    window = settings.login_failure_window_seconds
    async with own_transaction(transactions) as db:
        counted, wait = await throttle_repo.take(
            db,
            kind=LOGIN_EMAIL,
            key=email_key(email),
            limit=settings.login_max_failures,
            window_seconds=window,
        )
        if counted is not None:
            attempt.counted.append(counted)
        if wait is None and per_address and settings.rate_limits_enabled:
            counted, wait = await throttle_repo.take(
                db,
                kind=LOGIN_ADDRESS,
                key=address,
                limit=settings.address_max_failures,
                window_seconds=window,
            )
            if counted is not None:
                attempt.counted.append(counted)
        if wait is not None:
            # Rolled back: a refused check counts nothing.
            THROTTLED.labels(LOGIN_ADDRESS if attempt.counted else LOGIN_EMAIL).inc()
            raise TooManyRequests(SIGN_IN_THROTTLED, retry_after=wait)
    return attempt


async def password_check_passed(transactions: Transactions, attempt: SignInAttempt) -> None:
    """The password was right: the email's failures are forgotten, the address's place given
    back."""
    async with own_transaction(transactions) as db:
        await throttle_repo.clear(db, kind=LOGIN_EMAIL, key=email_key(attempt.email))
        await throttle_repo.forget(db, ids=attempt.counted)


async def give_back(transactions: Transactions, attempt: SignInAttempt) -> None:
    """The check never ran (no hashing thread was free): its places are given back."""
    async with own_transaction(transactions) as db:
        await throttle_repo.forget(db, ids=attempt.counted)


async def clear_sign_in_failures(db: AsyncSession, *, email: str) -> None:
    """A new password forgets the email's failures."""
    await throttle_repo.clear(db, kind=LOGIN_EMAIL, key=email_key(email))


async def count_request(
    transactions: Transactions, settings: Settings, *, kind: str, address: str
) -> None:
    """Allow ADDRESS_RATE_LIMIT_PER_MINUTE requests of `kind` per client address, or 429.

    Counted in a transaction of its own before the request's work, so that a request that
    then fails (a 409 or a 422) is counted all the same.
    """
    if not settings.rate_limits_enabled:
        return
    async with own_transaction(transactions) as db:
        _, wait = await throttle_repo.take(
            db,
            kind=kind,
            key=address,
            limit=settings.address_rate_limit_per_minute,
            window_seconds=RATE_WINDOW_SECONDS,
        )
    if wait is not None:
        THROTTLED.labels(kind).inc()
        raise TooManyRequests(retry_after=wait)


async def take_mail_place(db: AsyncSession, *, email: str) -> int | None:
    """Count a mail anyone may ask the board to send to `email` (a confirmation or a reset
    link), in `db`'s transaction, unless the address had MAIL_TO_ADDRESS_PER_HOUR of them in
    the last hour: then nothing is counted and the answer is the seconds until it may get
    one again. Whoever asks, and whatever RATE_LIMITS_ENABLED says."""
    _, wait = await throttle_repo.take(
        db,
        kind=MAIL_TO_ADDRESS,
        key=email_key(email),
        limit=MAIL_TO_ADDRESS_PER_HOUR,
        window_seconds=MAIL_TO_ADDRESS_WINDOW_SECONDS,
    )
    if wait is not None:
        THROTTLED.labels(MAIL_TO_ADDRESS).inc()
    return wait


async def count_confirmation_request(
    transactions: Transactions, settings: Settings, *, user_id: int
) -> None:
    """Allow VERIFY_MAX_PER_USER confirmation links an hour per account (resent, or for an
    address change), or 429 (so that an account cannot be used to flood inboxes), counted
    before the request's work."""
    async with own_transaction(transactions) as db:
        _, wait = await throttle_repo.take(
            db,
            kind=VERIFY_USER,
            key=str(user_id),
            limit=VERIFY_MAX_PER_USER,
            window_seconds=VERIFY_WINDOW_SECONDS,
        )
    if wait is not None:
        THROTTLED.labels(VERIFY_USER).inc()
        raise TooManyRequests(retry_after=wait)


async def count_report(
    transactions: Transactions, settings: Settings, *, user_id: int | None, address: str
) -> None:
    """Allow REPORTS_PER_HOUR reports an hour per account, or per client address for the
    signed out, or 429; counted before the report is looked at (a refused one counts too),
    whatever RATE_LIMITS_ENABLED says."""
    kind, key = (REPORT_ACCOUNT, str(user_id)) if user_id is not None else (REPORT_ADDRESS, address)
    async with own_transaction(transactions) as db:
        _, wait = await throttle_repo.take(
            db,
            kind=kind,
            key=key,
            limit=settings.reports_per_hour,
            window_seconds=REPORT_WINDOW_SECONDS,
        )
    if wait is not None:
        THROTTLED.labels(kind).inc()
        raise TooManyRequests(retry_after=wait)
