"""Running workers, and what an operator does with tasks that failed for good."""

import asyncio
import logging
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import procrastinate
from procrastinate import RetryStrategy

from backend.core.config import Settings
from backend.core.mail import create_mailer
from backend.db import admin
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.queue import queue
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
    kwargs: dict[str, Any] = {}
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


async def run_worker(
    settings: Settings,
    *,
    concurrency: int | None = None,
    wait: bool = True,
    install_signal_handlers: bool = True,
    name: str | None = None,
) -> None:
    """Run tasks until stopped (SIGINT/SIGTERM: the tasks in hand finish first), or with
    `wait=False` until none is left to do."""
    concurrency = concurrency or settings.worker_concurrency
    engine = create_engine(settings)
    resources = handlers.Resources(
        settings=settings,
        sessionmaker=create_sessionmaker(engine),
        mailer=create_mailer(settings),
    )
    configure_retries(settings)
    heartbeat = settings.worker_heartbeat_file
    beating = asyncio.create_task(_beat(heartbeat, settings.worker_stalled_seconds / 6))
    try:
        # Fetching, heartbeats and LISTEN each hold a connection beside the tasks' work.
        with queue.replace_connector(connector(settings, max_size=3)) as app:
            async with app.open_async():
                await app.run_worker_async(
                    name=name or f"{socket.gethostname()}",
                    concurrency=concurrency,
                    wait=wait,
                    listen_notify=settings.worker_listen_notify,
                    fetch_job_polling_interval=settings.worker_poll_seconds,
                    update_heartbeat_interval=settings.worker_stalled_seconds / 6,
                    stalled_worker_timeout=settings.worker_stalled_seconds,
                    delete_jobs="successful",
                    additional_context={handlers.RESOURCES: resources},
                    install_signal_handlers=install_signal_handlers,
                )
    finally:
        beating.cancel()
        heartbeat.unlink(missing_ok=True)
        await engine.dispose()


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
