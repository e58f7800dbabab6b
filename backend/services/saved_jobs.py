"""Jobs users bookmark, and the markers lists show beside the jobs a user saved or applied to.

A bookmark is of a job on the board (404 for any other). Saving twice keeps one bookmark,
however many saves arrive at once (a unique index); a user keeps at most MAX_SAVED_JOBS,
decided on their locked account so that saves at once cannot pass it. A bookmarked job
that leaves the board (closed, expired, held) is not listed, and is again if it comes
back; a deleted job takes its bookmarks with it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.exceptions import Conflict, NotFound
from backend.core.pagination import Paged, PageRequest
from backend.db.repository import jobs as jobs_repo
from backend.db.repository import saved_jobs as saved_repo
from backend.db.repository import users as users_repo
from backend.db.repository.base import IdPosition
from backend.db.repository.saved_jobs import Marker
from backend.db.repository.sessions import Caller

MAX_SAVED_JOBS = 500
JOB_NOT_FOUND = "Job not found."
NOT_SAVED = "This job is not among your saved jobs."


@dataclass(frozen=True, slots=True)
class Saved:
    saved_at: datetime
    created: bool  # False: it was saved already


async def save(db: AsyncSession, *, user: Caller, job_id: int) -> Saved:
    """Bookmark a job on the board (404 for any other); saved already: as it was. 409 past
    MAX_SAVED_JOBS."""
    found = await jobs_repo.read_access(db, job_id=job_id)
    if found is None or not found.public:
        raise NotFound(JOB_NOT_FOUND)
    already = await saved_repo.saved_at(db, user_id=user.id, job_id=job_id)
    if already is not None:
        return Saved(already, created=False)
    if user.id not in await users_repo.lock(db, user_ids=[user.id]):
        raise NotFound(JOB_NOT_FOUND)
    if await saved_repo.count_for_user(db, user_id=user.id) >= MAX_SAVED_JOBS:
        raise Conflict(f"You can keep at most {MAX_SAVED_JOBS} saved jobs.")
    made = await saved_repo.save(db, user_id=user.id, job_id=job_id)
    if made is None:  # saved meanwhile (only before the account's lock was taken)
        at = await saved_repo.saved_at(db, user_id=user.id, job_id=job_id)
        assert at is not None
        return Saved(at, created=False)
    return Saved(made, created=True)


async def remove(db: AsyncSession, *, user: Caller, job_id: int) -> None:
    """Take a bookmark away (404 when the job is not saved)."""
    if not await saved_repo.remove(db, user_id=user.id, job_id=job_id):
        raise NotFound(NOT_SAVED)


async def list_mine(db: AsyncSession, *, user: Caller, page: PageRequest) -> Paged[Any]:
    """The user's bookmarked jobs on the board, newest bookmark first."""
    kind = "saved-jobs"
    rows = await saved_repo.list_for_user(
        db, user_id=user.id, limit=page.limit, after=page.after(kind, IdPosition)
    )
    return page.page(rows, kind)


async def markers(db: AsyncSession, *, user: Caller, job_ids: Sequence[int]) -> list[Marker]:
    """Of these jobs, those the user bookmarked or applied to, and what they did."""
    return await saved_repo.markers(db, user_id=user.id, job_ids=sorted(set(job_ids)))
