"""Running queued tasks inside a test's rolled-back transaction.

A request enqueues its tasks in its own transaction, which in these tests is a savepoint
of the test's: no worker process can see them. `run_queued` does what a worker would, on
the test's connection: it reads the waiting rows from procrastinate's table (whatever
their schedule), runs each task's function with a worker's context, and deletes the row.
The worker itself (fetching, retries, periodic tasks, several workers) is tested against
committed data with real worker processes in tests/test_worker.py.
"""

import time
from typing import Any

import httpx
from fastapi import FastAPI
from procrastinate import JobContext
from procrastinate.jobs import Job
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.queue import queue
from backend.tasks import handlers


def queued(rows: list[Any]) -> list[str]:
    return [row.task_name for row in rows]


async def waiting(db: AsyncSession, *, due_only: bool = False) -> list[Any]:
    """The tasks waiting in the queue, oldest first (`due_only`: those due now)."""
    due = " AND (scheduled_at IS NULL OR scheduled_at <= now())" if due_only else ""
    result = await db.execute(
        text(
            "SELECT id, task_name, args, queueing_lock, scheduled_at FROM procrastinate_jobs "
            f"WHERE status = 'todo'{due} ORDER BY id"
        )
    )
    return list(result)


async def run_queued(
    app: FastAPI | httpx.AsyncClient, db: AsyncSession, *, due_only: bool = False
) -> list[str]:
    """Run every waiting task as a worker would (with `app`'s settings and mailer), until
    none is left (`due_only`: none is due, leaving those scheduled for later); the names of
    the tasks run, in order."""
    application: FastAPI = app.app if isinstance(app, httpx.AsyncClient) else app  # type: ignore[attr-defined]
    factory: async_sessionmaker[AsyncSession] = application.state.sessionmaker
    resources = handlers.Resources(
        settings=application.state.settings,
        sessionmaker=factory,
        mailer=application.state.mailer,
    )
    ran: list[str] = []
    while rows := await waiting(db, due_only=due_only):
        for row in rows:
            job = Job(
                id=row.id,
                queue="default",
                lock=None,
                queueing_lock=row.queueing_lock,
                task_name=row.task_name,
                task_kwargs=row.args,
            )
            context = JobContext(
                app=queue,
                job=job,
                additional_context={handlers.RESOURCES: resources},
                abort_reason=lambda: None,
                start_timestamp=time.time(),
            )
            await db.execute(text("DELETE FROM procrastinate_jobs WHERE id = :id"), {"id": row.id})
            await queue.tasks[row.task_name].func(context, **row.args)
            ran.append(row.task_name)
    return ran
