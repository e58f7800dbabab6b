"""Running workers, and what an operator does with tasks that failed for good."""

import asyncio
import contextlib
import logging
import signal
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import procrastinate
import procrastinate.exceptions
import psycopg
from procrastinate import RetryStrategy
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.core.config import Settings
from backend.core.mail import create_mailer
from backend.core.metrics import PROCESS, QueueCollector, serving
from backend.core.problems import describe_database_error
from backend.db import admin
from backend.db.engine import application_name, create_engine, create_sessionmaker
from backend.db.queue import PERIODIC, enqueue, queue
from backend.db.repository import task_queue
from backend.tasks import handlers

logger = logging.getLogger(__name__)


def configure_retries(settings: Settings) -> None:
    """Every task is tried TASK_MAX_ATTEMPTS times in all, waiting TASK_RETRY_BASE_SECONDS **
    (try + 1) seconds after each failed try (3 s, 9 s, 27 s ... 19 683 s by default: about
    eight hours in all), then left failed for an operator."""
    # procrastinate counts the retries after the first try.
    retries = settings.task_max_attempts - 1
    strategy = (
        RetryStrategy(max_attempts=retries, exponential_wait=settings.task_retry_base_seconds)
        if retries
        else None
    )
    for task in queue.tasks.values():
        task.retry_strategy = strategy


def connector(settings: Settings, *, max_size: int) -> procrastinate.PsycopgConnector:
    """The queue's own connection pool, on the primary (tasks are writes)."""
    kwargs: dict[str, Any] = {"application_name": application_name("queue")}
    if not settings.db_prepared_statements:
        kwargs["prepare_threshold"] = None  # behind PgBouncer in transaction mode
    return procrastinate.PsycopgConnector(
        conninfo=admin.conninfo(settings.database),
        kwargs=kwargs,
        min_size=1,
        max_size=max_size,
    )


async def _beat(path: Path, every: float) -> None:
    """Touch `path` while the worker's event loop runs (`worker --check` reads it)."""
    while True:
        await asyncio.to_thread(path.touch)
        await asyncio.sleep(every)


def is_alive(settings: Settings) -> bool:
    """Whether a worker on this machine touched its heartbeat file lately."""
    try:
        age = time.time() - settings.worker_heartbeat_file.stat().st_mtime
    except FileNotFoundError:
        return False
    return age < settings.worker_stalled_seconds


async def _count_queue(engine: AsyncEngine, collector: QueueCollector, every: float) -> None:
    """Count the queue for the metrics every `every` seconds; while the database is away
    the last count stays (`jobboard_queue_checked_timestamp_seconds` shows its age)."""
    while True:
        try:
            async with engine.connect() as connection:
                collector.counts = await task_queue.count(connection)
        except (SQLAlchemyError, OSError) as exc:
            logger.warning("could not count the task queue: %s", describe_database_error(exc))
        await asyncio.sleep(every)


@contextlib.contextmanager
def serving_metrics(settings: Settings) -> Iterator[QueueCollector | None]:
    """With WORKER_METRICS_PORT set: the process's metrics served on it, the queue's counts
    among them, until the block ends."""
    if not settings.worker_metrics_port:
        yield None
        return
    collector = QueueCollector()
    with serving(PROCESS, settings.worker_metrics_address, settings.worker_metrics_port):
        PROCESS.register(collector)
        try:
            yield collector
        finally:
            PROCESS.unregister(collector)


# After losing its database the worker starts again after 1 s, then 2, 4 ... at most this.
RESTART_MAX_SECONDS = 30.0
# A run that lasted this long was healthy: the next loss starts the wait from 1 s again.
HEALTHY_RUN_SECONDS = 60.0
# What losing the database looks like from the queue: procrastinate wraps the driver's
# errors; opening its pool while the server is away times out.
DATABASE_LOST = (procrastinate.exceptions.ConnectorException, psycopg.Error, OSError)


async def run_worker(
    settings: Settings,
    *,
    concurrency: int | None = None,
    wait: bool = True,
    install_signal_handlers: bool = True,
    name: str | None = None,
) -> None:
    """Run tasks until stopped (SIGINT/SIGTERM, or this coroutine cancelled: the tasks in
    hand finish first), or with `wait=False` until none is left to do.

    A worker outlives its database: when the queue loses it (a restart, an outage, killed
    connections: procrastinate then stops, whichever of its loops met the loss first), the
    worker says so in one line and starts again, waiting longer each time while the database
    stays away.
    """
    engine = create_engine(settings, role="worker")
    resources = handlers.Resources(
        settings=settings,
        sessionmaker=create_sessionmaker(engine),
        mailer=create_mailer(settings),
    )
    configure_retries(settings)
    heartbeat = settings.worker_heartbeat_file
    beating = asyncio.create_task(_beat(heartbeat, settings.worker_stalled_seconds / 6))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    if install_signal_handlers:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
    options: dict[str, Any] = {
        "name": name or socket.gethostname(),
        "concurrency": concurrency or settings.worker_concurrency,
        "wait": wait,
        "listen_notify": settings.worker_listen_notify,
        "fetch_job_polling_interval": settings.worker_poll_seconds,
        "update_heartbeat_interval": settings.worker_stalled_seconds / 6,
        "stalled_worker_timeout": settings.worker_stalled_seconds,
        "delete_jobs": "successful",
        "additional_context": {handlers.RESOURCES: resources},
        # Signals stop the worker through `stopping`, which also ends the restarts.
        "install_signal_handlers": False,
    }
    try:
        with serving_metrics(settings) as collector:
            counting = (
                asyncio.create_task(
                    _count_queue(engine, collector, settings.worker_queue_check_seconds)
                )
                if collector is not None
                else None
            )
            try:
                await _restarting(settings, options, stopping, wait=wait)
            finally:
                if counting is not None:
                    counting.cancel()
    finally:
        if install_signal_handlers:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
        beating.cancel()
        heartbeat.unlink(missing_ok=True)
        await engine.dispose()


