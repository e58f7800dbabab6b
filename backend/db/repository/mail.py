"""The record of mail sent, so that a task run twice does not send twice."""

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import SentMail


async def hold(session: AsyncSession, *, key: str) -> None:
    """Wait for, then hold until the transaction ends, the right to send under `key`: two
    runs of one task (a retry racing a stalled worker) send one after the other, and the
    second finds the first's record."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


async def was_sent(session: AsyncSession, *, key: str) -> bool:
    statement = select(SentMail.key).where(SentMail.key == key)
    return (await session.execute(statement)).first() is not None


async def record_sent(session: AsyncSession, *, key: str) -> None:
    await session.execute(insert(SentMail).values(key=key).on_conflict_do_nothing())


async def purge(session: AsyncSession, *, older_than: datetime) -> int:
    """Forget sends older than any task that could run again."""
    result = await session.execute(delete(SentMail).where(SentMail.sent_at < older_than))
    return int(result.rowcount)  # type: ignore[attr-defined]
