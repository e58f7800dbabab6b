"""Companies' keys for machines: an applicant-tracking system publishing the company's jobs.

A key is made by the company's owner (or an admin) with scopes, a name and an optional
expiry. Its secret, `jbk_` and 43 random URL-safe characters (256 bits), is shown once and
kept only as its SHA-256 digest: the prefix lets secret scanners find a leaked one, and
its first characters (`prefix`) tell keys apart in the list. A key is sent as
`Authorization: Bearer <secret>` and acts as its company's owner on the routes that take
keys (the external-id routes of `apis.ats`), within its scopes and its company only; every
other route refuses it as it refuses any token it cannot read (401). Revoked, it stops at
once (each request looks it up); each is held to API_KEY_REQUESTS_PER_MINUTE (429 with
`Retry-After` past it).
"""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.exceptions import (
    Conflict,
    Forbidden,
    InvalidCredentials,
    InvalidField,
    NotFound,
    TooManyRequests,
)
from backend.core.metrics import THROTTLED
from backend.db.models import ApiKey
from backend.db.repository import api_keys as keys_repo
from backend.db.repository import companies as companies_repo
from backend.db.repository import jobs as jobs_repo
from backend.db.repository import throttle as throttle_repo
from backend.db.repository.sessions import Caller
from backend.db.transactions import Transactions, own_transaction
from backend.schemas.api_key import Scope
from backend.services import members
from backend.services.members import Need

PREFIX = "jbk_"
SHOWN = 12  # characters of the secret the list shows
MAX_ACTIVE = 20
API_KEY = "api_key"
KEY_NOT_FOUND = "API key not found."
COMPANY_NOT_FOUND = "Company not found."
TOUCH_EVERY = timedelta(minutes=1)


def is_key(token: str | None) -> bool:
    return token is not None and token.startswith(PREFIX)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


async def _managed(db: AsyncSession, *, user: Caller, company_id: int) -> None:
    company = await companies_repo.get(db, company_id=company_id, lock="share")
    if company is None:
        raise NotFound(COMPANY_NOT_FOUND)
    await members.require(db, user, company_id, Need.own, not_found=COMPANY_NOT_FOUND)


async def create(
    db: AsyncSession,
    *,
    user: Caller,
    company_id: int,
    name: str,
    scopes: list[Scope],
    expires_at: datetime | None,
) -> tuple[ApiKey, str]:
    """A new key of the company (its owner, admins; 404 for others) and its secret, which
    is never stored nor shown again; 409 past MAX_ACTIVE live keys; 422 for an expiry
    already past."""
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise InvalidField(("body", "expires_at"), "must be in the future")
    await _managed(db, user=user, company_id=company_id)
    if await keys_repo.active_count(db, company_id=company_id) >= MAX_ACTIVE:
        raise Conflict(f"A company has at most {MAX_ACTIVE} live keys: revoke one first.")
    secret = PREFIX + secrets.token_urlsafe(32)
    key = await keys_repo.create(
        db,
        company_id=company_id,
        created_by=user.id,
        name=name,
        prefix=secret[:SHOWN],
        secret_hash=digest(secret),
        scopes=sorted({scope.value for scope in scopes}),
        expires_at=expires_at,
    )
    await members.record(db, user=user, company_id=company_id, action="key_created", key_id=key.id)
    return key, secret


async def listed(db: AsyncSession, *, user: Caller, company_id: int) -> list[ApiKey]:
    await _managed(db, user=user, company_id=company_id)
    return await keys_repo.for_company(db, company_id=company_id)


async def revoke(db: AsyncSession, *, user: Caller, company_id: int, key_id: int) -> ApiKey:
    """Revoke a key at once (revoked already: no change)."""
    await _managed(db, user=user, company_id=company_id)
    key = await keys_repo.get(db, company_id=company_id, key_id=key_id, lock="update")
    if key is None:
        raise NotFound(KEY_NOT_FOUND)
    if key.revoked_at is None:
        await keys_repo.revoke(db, key=key)
        await members.record(
            db, user=user, company_id=company_id, action="key_revoked", key_id=key.id
        )
    return key


async def caller_for(
    transactions: Transactions,
    settings: Settings,
    *,
    secret: str,
    scope: Scope,
    company_id: int | None = None,
    job_id: int | None = None,
) -> Caller:
    """Whom a request with key `secret` acts as, on a route of `company_id` (or of a job of
    it, `job_id`) that needs `scope`: its company's owner. 401 for a key that is unknown,
    revoked or expired (before anything else: a key that is not one learns nothing of
    what exists); 404 for another company's route, no such job, or neither given (never a
    hint that it exists); 403 without the scope; 429 past the key's requests a minute.
    Decided in a transaction of its own, before the request's (whatever it reads or
    writes): the count is exact however many requests of one key arrive at once, and a
    refused request is counted too."""
    async with own_transaction(transactions) as db:
        return await _caller_for(
            db, settings, secret=secret, scope=scope, company_id=company_id, job_id=job_id
        )


async def _caller_for(
    db: AsyncSession,
    settings: Settings,
    *,
    secret: str,
    scope: Scope,
    company_id: int | None,
    job_id: int | None,
) -> Caller:
    holder = await keys_repo.live(db, secret_hash=digest(secret))
    if holder is None:
        raise InvalidCredentials("The API key is unknown, revoked or expired.")
    if job_id is not None:
        company_id = await jobs_repo.company_of(db, job_id=job_id)
    if company_id is None or holder.company_id != company_id:
        raise NotFound(COMPANY_NOT_FOUND)
    if scope.value not in holder.scopes:
        raise Forbidden(f"The API key lacks the scope {scope.value}.")
    _, wait = await throttle_repo.take(
        db,
        kind=API_KEY,
        key=str(holder.key_id),
        limit=settings.api_key_requests_per_minute,
        window_seconds=60,
    )
    if wait is not None:
        THROTTLED.labels(API_KEY).inc()
        raise TooManyRequests("Too many requests with this API key.", retry_after=wait)
    await keys_repo.touch(db, key_id=holder.key_id, every=TOUCH_EVERY)
    return holder.owner
