"""Files kept in the database (the default file store's table), and the uploads to an
object store not yet kept (see services.file_store)."""

from datetime import timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import PendingUpload, StoredFile
from backend.db.repository import base


async def create(session: AsyncSession, *, content: bytes) -> int:
    statement = insert(StoredFile).values(content=content).returning(StoredFile.id)
    return (await session.execute(statement)).scalar_one()


async def content(session: AsyncSession, *, file_id: int) -> bytes | None:
    row = await base.first(session, select(StoredFile.content).where(StoredFile.id == file_id))
    return None if row is None else bytes(row[0])


async def delete_file(session: AsyncSession, *, file_id: int) -> None:
    await session.execute(delete(StoredFile).where(StoredFile.id == file_id))


async def add_pending(session: AsyncSession, *, key: str) -> None:
    """Record a file about to be sent to the object store, before it is sent."""
    await session.execute(insert(PendingUpload).values(key=key))


async def remove_pending(session: AsyncSession, *, key: str) -> None:
    await session.execute(delete(PendingUpload).where(PendingUpload.key == key))


async def stale_pending(session: AsyncSession, *, older_than: timedelta, limit: int) -> list[str]:
    """The keys of uploads pending for longer than `older_than`, oldest first."""
    statement = (
        select(PendingUpload.key)
        .where(PendingUpload.created_at < func.now() - older_than)
        .order_by(PendingUpload.created_at)
        .limit(limit)
    )
    return [row[0] for row in await base.all_rows(session, statement)]
