"""Files kept in the database (the default file store's table)."""

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import StoredFile
from backend.db.repository import base


async def create(session: AsyncSession, *, content: bytes) -> int:
    statement = insert(StoredFile).values(content=content).returning(StoredFile.id)
    return (await session.execute(statement)).scalar_one()


async def content(session: AsyncSession, *, file_id: int) -> bytes | None:
    row = await base.first(session, select(StoredFile.content).where(StoredFile.id == file_id))
    return None if row is None else bytes(row[0])


async def delete_file(session: AsyncSession, *, file_id: int) -> None:
    await session.execute(delete(StoredFile).where(StoredFile.id == file_id))
