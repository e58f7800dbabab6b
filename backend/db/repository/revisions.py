"""Queries over edits of published jobs held for review (backend.services.revisions)."""

from collections.abc import Sequence
from typing import Any

from pydantic import AwareDatetime
from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.cursor import CursorId, Position
from backend.core.pagination import Positioned
from backend.db.models import Job, JobRevision
from backend.db.repository import base
from backend.db.repository.base import Lock
from backend.db.repository.jobs import LISTED_COLUMNS


class RevisionPosition(Position):
    """The position in the queue of edits: waiting the longest first."""

    created_at: AwareDatetime
    id: CursorId


async def waiting(session: AsyncSession, *, job_id: int, lock: Lock = None) -> JobRevision | None:
    """The job's edit waiting for a decision (locked if asked), if any."""
    statement = select(JobRevision).where(
        JobRevision.job_id == job_id, JobRevision.decided_at.is_(None)
    )
    return (await session.execute(base.locked(statement, lock))).scalar_one_or_none()


async def peek(session: AsyncSession, *, revision_id: int) -> base.AnyRow | None:
    """An edit's job and changes as they are now, read as plain values (no object is
    loaded: the locked read that follows loads it as it is then)."""
    statement = select(JobRevision.job_id, JobRevision.changes).where(JobRevision.id == revision_id)
    return await base.first(session, statement)


async def get(session: AsyncSession, *, revision_id: int, lock: Lock = None) -> JobRevision | None:
    statement = select(JobRevision).where(JobRevision.id == revision_id)
    return (await session.execute(base.locked(statement, lock))).scalar_one_or_none()


async def create(session: AsyncSession, **values: Any) -> JobRevision:
    revision = JobRevision(**values)
    session.add(revision)
    await session.flush()
    return revision


async def update(session: AsyncSession, *, revision: JobRevision, **values: Any) -> JobRevision:
    return await base.update(session, revision, **values)


async def delete_waiting(session: AsyncSession, *, job_id: int) -> bool:
    """Delete the job's waiting edit (withdrawn, or its job left the board); whether there
    was one."""
    result = await session.execute(
        delete(JobRevision)
        .where(JobRevision.job_id == job_id, JobRevision.decided_at.is_(None))
        .returning(JobRevision.id)
    )
    return result.first() is not None


async def delete_waiting_of(session: AsyncSession, *, job_ids: list[int]) -> None:
    """Delete the waiting edits of jobs that left the board."""
    if job_ids:
        await session.execute(
            delete(JobRevision).where(
                JobRevision.job_id.in_(job_ids), JobRevision.decided_at.is_(None)
            )
        )


async def of_job(session: AsyncSession, *, job_id: int) -> Sequence[JobRevision]:
    """A job's edits held for review, waiting or decided, the newest first."""
    statement = (
        select(JobRevision).where(JobRevision.job_id == job_id).order_by(JobRevision.id.desc())
    )
    return list((await session.execute(statement)).scalars())


def _with_job() -> Any:
    """A waiting edit with the job as it is on the board (its columns, and its company's
    name, as lists read them)."""
    return select(JobRevision, *LISTED_COLUMNS).join(Job, Job.id == JobRevision.job_id)


async def queue(
    session: AsyncSession, *, limit: int, after: RevisionPosition | None
) -> Positioned[base.AnyRow, RevisionPosition]:
    """The edits waiting for a decision, the longest waiting first, each with its job."""
    statement = (
        _with_job()
        .where(JobRevision.decided_at.is_(None))
        .order_by(JobRevision.created_at, JobRevision.id)
    )
    if after is not None:
        statement = statement.where(
            tuple_(JobRevision.created_at, JobRevision.id) > tuple_(after.created_at, after.id)
        )
    rows = list(await session.execute(statement.limit(limit + 1)))
    return Positioned(
        rows,
        lambda index: RevisionPosition(created_at=rows[index][0].created_at, id=rows[index][0].id),
    )


async def reviewed(session: AsyncSession, *, revision_id: int) -> base.AnyRow | None:
    """One edit, waiting or decided, with its job."""
    row = (await session.execute(_with_job().where(JobRevision.id == revision_id))).first()
    return row
