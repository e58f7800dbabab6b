"""Queries over the answers kept for Idempotency-Key retries."""

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import IdempotencyKey


async def claim(session: AsyncSession, *, user_id: int, key: str, fingerprint: bytes) -> bool:
    """Record the key for this transaction's request; False when it is recorded already.
    A request holding the same key uncommitted makes this wait until it ends: then the key
    is the other's (it committed), or this one's (it rolled back)."""
    statement = (
        insert(IdempotencyKey)
        .values(user_id=user_id, key=key, fingerprint=fingerprint)
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    )
    return (await session.execute(statement)).first() is not None


async def kept(session: AsyncSession, *, user_id: int, key: str) -> IdempotencyKey | None:
    statement = select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def answer(
    session: AsyncSession,
    *,
    user_id: int,
    key: str,
    status_code: int,
    body: bytes,
    etag: str | None,
) -> None:
    statement = (
        update(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .values(status_code=status_code, body=body, etag=etag)
    )
    await session.execute(statement)


async def purge(session: AsyncSession, *, older_than: datetime) -> int:
    statement = delete(IdempotencyKey).where(IdempotencyKey.created_at < older_than)
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]
