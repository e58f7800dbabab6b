"""Jobs published from an applicant-tracking system (ATS), known by the system's own id.

An upsert creates the company's job with that external id, or replaces what it says: the
same body twice changes nothing the second time (the job's `updated_at`, and so its ETag,
stay). Moderation applies as to a job posted by hand: asked to be published, a new job may
be held for review, and an edit of what a published job says may wait for a moderator
while the job stays as it was.

One job an external id, however many upserts of it arrive at once: a partial unique index
holds the pair (company, external id). An upsert finds the job locked, or creates it in a
savepoint; of two creations at once, the second waits on the index for the first to
commit, fails its unique check, rolls its savepoint back and replaces the job the first
made.
"""

from dataclasses import dataclass
from typing import Any

from psycopg import errors
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.exceptions import InvalidField, NotFound
from backend.db.models import Company, Job, JobRevision, JobStatus
from backend.db.repository import companies as companies_repo
from backend.db.repository import jobs as jobs_repo
from backend.db.repository.sessions import Caller
from backend.schemas.job import (
    ExternalJob,
    JobCreate,
    JobUpdate,
    JobUpsert,
    UpsertOutcome,
    UpsertStatus,
)
from backend.services import jobs as jobs_service
from backend.services import members, moderation, revisions, signals, verification, webhooks
from backend.services.members import Need

COMPANY_NOT_FOUND = "Company not found."
EXTERNAL_JOB_NOT_FOUND = "No job of this company has this external id."
EXTERNAL_ID_INDEX = "uq_jobs_company_id_external_id"


@dataclass(frozen=True, slots=True)
class Upserted:
    job: Job
    outcome: UpsertOutcome
    revision: JobRevision | None = None  # the edit held for review, when `held`


async def _company(
    db: AsyncSession, *, user: Caller, company_id: int, need: Need = Need.work
) -> Company:
    """A company the caller manages (404 for any other: never a hint that it exists)."""
    company = await companies_repo.get(db, company_id=company_id, lock="share")
    if company is None:
        raise NotFound(COMPANY_NOT_FOUND)
    await members.require(db, user, company_id, need, not_found=COMPANY_NOT_FOUND)
    return company


def _taken(error: IntegrityError) -> bool:
    """Whether the insert failed on the (company, external id) index: created meanwhile."""
    cause = error.orig
    return isinstance(cause, errors.UniqueViolation) and (
        cause.diag.constraint_name == EXTERNAL_ID_INDEX
    )


async def upsert(
    db: AsyncSession,
    settings: Settings,
    *,
    user: Caller,
    company_id: int,
    external_id: str,
    payload: JobUpsert,
) -> Upserted:
    """Create or replace the company's job with `external_id` (its owner, admins)."""
    await _company(db, user=user, company_id=company_id)
    return await _upsert(
        db, settings, user=user, company_id=company_id, external_id=external_id, payload=payload
    )


async def _upsert(
    db: AsyncSession,
    settings: Settings,
    *,
    user: Caller,
    company_id: int,
    external_id: str,
    payload: JobUpsert,
) -> Upserted:
    wanted = payload.model_dump(exclude={"external_id"})
    wanted["status"] = JobStatus(payload.status.value)
    job = await jobs_repo.by_external_id(
        db, company_id=company_id, external_id=external_id, lock="update"
    )
    if job is None:
        create = JobCreate(company_id=company_id, **wanted)
        try:
            async with db.begin_nested():
                made = await jobs_service.create(
                    db,
                    settings,
                    user=user,
                    payload=create,
                    external_id=external_id,
                )
            return Upserted(made, UpsertOutcome.created)
        except IntegrityError as error:
            if not _taken(error):
                raise
        job = await jobs_repo.by_external_id(
            db, company_id=company_id, external_id=external_id, lock="update"
        )
        assert job is not None  # the other upsert committed it
    changes = {name: value for name, value in wanted.items() if getattr(job, name) != value}
    if job.status == JobStatus.pending and wanted["status"] == JobStatus.published:
        changes.pop("status")  # asked to be published already: a moderator decides
    if not changes:
        return Upserted(job, UpsertOutcome.unchanged)
    changed = await jobs_service.update(
        db, settings, user=user, job_id=job.id, payload=JobUpdate(**changes), if_match=None
    )
    if isinstance(changed, JobRevision):
        return Upserted(job, UpsertOutcome.held, changed)
    return Upserted(changed, UpsertOutcome.replaced)


