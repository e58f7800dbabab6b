"""Queries of the open checks: which published jobs their employers are asked to confirm
open, which close unanswered, and what the mails about them name."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company, Job, JobReport, JobStatus, ReportReason, User
from backend.db.repository import users

# When a job was last confirmed open: by its employer, or else by publishing it (the
# expression ix_jobs_open_check_due indexes).
CONFIRMED_SINCE = func.coalesce(Job.confirmed_open_at, Job.published_at)


def _locked_batch(*conditions: Any, order: Any, limit: int) -> Any:
    """The ids of at most `limit` jobs meeting `conditions`, locked, skipping those another
    run holds (each run takes its own)."""
    return (
        select(Job.id)
        .where(*conditions)
        .order_by(order)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


@dataclass(frozen=True, slots=True)
class Asked:
    """A job whose owner is asked (or told), when it was asked, and who owns it."""

    job_id: int
    asked_at: datetime
    owner_id: int


def _asked(rows: Iterable[tuple[int, datetime | None, int]]) -> list[Asked]:
    # Every row returned was asked (the update set the time, or the filter required it).
    return [
        Asked(job_id=job_id, asked_at=asked_at, owner_id=owner_id)
        for job_id, asked_at, owner_id in rows
        if asked_at is not None
    ]


async def ask_due(session: AsyncSession, *, confirmed_before: datetime, limit: int) -> list[Asked]:
    """Mark at most `limit` visible jobs last confirmed open before `confirmed_before`, and
    not asked since, as asked now; each with its owner. The job's version (`updated_at`)
    stays: nothing its owner wrote changed."""
    due = (
        Job.status == JobStatus.published,
        Job.open_check_sent_at.is_(None),
        confirmed_before > CONFIRMED_SINCE,
        or_(Job.expires_at.is_(None), Job.expires_at > func.now()),
    )
    statement = (
        update(Job)
        .where(
            Job.id.in_(_locked_batch(*due, order=CONFIRMED_SINCE, limit=limit)),
            Company.id == Job.company_id,
            *due,
        )
        .values(open_check_sent_at=func.clock_timestamp(), updated_at=Job.updated_at)
        .returning(Job.id, Job.open_check_sent_at, Company.owner_id)
    )
    return _asked(await session.execute(statement))


async def close_unanswered(
    session: AsyncSession, *, asked_before: datetime, limit: int
) -> list[Asked]:
    """Close at most `limit` published jobs whose employer was asked before `asked_before`
    and has not answered; each with its owner and when it was asked (kept on the closed
    job, for its mail to tell)."""
    stale = (
        Job.status == JobStatus.published,
        Job.open_check_sent_at.is_not(None),
        Job.open_check_sent_at < asked_before,
    )
    statement = (
        update(Job)
        .where(
            Job.id.in_(_locked_batch(*stale, order=Job.open_check_sent_at, limit=limit)),
            Company.id == Job.company_id,
            *stale,
        )
        .values(status=JobStatus.closed)
        .returning(Job.id, Job.open_check_sent_at, Company.owner_id)
    )
    return _asked(await session.execute(statement))


async def ask_now(session: AsyncSession, *, job_id: int) -> datetime:
    """Mark a published job (locked by the caller, not asked yet) as asked now; when."""
    statement = (
        update(Job)
        .where(Job.id == job_id)
        .values(open_check_sent_at=func.clock_timestamp(), updated_at=Job.updated_at)
        .returning(Job.open_check_sent_at)
    )
    asked = (await session.execute(statement)).scalar_one()
    assert asked is not None  # just set
    return asked


def _open_filled_reports(job_id: int) -> Any:
    return (
        JobReport.job_id == job_id,
        JobReport.resolved_at.is_(None),
        JobReport.reason == ReportReason.filled,
    )


async def filled_reporters(session: AsyncSession, *, job_id: int) -> int:
    """How many people have an open report that the job is filled."""
    reporters = func.coalesce(cast(JobReport.reporter_id, String), JobReport.address_key)
    statement = select(func.count(func.distinct(reporters))).where(*_open_filled_reports(job_id))
    return int((await session.execute(statement)).scalar_one())


async def resolve_filled_reports(session: AsyncSession, *, job_id: int) -> None:
    """The employer answered whether the job is still open: its "filled" reports are."""
    await session.execute(
        update(JobReport).where(*_open_filled_reports(job_id)).values(resolved_at=func.now())
    )


@dataclass(frozen=True, slots=True)
class OpenCheckNotice:
    """Whom a mail about a job's open check goes to, and what it names."""

    owner_id: int
    email: str
    name: str
    # The account may be mailed (active, its address confirmed).
    mailable: bool
    generation: int
    job_title: str
    company: str
    status: JobStatus
    confirmed_since: datetime | None
    asked_at: datetime | None


async def notice(session: AsyncSession, *, job_id: int) -> OpenCheckNotice | None:
    statement = (
        select(
            User.id,
            User.email,
            User.full_name,
            users.MAILABLE,
            User.security_generation,
            Job.title,
            Company.name,
            Job.status,
            CONFIRMED_SINCE,
            Job.open_check_sent_at,
        )
        .select_from(Job)
        .join(Company, Company.id == Job.company_id)
        .join(User, User.id == Company.owner_id)
        .where(Job.id == job_id)
    )
    row = (await session.execute(statement)).one_or_none()
    if row is None:
        return None
    return OpenCheckNotice(
        owner_id=row[0],
        email=row[1],
        name=row[2],
        mailable=bool(row[3]),
        generation=row[4],
        job_title=row[5],
        company=row[6],
        status=row[7],
        confirmed_since=row[8],
        asked_at=row[9],
    )
