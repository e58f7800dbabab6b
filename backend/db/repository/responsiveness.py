"""How companies answer applications: computed in one statement, read per company."""

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import CompanyResponsiveness
from backend.db.repository import base

# Every company's figures, written in one statement: the applications made between a year
# and ANSWER_DAYS ago (old enough to tell whether they were answered in time) that have a
# timeline from their start (a `submitted` event), less those their candidate withdrew
# before any answer; the first answer is the first move or interview event of anyone but
# the candidate. Companies with fewer than `minimum` such applications get no row.
_RECOMPUTE = text(
    """
    WITH judged AS (
        SELECT jobs.company_id, applications.created_at, (
            SELECT min(answer.created_at)
            FROM application_events AS answer
            WHERE answer.application_id = applications.id
              AND answer.kind IN ('moved', 'interview')
              AND answer.actor_id IS DISTINCT FROM applications.candidate_id
        ) AS answered_at, applications.status
        FROM applications
        JOIN jobs ON jobs.id = applications.job_id
        WHERE applications.created_at >= :now - make_interval(days => :window_days)
          AND applications.created_at < :now - make_interval(days => :answer_days)
          AND EXISTS (
              SELECT 1 FROM application_events AS submitted
              WHERE submitted.application_id = applications.id
                AND submitted.kind = 'submitted'
          )
    ), counted AS (
        SELECT company_id,
               count(*) AS applications,
               count(*) FILTER (
                   WHERE answered_at < created_at + make_interval(days => :answer_days)
               ) AS answered,
               percentile_cont(0.5) WITHIN GROUP (
                   ORDER BY extract(epoch FROM answered_at - created_at)
               ) FILTER (WHERE answered_at IS NOT NULL) AS median_seconds
        FROM judged
        WHERE NOT (status = 'withdrawn' AND answered_at IS NULL)
        GROUP BY company_id
        HAVING count(*) >= :minimum
    ), written AS (
        INSERT INTO company_responsiveness
            (company_id, applications, answered, median_seconds, computed_at)
        SELECT company_id, applications, answered, median_seconds, :now FROM counted
        ON CONFLICT (company_id) DO UPDATE SET
            applications = excluded.applications,
            answered = excluded.answered,
            median_seconds = excluded.median_seconds,
            computed_at = excluded.computed_at
        RETURNING company_id
    ), dropped AS (
        DELETE FROM company_responsiveness
        WHERE company_id NOT IN (SELECT company_id FROM written)
        RETURNING company_id
    )
    SELECT (SELECT count(*) FROM written), (SELECT count(*) FROM dropped)
    """
)


async def recompute(
    session: AsyncSession,
    *,
    now: datetime,
    window_days: int,
    answer_days: int,
    minimum: int,
) -> tuple[int, int]:
    """Write every company's figures as of `now`; (companies written, companies dropped
    for having too few applications now)."""
    row = await base.first(
        session,
        _RECOMPUTE,
        {"now": now, "window_days": window_days, "answer_days": answer_days, "minimum": minimum},
    )
    assert row is not None  # an aggregate always answers
    return int(row[0]), int(row[1])


async def get(session: AsyncSession, *, company_id: int) -> CompanyResponsiveness | None:
    statement = select(CompanyResponsiveness).where(CompanyResponsiveness.company_id == company_id)
    return (await session.execute(statement)).scalar_one_or_none()
