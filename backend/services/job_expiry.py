"""Telling a job's owner, a few days ahead, that their published job is about to expire.

An hourly task records a notice for each visible job whose expiry date comes within
EXPIRY_NOTICE and asks for its mail, in one transaction: a job is noticed once per expiry
date (moved to a later date, it is noticed again when that one nears), and however many
runs race, the owner gets one mail. The mail's task checks again that the job is still
published with that date before it sends.
"""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.config import Settings
from backend.db.queue import NOTIFY_JOB_EXPIRING, enqueue_many
from backend.db.repository import jobs as jobs_repo
from backend.services import notifications

EXPIRY_NOTICE = timedelta(days=3)
# Notices recorded (and mails asked for) per transaction.
NOTICE_BATCH = 500
# A notice matters until its date has passed; kept a while longer for whoever looks.
NOTICE_KEPT = timedelta(days=30)


async def schedule_notices(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Record a notice and ask for its mail for every visible job expiring within
    EXPIRY_NOTICE that its owner was not told of; how many."""
    count = 0
    until = datetime.now(UTC) + EXPIRY_NOTICE
    after: tuple[datetime, int] | None = None
    while True:
        async with sessionmaker() as db, db.begin():
            recorded = await jobs_repo.record_expiry_notices(
                db, until=until, limit=NOTICE_BATCH, after=after
            )
            await enqueue_many(
                db,
                NOTIFY_JOB_EXPIRING,
                [
                    {"job_id": job_id, "expires_at": expires_at.isoformat()}
                    for job_id, expires_at in recorded
                ],
            )
        count += len(recorded)
        if len(recorded) < NOTICE_BATCH:
            return count
        # The next batch goes on from the last job of this one (no walk over those told).
        after = max((expires_at, job_id) for job_id, expires_at in recorded)


async def notice_mail(
    db: AsyncSession, settings: Settings, *, job_id: int, expires_at: datetime
) -> EmailMessage | None:
    """The mail to a job's owner that the job expires at `expires_at`; None when that is no
    longer so (closed, deleted, given another date, already expired) or the owner turned
    these mails off."""
    notice = await jobs_repo.expiry_notice(db, job_id=job_id)
    now = datetime.now(UTC)
    if (
        notice is None
        or not notice.wants_it
        or not notice.published
        or notice.expires_at != expires_at
        or expires_at <= now
    ):
        return None
    left = expires_at - now
    context = {
        "name": notice.name,
        "job_title": notice.job_title,
        "company": notice.company,
        "expires_at": expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "days": max(1, round(left / timedelta(days=1))),
        "link": f"{settings.frontend_url.rstrip('/')}/dashboard/jobs/{job_id}",
    }
    return notifications.notification_mail(
        settings,
        "job_expiring",
        to=notice.email,
        user_id=notice.owner_id,
        generation=notice.generation,
        kind=notifications.Kind.job_expiry,
        context=context,
    )
