"""Queries over the jobs users bookmark, and what a user did with the jobs of a list."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.pagination import Positioned
from backend.db.models import Application, ApplicationStatus, Job, SavedJob
from backend.db.repository.base import IdPosition
from backend.db.repository.jobs import LISTED_COLUMNS, publicly_visible


async def save(session: AsyncSession, *, user_id: int, job_id: int) -> datetime | None:
    """Bookmark the job for the user; when it was saved, or None when it was already (one
    bookmark a user and job, however many saves arrive at once: the unique index decides)."""
    statement = (
        insert(SavedJob)
        .values(user_id=user_id, job_id=job_id)
        .on_conflict_do_nothing(index_elements=[SavedJob.user_id, SavedJob.job_id])
        .returning(SavedJob.created_at)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def saved_at(session: AsyncSession, *, user_id: int, job_id: int) -> datetime | None:
    statement = select(SavedJob.created_at).where(
        SavedJob.user_id == user_id, SavedJob.job_id == job_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def remove(session: AsyncSession, *, user_id: int, job_id: int) -> bool:
    """Take the bookmark away; whether there was one."""
    statement = (
        delete(SavedJob)
        .where(SavedJob.user_id == user_id, SavedJob.job_id == job_id)
        .returning(SavedJob.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def count_for_user(session: AsyncSession, *, user_id: int) -> int:
    statement = select(func.count()).where(SavedJob.user_id == user_id)
    return int((await session.execute(statement)).scalar_one())


async def list_for_user(
    session: AsyncSession, *, user_id: int, limit: int, after: IdPosition | None = None
) -> Positioned[Any, IdPosition]:
    """The user's bookmarked jobs that are on the board, newest bookmark first: each job's
    listed columns, its bookmark's id (`saved_id`, the list's position) and `saved_at`.
    A bookmark of a job no longer on the board is kept (it may come back) but not listed."""
    statement = (
        select(
            *LISTED_COLUMNS,
            SavedJob.id.label("saved_id"),
            SavedJob.created_at.label("saved_at"),
        )
        .join(SavedJob, SavedJob.job_id == Job.id)
        .where(SavedJob.user_id == user_id, publicly_visible())
        .order_by(SavedJob.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        statement = statement.where(SavedJob.id < after.id)
    rows = list(await session.execute(statement))
    return Positioned(rows, lambda index: IdPosition(id=rows[index].saved_id))


@dataclass(frozen=True, slots=True)
class Marker:
    """What a user did with a job: bookmarked it, applied to it."""

    job_id: int
    saved_at: datetime | None
    application_id: int | None
    application_status: ApplicationStatus | None
    applied_at: datetime | None


async def markers(session: AsyncSession, *, user_id: int, job_ids: Sequence[int]) -> list[Marker]:
    """For those of the jobs the user bookmarked or applied to, what they did, by job id."""
    saved = select(SavedJob.job_id, SavedJob.created_at).where(
        SavedJob.user_id == user_id, SavedJob.job_id.in_(job_ids)
    )
    applied = select(
        Application.job_id, Application.id, Application.status, Application.created_at
    ).where(Application.candidate_id == user_id, Application.job_id.in_(job_ids))
    found: dict[int, dict[str, Any]] = {}
    for job_id, at in await session.execute(saved):
        found.setdefault(job_id, {})["saved_at"] = at
    for job_id, application_id, status, at in await session.execute(applied):
        found.setdefault(job_id, {}).update(
            application_id=application_id, application_status=status, applied_at=at
        )
    return [
        Marker(
            job_id=job_id,
            saved_at=values.get("saved_at"),
            application_id=values.get("application_id"),
            application_status=values.get("application_status"),
            applied_at=values.get("applied_at"),
        )
        for job_id, values in sorted(found.items())
    ]
