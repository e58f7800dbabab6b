"""The queue, and how a service asks for a task inside its own transaction."""

from datetime import timedelta
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy.ext.asyncio import AsyncSession

# The tasks a request may ask for (backend.tasks.handlers declares them under these names).
SEND_PASSWORD_RESET = "send_password_reset"  # noqa: S105
SEND_EMAIL_VERIFICATION = "send_email_verification"
NOTIFY_NEW_APPLICANTS = "notify_new_applicants"
NOTIFY_STATUS_CHANGES = "notify_status_changes"
SEND_JOB_ALERT = "send_job_alert"  # one saved search: asked for by earlier releases
SEND_JOB_ALERTS = "send_job_alerts"
NOTIFY_JOB_EXPIRING = "notify_job_expiring"
NOTIFY_JOB_DECISION = "notify_job_decision"
NOTIFY_JOB_COMMENT = "notify_job_comment"
NOTIFY_JOB_CLOSED = "notify_job_closed"
SEND_COMPANY_VERIFICATION = "send_company_verification"
SEND_COMPANY_INVITATION = "send_company_invitation"
NOTIFY_OPEN_CHECK = "notify_open_check"
NOTIFY_REVISION_DECISION = "notify_revision_decision"
NOTIFY_JOB_REPORTED = "notify_job_reported"
READ_RESUME_TEXT = "read_resume_text"
SEND_INTERVIEW_INVITATION = "send_interview_invitation"
SEND_REJECTION = "send_rejection"
DELETE_STORED_FILE = "delete_stored_file"
DELIVER_WEBHOOKS = "deliver_webhooks"
NOTIFY_WEBHOOK_DISABLED = "notify_webhook_disabled"

# The periodic tasks an operator may run now (`python -m backend tasks run`), by the name the
# command takes.
PERIODIC = {
    "alerts": "schedule_job_alerts",
    "expiry-notices": "schedule_expiry_notices",
    "open-checks": "schedule_open_checks",
    "purge": "purge",
    "responsiveness": "compute_responsiveness",
    "stalled": "retry_stalled_tasks",
    "webhooks": "schedule_webhook_deliveries",
}

# One queue for the process. Tasks are declared on it by `backend.tasks.handlers` (loaded
# by workers; a web process enqueues by name and needs only the queue). A worker swaps in
# a connector with its own connection pool (`backend.tasks.worker`); the web process never
# opens one: it enqueues on its request's connection.
queue = procrastinate.App(
    connector=procrastinate.PsycopgConnector(), import_paths=["backend.tasks.handlers"]
)


async def enqueue(
    db: AsyncSession,
    task: str,
    *,
    queueing_lock: str | None = None,
    lock: str | None = None,
    delay: timedelta | None = None,
    **arguments: Any,
) -> bool:
    """Ask for `task` with `arguments` in `db`'s transaction: the task exists if and only
    if that transaction commits, and no worker sees it before.

    With `queueing_lock`, at most one task under that lock waits at a time: when one
    already does, nothing is added and the answer is False (the waiting one will do).
    With `lock`, tasks under that lock run one at a time, in the order they were asked for.
    """
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    options: dict[str, Any] = {"connection": raw.driver_connection}
    if queueing_lock is not None:
        options["queueing_lock"] = queueing_lock
    if lock is not None:
        options["lock"] = lock
    if delay is not None:
        options["schedule_in"] = {"seconds": delay.total_seconds()}
    deferrer = queue.configure_task(name=task, **options)
    if queueing_lock is None:
        await deferrer.defer_async(**arguments)
        return True
    try:
        # A savepoint: the refused insert must not abort the caller's transaction.
        async with db.begin_nested():
            # The session emits SAVEPOINT when the nested transaction first uses its
            # connection; the insert below goes around the session, so use it now.
            await db.connection()
            await deferrer.defer_async(**arguments)
    except AlreadyEnqueued:
        return False
    return True


async def enqueue_many(db: AsyncSession, task: str, arguments: list[dict[str, Any]]) -> None:
    """Ask for `task` once per item of `arguments`, in `db`'s transaction, in one statement."""
    if not arguments:
        return
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    deferrer = queue.configure_task(name=task, connection=raw.driver_connection)
    await deferrer.batch_defer_async(*arguments)