async def _restarting(
    settings: Settings, options: dict[str, Any], stopping: asyncio.Event, *, wait: bool
) -> None:
    """procrastinate's worker, started again after each loss of the database until
    `stopping` is set (or, with `wait=False`, once the queue is empty)."""
    delay = 1.0
    while True:
        started = time.monotonic()
        try:
            await _run_once(settings, options, stopping)
        except DATABASE_LOST as exc:
            if not wait:
                raise
            reason = describe_database_error(exc)
        else:
            if stopping.is_set() or not wait:
                return
            # procrastinate stopped by itself: one of its loops met a lost connection.
            reason = "a loop of the queue stopped"
        if time.monotonic() - started > HEALTHY_RUN_SECONDS:
            delay = 1.0
        logger.warning(
            "the task queue lost its database (%s); starting again in %.0f s", reason, delay
        )
        try:
            await asyncio.wait_for(stopping.wait(), timeout=delay)
            return  # stopped while waiting
        except TimeoutError:
            pass
        delay = min(delay * 2, RESTART_MAX_SECONDS)


async def _run_once(settings: Settings, options: dict[str, Any], stopping: asyncio.Event) -> None:
    """One run of procrastinate's worker, until it stops, fails, or `stopping` is set (then
    it is cancelled, which procrastinate documents as a graceful stop)."""
    # Fetching, heartbeats and LISTEN each hold a connection beside the tasks' work.
    with queue.replace_connector(connector(settings, max_size=3)) as app:
        async with app.open_async():
            running = asyncio.create_task(app.run_worker_async(**options))
            stop = asyncio.create_task(stopping.wait())
            try:
                await asyncio.wait({running, stop}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop.cancel()
                if not running.done():
                    running.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await running
            if not running.cancelled():
                running.result()  # its error, if it failed


@dataclass(frozen=True, slots=True)
class FailedTask:
    id: int
    task: str
    attempts: int
    arguments: dict[str, Any]
    scheduled_at: datetime | None


async def failed_tasks(settings: Settings) -> list[FailedTask]:
    """Tasks that failed their last try, oldest first."""
    with queue.replace_connector(connector(settings, max_size=1)) as app:
        async with app.open_async():
            jobs: Iterable[procrastinate.jobs.Job] = await app.job_manager.list_jobs_async(
                status="failed"
            )
            return sorted(
                (
                    FailedTask(
                        id=job.id or 0,
                        task=job.task_name,
                        attempts=job.attempts,
                        arguments=dict(job.task_kwargs),
                        scheduled_at=job.scheduled_at,
                    )
                    for job in jobs
                ),
                key=lambda task: task.id,
            )


async def retry_failed(settings: Settings, task_ids: list[int]) -> list[int]:
    """Put failed tasks back in the queue to run now; the ids that were failed."""
    failed = {task.id for task in await failed_tasks(settings)}
    retried = [task_id for task_id in task_ids if task_id in failed]
    with queue.replace_connector(connector(settings, max_size=1)) as app:
        async with app.open_async():
            for task_id in retried:
                await app.job_manager.retry_job_by_id_async(
                    job_id=task_id, retry_at=datetime.now(UTC)
                )
    return retried


async def run_now(settings: Settings, which: str) -> bool:
    """Queue the periodic task `which` (a key of PERIODIC) to run as soon as a worker is
    free; False when it already waits for one (its queueing lock holds one at a time)."""
    engine = create_engine(settings, role="cli")
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            name = PERIODIC[which]
            return await enqueue(db, name, queueing_lock=name, timestamp=int(time.time()))
    finally:
        await engine.dispose()


@dataclass(frozen=True, slots=True)
class TaskCounts:
    task: str
    waiting: int
    running: int
    failed: int


async def queue_state(settings: Settings) -> list[TaskCounts]:
    """How many tasks of each name wait, run and failed for good, by name (procrastinate's
    own count; succeeded tasks are deleted as they finish)."""
    with queue.replace_connector(connector(settings, max_size=1)) as app:
        async with app.open_async():
            rows = await app.job_manager.list_tasks_async()
    return sorted(
        (
            TaskCounts(
                task=row["name"], waiting=row["todo"], running=row["doing"], failed=row["failed"]
            )
            for row in rows
        ),
        key=lambda counts: counts.task,
    )
