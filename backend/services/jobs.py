"""Job rules: who posts for which company, and how a job's status may change."""

from datetime import UTC, datetime

from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.exceptions import Conflict, Forbidden
from backend.db.models import Job, JobStatus, User
from backend.db.repository import companies as companies_repo
from backend.db.repository import jobs as jobs_repo
from backend.schemas.job import JobCreate, JobUpdate
from backend.services.rules import manages

# Setting the current status again is a no-op; any change not listed is a 409.
ALLOWED_TRANSITIONS = frozenset(
    {
        (JobStatus.draft, JobStatus.published),
        (JobStatus.published, JobStatus.closed),
        (JobStatus.closed, JobStatus.published),
    }
)


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])


async def create(db: AsyncSession, *, user: User, payload: JobCreate) -> Job:
    """Post a job for a company the caller owns (any company, for an admin)."""
    company = await companies_repo.get(db, company_id=payload.company_id)
    if company is None:
        raise _invalid("company_id", "No company has this id")
    if not manages(user, company.owner_id):
        raise Forbidden("This company belongs to another employer.")
    values = payload.model_dump()
    if payload.status == JobStatus.published:
        values["published_at"] = datetime.now(UTC)
    return await jobs_repo.create(db, **values)


async def update(db: AsyncSession, *, job: Job, payload: JobUpdate) -> Job:
    """Apply a partial update; the salary range is checked on the result."""
    changes = payload.model_dump(exclude_unset=True)
    salary_min = changes.get("salary_min", job.salary_min)
    salary_max = changes.get("salary_max", job.salary_max)
    if salary_min is not None and salary_max is not None and salary_min > salary_max:
        field = "salary_min" if "salary_min" in changes else "salary_max"
        raise _invalid(field, "salary_min must not exceed salary_max")
    new_status = changes.pop("status", None)
    if new_status is not None and new_status != job.status:
        if (job.status, new_status) not in ALLOWED_TRANSITIONS:
            raise Conflict(f"A {job.status.value} job cannot become {new_status.value}.")
        changes["status"] = new_status
        if new_status == JobStatus.published and job.published_at is None:
            changes["published_at"] = datetime.now(UTC)
    if not changes:
        return job
    return await jobs_repo.update(db, job=job, **changes)