async def upsert_many(
    db: AsyncSession, settings: Settings, *, user: Caller, company_id: int, jobs: list[ExternalJob]
) -> list[Upserted]:
    """Upsert each job in order, all or nothing (one transaction): 422 for an external id
    given twice; any refusal of one (a 409, a 403) refuses the batch. The batch's new jobs
    are created together (`_create_new`); those it replaces, one by one after them."""
    seen: dict[str, int] = {}
    for index, item in enumerate(jobs):
        if item.external_id in seen:
            raise InvalidField(("body", "jobs", index, "external_id"), "given twice in the batch")
        seen[item.external_id] = index
    company = await _company(db, user=user, company_id=company_id)
    taken = await jobs_repo.external_ids_taken(db, company_id=company_id, external_ids=list(seen))
    made = await _create_new(
        db,
        settings,
        user=user,
        company=company,
        items=[item for item in jobs if item.external_id not in taken],
    )
    results = []
    for item in jobs:
        job = made.get(item.external_id)
        if job is not None:
            results.append(Upserted(job, UpsertOutcome.created))
            continue
        results.append(
            await _upsert(
                db,
                settings,
                user=user,
                company_id=company_id,
                external_id=item.external_id,
                payload=item,
            )
        )
    return results


# The columns a new job of a batch may leave unset, set alike on each (one statement).
_UNSET: dict[str, Any] = {
    "published_at": None,
    "submitted_at": None,
    "confirmed_open_at": None,
    "open_check_sent_at": None,
    "signals": [],
}


async def _create_new(
    db: AsyncSession,
    settings: Settings,
    *,
    user: Caller,
    company: Company,
    items: list[ExternalJob],
) -> dict[str, Job]:
    """Create a batch's new jobs in one statement. Those asked to be published are let
    through together (ban check and the day's places for all of them: a 403 or 429 refuses
    the batch, nothing written) and meet moderation together, each compared with the
    board and with those before it in the batch (`moderation.publications`). One made
    meanwhile by another request is left to the one-by-one path."""
    publishing = [item for item in items if item.status == UpsertStatus.published]
    columns: list[dict[str, Any]] = []
    if publishing:
        verification.require_confirmed(user, "publish jobs")
        await moderation.clear(db, settings, user=user, company=company, count=len(publishing))
        asked = [
            signals.Asked(
                job_id=None,
                title=item.title,
                description=item.description,
                salary_min=item.salary_min,
                salary_max=item.salary_max,
            )
            for item in publishing
        ]
        columns = await moderation.publications(
            db, settings, user=user, company=company, asked=asked
        )
    decided = iter(columns)
    rendered: dict[str, dict[str, Any]] = {}
    rows = []
    for item in items:
        wanted = item.model_dump(exclude={"external_id"})
        wanted["status"] = JobStatus(item.status.value)
        create = JobCreate(company_id=company.id, **wanted)
        if create.description not in rendered:
            rendered[create.description] = await revisions.renderings(create.description)
        row = _UNSET | create.model_dump() | rendered[create.description]
        if item.status == UpsertStatus.published:
            row |= next(decided)
        rows.append(row | {"external_id": item.external_id})
    if not rows:
        return {}
    made = await jobs_repo.create_many(db, rows=rows)
    await members.record_each(
        db,
        user=user,
        company_id=company.id,
        action="job_created",
        details=[{"job_id": job.id, "status": job.status.value} for job in made],
    )
    await webhooks.jobs_created(db, jobs=made)
    return {job.external_id: job for job in made if job.external_id is not None}


async def read(db: AsyncSession, *, user: Caller, company_id: int, external_id: str) -> Job:
    """The company's job with `external_id`: its members, admins (404 otherwise)."""
    await _company(db, user=user, company_id=company_id, need=Need.read)
    job = await jobs_repo.by_external_id(db, company_id=company_id, external_id=external_id)
    if job is None:
        raise NotFound(EXTERNAL_JOB_NOT_FOUND)
    return job


async def close(
    db: AsyncSession, settings: Settings, *, user: Caller, company_id: int, external_id: str
) -> Job:
    """Close the company's job with `external_id` (closed already: no change); 409 for a
    job that cannot close from its status."""
    job = await read(db, user=user, company_id=company_id, external_id=external_id)
    if job.status == JobStatus.closed:
        return job
    closed = await jobs_service.update(
        db,
        settings,
        user=user,
        job_id=job.id,
        payload=JobUpdate(status=JobStatus.closed),
        if_match=None,
    )
    assert isinstance(closed, Job)  # a status change is never held for review
    return closed
