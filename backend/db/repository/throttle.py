"""Counters for throttling, kept in PostgreSQL so that every replica shares them."""

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuthAttempt


async def take(
    session: AsyncSession,
    *,
    kind: str,
    key: str,
    limit: int,
    window_seconds: int,
    count: int = 1,
) -> tuple[int | None, int | None]:
    """Count `count` events of `kind` for `key` (one by default) unless that would make
    more than `limit` in the window.

    Returns (the last counted event's id, None), or (None, seconds until `key` may try
    again; the whole window when `count` exceeds `limit`). Check and count are one step: a
    transaction-scoped advisory lock on (kind, key) makes concurrent callers for one key
    take turns, so that however many arrive at once, at most `limit` are counted in a
    window. The caller's transaction must be short.
    """
    if count > limit:
        return None, window_seconds
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"{kind}:{key}", 0)))
    )
    wait = await retry_after(
        session, kind=kind, key=key, limit=limit - count + 1, window_seconds=window_seconds
    )
    if wait is not None:
        return None, wait
    statement = (
        insert(AuthAttempt).values([{"kind": kind, "key": key}] * count).returning(AuthAttempt.id)
    )
    return max((await session.execute(statement)).scalars()), None


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
