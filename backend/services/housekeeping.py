"""Deleting what has ended, hourly by a worker (or `python -m backend purge` from cron)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.db.repository import idempotency as idempotency_repo
from backend.db.repository import jobs as jobs_repo
from backend.db.repository import mail as mail_repo
from backend.db.repository import password_resets as resets_repo
from backend.db.repository import search_outbox
from backend.db.repository import sessions as sessions_repo
from backend.db.repository import throttle as throttle_repo
from backend.services import idempotency
from backend.services.job_expiry import NOTICE_KEPT
from backend.services.moderation import COMMENT_WINDOW_SECONDS, POST_WINDOW_SECONDS
from backend.services.throttle import (
    MAIL_TO_ADDRESS_WINDOW_SECONDS,
    RATE_WINDOW_SECONDS,
    REPORT_WINDOW_SECONDS,
    VERIFY_WINDOW_SECONDS,
)

# A send record matters while the task that made it could run again (its retries end well
# within this).
SENT_MAIL_KEPT = timedelta(days=30)


async def purge(db: AsyncSession, settings: Settings) -> dict[str, int]:
    """Ended sessions, spent or expired reset tokens, throttle counts no window looks back
    at, old send records, the expiry notices of dates long past and the search outbox's
    entries older than any index still catching up reads; how many of each went."""
    now = datetime.now(UTC)
    longest_window = max(
        settings.login_failure_window_seconds,
        RATE_WINDOW_SECONDS,
        VERIFY_WINDOW_SECONDS,
        MAIL_TO_ADDRESS_WINDOW_SECONDS,
        REPORT_WINDOW_SECONDS,
        COMMENT_WINDOW_SECONDS,
        POST_WINDOW_SECONDS,
    )
    return {
        "sessions": await sessions_repo.purge(db, revoked_before=now),
        "reset tokens": await resets_repo.purge(db, older_than=now),
        "throttle events": await throttle_repo.purge(
            db, older_than=now - timedelta(seconds=longest_window)
        ),
        "send records": await mail_repo.purge(db, older_than=now - SENT_MAIL_KEPT),
        "expiry notices": await jobs_repo.purge_expiry_notices(
            db, expired_before=now - NOTICE_KEPT
        ),
        "search changes": await search_outbox.purge(db, older_than=now - search_outbox.KEPT),
        "idempotency keys": await idempotency_repo.purge(db, older_than=now - idempotency.KEPT),
    }
