"""What follows a job's closing, however it closed (its owner, an unanswered open check,
or its employer saying it is filled)."""

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.db.queue import NOTIFY_JOB_CLOSED, enqueue


async def closed(db: AsyncSession, settings: Settings, *, job_id: int) -> None:
    """Its candidates hear of it, once an application, NOTIFY_BATCH_MINUTES later: a job
    reopened by then tells nobody (backend.services.notifications.job_closed_mails)."""
    await enqueue(
        db,
        NOTIFY_JOB_CLOSED,
        queueing_lock=f"job-closed:{job_id}",
        delay=timedelta(minutes=settings.notify_batch_minutes),
        job_id=job_id,
    )
