"""Counters for throttling, kept in PostgreSQL so that every replica shares them."""

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuthAttempt


async def take(
    session: AsyncSession, *, kind: str, key: str, limit: int, window_seconds: int
) -> tuple[int | None, int | None]:
    """Count one event of `kind` for `key` unless `key` already has `limit` in the window.

    Returns (the counted event's id, None), or (None, seconds until `key` may try again).
    Check and count are one step: a transaction-scoped advisory lock on (kind, key) makes
    concurrent callers for one key take turns, so that however many arrive at once, at
    most `limit` are counted in a window. The caller's transaction must be short.
    """
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"{kind}:{key}", 0)))
    )
    wait = await retry_after(
        session, kind=kind, key=key, limit=limit, window_seconds=window_seconds
    )
    if wait is not None:
        return None, wait
    statement = insert(AuthAttempt).values(kind=kind, key=key).returning(AuthAttempt.id)
    return (await session.execute(statement)).scalar_one(), None


async def retry_after(
    session: AsyncSession, *, kind: str, key: str, limit: int, window_seconds: int
) -> int | None:
    """Seconds until `key` may try again when it has `limit` events in the window, else None.

    A sliding window: the answer is when the `limit`-th newest event leaves it.
    """
    window = timedelta(seconds=window_seconds)
    limiting = (
        select(AuthAttempt.created_at)
        .where(
            AuthAttempt.kind == kind,
            AuthAttempt.key == key,
            AuthAttempt.created_at > func.now() - window,
        )
        .order_by(AuthAttempt.created_at.desc())
        .offset(limit - 1)
        .limit(1)
        .scalar_subquery()
    )
    seconds = (
        await session.execute(
            select(func.extract("epoch", limiting + literal(window) - func.now()))
        )
    ).scalar_one()
    return None if seconds is None else max(1, math.ceil(seconds))


async def forget(session: AsyncSession, *, ids: list[int]) -> None:
    """Un-count these events (a sign-in that turned out to be right gives its place back)."""
    if ids:
        await session.execute(delete(AuthAttempt).where(AuthAttempt.id.in_(ids)))


async def clear(session: AsyncSession, *, kind: str, key: str) -> None:
    """Forget every event of `kind` for `key`."""
    await session.execute(
        delete(AuthAttempt).where(AuthAttempt.kind == kind, AuthAttempt.key == key)
    )


async def purge(session: AsyncSession, *, older_than: datetime) -> int:
    """Delete events older than any window looks back."""
    result = await session.execute(delete(AuthAttempt).where(AuthAttempt.created_at < older_than))
    return int(result.rowcount)  # type: ignore[attr-defined]
