"""`Idempotency-Key` on the POSTs an integration retries: the first answer, kept.

A POST with the header records the key in its own transaction before it changes
anything, and the answer it gives once it has: both commit with the change, or neither
does. A retry with the same key (by the same account) finds the key and gets the kept
answer again, changing nothing; one sent while the first is still running waits for it
(on the key's primary key) and then gets its answer, or, if the first failed and rolled
back, runs as the first. The same key with another request (method, path or body) is a
422. Only a success is kept: a refused request keeps nothing and may be sent again. Keys
are kept for KEPT, then purged hourly.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.exceptions import InvalidField
from backend.db.repository import idempotency as idempotency_repo

KEPT = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Kept:
    """The first answer to a request, to give again."""

    status_code: int
    body: bytes
    etag: str | None


def fingerprint(method: str, path: str, body: bytes) -> bytes:
    """What the request was: its method, path and body (as the API read them)."""
    return hashlib.sha256(b"\0".join((method.encode(), path.encode(), body))).digest()


async def begin(db: AsyncSession, *, user_id: int, key: str, request: bytes) -> Kept | None:
    """Claim `key` for this request (None: go on, and `keep` the answer), or the answer the
    first request with it gave; 422 when the key was used for another request."""
    if await idempotency_repo.claim(db, user_id=user_id, key=key, fingerprint=request):
        return None
    found = await idempotency_repo.kept(db, user_id=user_id, key=key)
    if found is None:  # purged between the two statements: the key is free again
        await idempotency_repo.claim(db, user_id=user_id, key=key, fingerprint=request)
        return None
    if found.fingerprint != request or found.status_code is None or found.body is None:
        raise InvalidField(("header", "Idempotency-Key"), "this key was used for another request")
    return Kept(found.status_code, found.body, found.etag)


async def keep(db: AsyncSession, *, user_id: int, key: str, answer: Kept) -> None:
    """Keep the answer of the request that claimed `key`, in its transaction."""
    await idempotency_repo.answer(
        db,
        user_id=user_id,
        key=key,
        status_code=answer.status_code,
        body=answer.body,
        etag=answer.etag,
    )
