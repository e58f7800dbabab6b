"""Where uploaded files live: one interface, so that a store other than the database can
be put behind it without a change to the use cases that keep files.

The default (and, for now, only) store keeps each file in PostgreSQL, in the transaction
of the use case that keeps or drops it: a file exists if and only if the row that names it
does, every replica of the app sees it, and backups and read replicas hold it.
"""

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.repository import stored_files


class FileStore(Protocol):
    async def put(self, db: AsyncSession, content: bytes) -> str:
        """Keep `content`; the key to find it by."""
        ...

    async def get(self, db: AsyncSession, key: str) -> bytes | None:
        """The content kept under `key`; None when there is none."""
        ...

    async def delete(self, db: AsyncSession, key: str) -> None:
        """Drop what is kept under `key` (nothing when there is none)."""
        ...


class DatabaseStore:
    """Files as rows of `stored_files`, written and removed in the caller's transaction."""

    async def put(self, db: AsyncSession, content: bytes) -> str:
        return str(await stored_files.create(db, content=content))

    async def get(self, db: AsyncSession, key: str) -> bytes | None:
        return await stored_files.content(db, file_id=int(key))

    async def delete(self, db: AsyncSession, key: str) -> None:
        await stored_files.delete_file(db, file_id=int(key))


STORE: FileStore = DatabaseStore()
