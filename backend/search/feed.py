"""Keeping the search engine's index (backend.search.engine) up to date from the outbox.

Every API process runs `keep`: the one that holds the index directory's writer lock reads
the outbox after the index's position and commits each batch with its new position; the
others only read, and take the lock over within `interval` of its holder stopping. An index
never built, or built by another version, is built from one snapshot of the jobs: all
documents and the position that snapshot had reached, in one commit; so is one that has
not read the outbox for half the time its entries are kept (`search_outbox.KEPT`).
"""

import asyncio
import logging
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.repository import search_outbox
from backend.search.engine import SearchIndex

logger = logging.getLogger(__name__)

# Changes read from the outbox at a time.
BATCH = 1000
# A writer with nothing to apply still commits its position this often, so that readers
# can tell a quiet board from a stopped writer (backend.db.repository.job_search).
HEARTBEAT_SECONDS = 15.0


async def build(index: SearchIndex, sessions: async_sessionmaker[AsyncSession]) -> int:
    """The index built again from every published job; how many there were."""
    count = 0
    async with sessions() as session:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        position = await search_outbox.horizon(session)
        await asyncio.to_thread(index.reset)
        try:
            async for jobs in search_outbox.every_document(session, batch=BATCH):
                await asyncio.to_thread(index.add, jobs)
                count += len(jobs)
            await asyncio.to_thread(index.commit, position)
        except BaseException:
            await asyncio.to_thread(index.discard)
            raise
    return count


async def catch_up(index: SearchIndex, sessions: async_sessionmaker[AsyncSession]) -> int:
    """One batch of the outbox applied (or the index built); how many changes."""
    view = await asyncio.to_thread(index.view)
    if view is None or time.time() - view.caught_up_at > search_outbox.KEPT.total_seconds() / 2:
        started = time.perf_counter()
        count = await build(index, sessions)
        logger.info("search index built: %d jobs in %.1f s", count, time.perf_counter() - started)
        return 0
    async with sessions() as session:
        changes = await search_outbox.changes(session, after=view.position, limit=BATCH)
        if any(change.job_id is None for change in changes):
            await session.rollback()
            await build(index, sessions)
            return len(changes)
        job_ids = sorted({change.job_id for change in changes if change.job_id is not None})
        jobs = await search_outbox.documents(session, job_ids) if job_ids else []
    if not changes:
        if time.time() - view.caught_up_at >= HEARTBEAT_SECONDS:
            await asyncio.to_thread(index.commit, view.position)
        return 0
    try:
        await asyncio.to_thread(index.remove, job_ids)
        await asyncio.to_thread(index.add, jobs)
        await asyncio.to_thread(index.commit, changes[-1].position)
    except BaseException:
        await asyncio.to_thread(index.discard)
        raise
    return len(changes)


async def keep(
    index: SearchIndex, sessions: async_sessionmaker[AsyncSession], *, interval: float
) -> None:
    """Forever: take the writer lock when free, and while holding it apply the outbox."""
    failing = False
    while True:
        try:
            if await asyncio.to_thread(index.try_to_write):
                while await catch_up(index, sessions) >= BATCH:
                    pass
            if failing:
                logger.info("search index: caught up again")
            failing = False
        except Exception:
            if not failing:
                logger.exception("search index: catching up failed; trying again")
            failing = True
        await asyncio.sleep(interval)
