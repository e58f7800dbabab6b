"""Transactions beside the request's own, and ending a request's reads early.

Every request runs in one transaction (see `backend.apis.deps.get_db`). Two things need
more than that, and each has exactly one way here:

- a record that must be kept although the request then fails (a counted sign-in attempt,
  a session revoked because a refresh token was replayed) is written with `own_transaction`,
  committed when its block ends, whatever becomes of the request. It is opened while the
  request's own transaction holds nothing (before its first statement, or after `release`
  or a rollback), so that a request never holds two connections;
- slow work that needs no database (bcrypt) must not hold a pooled connection, so a service
  that has only read so far calls `release` first.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Transactions = async_sessionmaker[AsyncSession]


@asynccontextmanager
async def own_transaction(transactions: Transactions) -> AsyncIterator[AsyncSession]:
    """A short transaction of its own: committed when the block ends, rolled back on error."""
    async with transactions() as session, session.begin():
        yield session


async def release(db: AsyncSession) -> None:
    """End the request's transaction so far, which has only read: its connection goes back to
    the pool, and the next statement starts a new transaction on whichever is free."""
    if db.new or db.dirty or db.deleted:
        raise RuntimeError("release() after a write would commit it")
    await db.commit()


_WROTE = "wrote"


def mark_written(db: AsyncSession) -> None:
    """The request's session wrote through a Core statement (which the session does not
    track): commit it when the request ends, even for a request that otherwise only reads
    (`backend.apis.deps.get_db`)."""
    db.info[_WROTE] = True


def written(db: AsyncSession) -> bool:
    """Whether the session holds a write to commit: changed objects, or `mark_written`."""
    return bool(db.new or db.dirty or db.deleted or db.info.get(_WROTE))
