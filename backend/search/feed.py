"""Keeping the search engine's index (backend.search.engine) up to date from the outbox.

Every API process runs `keep`, on a thread of its own (`Keeper`): the one that holds the
index directory's writer lock reads, in one REPEATABLE READ transaction, the jobs changed
since the index's position (the outbox entries its snapshot did not see) and commits their
documents with the new position, that transaction's snapshot; the others only read, and
take the lock over within `interval` of its holder stopping. An index never built is built
from one snapshot of the jobs (all documents and that snapshot as the position, in one
commit: at a million jobs about 150 s of one core, during which searches rank on
PostgreSQL alone); so is one that has not read the outbox for half the time its entries
are kept (`search_outbox.KEPT`), and one whose outbox says every job changed (a truncate)."""

import asyncio
import logging
import threading
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.db.engine import create_sessionmaker
from backend.db.repository import search_outbox
from backend.search.engine import SearchIndex

logger = logging.getLogger(__name__)

# Documents read from PostgreSQL at a time; a catch-up of many changes commits every
# COMMIT_EVERY of them.
BATCH = 1000
COMMIT_EVERY = 50_000
# How long the writer waits for a lock: below PostgreSQL's deadlock_timeout (1 s), so that
# against a truncate or a migration it is the one that gives up.
LOCK_TIMEOUT_MS = 200
# A writer with nothing to apply still commits its position this often, so that readers
# can tell a quiet board from a stopped writer (backend.db.repository.job_search).
HEARTBEAT_SECONDS = 15.0


async def _snapshot_reads(sessions: async_sessionmaker[AsyncSession]) -> AsyncSession:
    """A REPEATABLE READ transaction that gives way to anyone who needs a table to itself
    (a migration, a truncate): it waits at most LOCK_TIMEOUT for a lock, then fails and is
    tried again at the next interval."""
    session = sessions()
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'"))
    return session


async def build(index: SearchIndex, sessions: async_sessionmaker[AsyncSession]) -> int:
    """The index built again from every published job, as of one snapshot, which becomes
    its position; how many jobs there were."""
    count = 0
    async with await _snapshot_reads(sessions) as session:
        position = await search_outbox.snapshot(session)
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
    """Every change committed since the index's position applied, as of one snapshot (or
    the index built); how many jobs changed."""
    view = await asyncio.to_thread(index.view)
    if view is None or time.time() - view.caught_up_at > search_outbox.KEPT.total_seconds() / 2:
        started = time.perf_counter()
        count = await build(index, sessions)
        logger.info("search index built: %d jobs in %.1f s", count, time.perf_counter() - started)
        return count
    async with await _snapshot_reads(sessions) as session:
        changes = await search_outbox.changes(session, after=view.position)
        if changes.everything:
            await session.rollback()
            return await build(index, sessions)
        if not changes.job_ids:
            if time.time() - view.caught_up_at >= HEARTBEAT_SECONDS:
                await asyncio.to_thread(index.commit, changes.position)
            return 0
        try:
            for start in range(0, len(changes.job_ids), BATCH):
                batch = changes.job_ids[start : start + BATCH]
                jobs = await search_outbox.documents(session, batch)
                await asyncio.to_thread(index.remove, batch)
                await asyncio.to_thread(index.add, jobs)
                if start and start % COMMIT_EVERY == 0:
                    # Progress kept across a restart; the position stays where it was
                    # (applying a change twice changes nothing).
                    await asyncio.to_thread(index.commit, view.position)
            await asyncio.to_thread(index.commit, changes.position)
        except BaseException:
            await asyncio.to_thread(index.discard)
            raise
    return len(changes.job_ids)


async def keep(
    index: SearchIndex, sessions: async_sessionmaker[AsyncSession], *, interval: float
) -> None:
    """Forever: take the writer lock when free, and while holding it apply the outbox."""
    failing = False
    while True:
        try:
            if await asyncio.to_thread(index.try_to_write):
                await catch_up(index, sessions)
            if failing:
                logger.info("search index: caught up again")
            failing = False
        except Exception:
            if not failing:
                logger.exception("search index: catching up failed; trying again")
            failing = True
        await asyncio.sleep(interval)


class Keeper:
    """`keep` on a thread with an event loop of its own, beside the API's: a build's minutes
    of work never run on the loop that answers requests, and a loop held up by a handler that
    blocks never leaves the indexer inside its REPEATABLE READ transaction, where a truncate
    or a migration would wait on it. `engine` is used and disposed of on that loop only."""

    def __init__(self, index: SearchIndex, engine: AsyncEngine, *, interval: float) -> None:
        self._index = index
        self._engine = engine
        self._interval = interval
        self._running: tuple[asyncio.AbstractEventLoop, asyncio.Task[None]] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="search-index", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._started.wait()

    def stop(self) -> None:
        """Cancelled where it waits and its connections closed; returns when its thread has
        ended (blocking: call it off the API's loop)."""
        if self._running is not None:
            loop, task = self._running
            loop.call_soon_threadsafe(task.cancel)
        self._thread.join()

    def _run(self) -> None:
        asyncio.run(self._keep())

    async def _keep(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running = (asyncio.get_running_loop(), task)
        self._started.set()
        try:
            await keep(self._index, create_sessionmaker(self._engine), interval=self._interval)
        except asyncio.CancelledError:
            pass
        finally:
            await self._engine.dispose()
