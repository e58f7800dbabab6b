"""Throttling rules: failed sign-ins per email and per address, request rates per address."""

import hashlib
from collections.abc import Awaitable, Callable

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.exceptions import TooManyRequests
from backend.db.models.user import EMAIL_MAX_LENGTH
from backend.db.repository import throttle as throttle_repo

LOGIN_EMAIL = "login_email"
LOGIN_ADDRESS = "login_address"
REGISTER_ADDRESS = "register_address"
RESET_ADDRESS = "reset_address"
RATE_WINDOW_SECONDS = 60

SIGN_IN_THROTTLED = "Too many failed sign-ins; try again later."


def email_key(email: str) -> str:
    """What failures are counted under: the lowercased email, or a digest of an absurd one."""
    key = email.lower()
    if len(key) > EMAIL_MAX_LENGTH or "\x00" in key:
        return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key


def client_address(request: Request) -> str:
    """The caller's address; proxy headers count only from FORWARDED_ALLOW_IPS peers."""
    return request.client.host if request.client else "unknown"


async def check_sign_in(
    db: AsyncSession, settings: Settings, *, email: str, address: str, per_address: bool = True
) -> None:
    """Raise 429 while this email, or this address, has too many recent failures."""
    window = settings.login_failure_window_seconds
    wait = await throttle_repo.retry_after(
        db,
        kind=LOGIN_EMAIL,
        key=email_key(email),
        limit=settings.login_max_failures,
        window_seconds=window,
    )
    if wait is None and per_address and settings.rate_limits_enabled:
        wait = await throttle_repo.retry_after(
            db,
            kind=LOGIN_ADDRESS,
            key=address,
            limit=settings.address_max_failures,
            window_seconds=window,
        )
    if wait is not None:
        raise TooManyRequests(SIGN_IN_THROTTLED, retry_after=wait)


async def record_sign_in_failure(
    db: AsyncSession, settings: Settings, *, email: str, address: str
) -> None:
    """Count a failed sign-in against the email and the address."""
    await throttle_repo.record(db, kind=LOGIN_EMAIL, key=email_key(email))
    if settings.rate_limits_enabled:
        await throttle_repo.record(db, kind=LOGIN_ADDRESS, key=address)


async def clear_sign_in_failures(db: AsyncSession, *, email: str) -> None:
    """A successful sign-in (or a new password) forgets the email's failures."""
    await throttle_repo.clear(db, kind=LOGIN_EMAIL, key=email_key(email))


def address_rate_limit(kind: str) -> Callable[[Request], Awaitable[None]]:
    """A route dependency allowing ADDRESS_RATE_LIMIT_PER_MINUTE requests per client address.

    It counts in a transaction of its own, committed before the endpoint runs, so that a
    request that then fails (a 409 or a 422) is counted all the same.
    """

    async def limit(request: Request) -> None:
        settings: Settings = request.app.state.settings
        if not settings.rate_limits_enabled:
            return
        address = client_address(request)
        async with request.app.state.sessionmaker() as db, db.begin():
            wait = await throttle_repo.retry_after(
                db,
                kind=kind,
                key=address,
                limit=settings.address_rate_limit_per_minute,
                window_seconds=RATE_WINDOW_SECONDS,
            )
            if wait is not None:
                raise TooManyRequests(retry_after=wait)
            await throttle_repo.record(db, kind=kind, key=address)

    return limit
