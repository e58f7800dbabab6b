"""Counting the task queue, for the worker's metrics.

procrastinate's tables are this database's own (a migration of ours applies the package's
schema SQL, and later ones its upgrades); its job manager lists jobs one by one, so the
counts are read here in two statements over `procrastinate_jobs`.
"""

import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.core.metrics import QueueCounts

__all__ = ["QueueCounts", "count"]

_COUNTS = text(
    """
    SELECT task_name,
           count(*) FILTER (WHERE status = 'todo' AND attempts = 0
                              AND (scheduled_at IS NULL OR scheduled_at <= now())) AS waiting,
           count(*) FILTER (WHERE status = 'todo' AND attempts = 0
                              AND scheduled_at > now()) AS scheduled,
           count(*) FILTER (WHERE status = 'doing') AS running,
           count(*) FILTER (WHERE status = 'todo' AND attempts > 0) AS retrying,
           count(*) FILTER (WHERE status = 'failed') AS failed
    FROM procrastinate_jobs
    GROUP BY task_name
    """
)

# A due task waits since it was scheduled for, or else since it was queued (its `deferred`
# event); the oldest of each name by id is the oldest queued.
_OLDEST_WAITING = text(
    """
    WITH due AS (
        SELECT id, task_name, scheduled_at FROM procrastinate_jobs
        WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())
    ),
    first_queued AS (
        SELECT DISTINCT ON (task_name) task_name, id FROM due
        WHERE scheduled_at IS NULL ORDER BY task_name, id
    ),
    since AS (
        SELECT task_name, min(scheduled_at) AS at FROM due GROUP BY task_name
        UNION ALL
        SELECT task_name,
               (SELECT min(at) FROM procrastinate_events
                WHERE job_id = first_queued.id AND type = 'deferred')
        FROM first_queued
    )
    SELECT task_name, extract(epoch FROM now() - min(at))::float8
    FROM since WHERE at IS NOT NULL GROUP BY task_name
    """
)

STATES = ("waiting", "scheduled", "running", "retrying", "failed")


async def count(connection: AsyncConnection) -> QueueCounts:
    tasks: dict[tuple[str, str], int] = {}
    for row in await connection.execute(_COUNTS):
        for state, number in zip(STATES, row[1:], strict=True):
            tasks[(row[0], state)] = number
    oldest = {row[0]: max(row[1], 0.0) for row in await connection.execute(_OLDEST_WAITING)}
    return QueueCounts(at=time.time(), tasks=tasks, oldest_waiting=oldest)
