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
from backend.services import members, moderation, revisions, verification, webhooks
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
    cleared: bool = False,
) -> Upserted:
    """`cleared`: a new job's ban check and day's place were taken for its batch (see
    `moderation.publication`)."""
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
                    cleared=cleared,
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
    given twice; any refusal of one (a 409, a 403) refuses the batch."""
    seen: dict[str, int] = {}
    for index, item in enumerate(jobs):
        if item.external_id in seen:
            raise InvalidField(("body", "jobs", index, "external_id"), "given twice in the batch")
        seen[item.external_id] = index
    company = await _company(db, user=user, company_id=company_id)
    taken = await jobs_repo.external_ids_taken(db, company_id=company_id, external_ids=list(seen))
    quiet = [
        item
        for item in jobs
        if item.external_id not in taken and item.status != UpsertStatus.published
    ]
    made = await _create_unpublished(db, user=user, company=company, items=quiet)
    # The new jobs asked to be published take their ban check and their day's places at
    # once, for the whole batch (403 or 429 refuses it all, nothing written).
    publishing = {
        item.external_id
        for item in jobs
        if item.external_id not in taken and item.status == UpsertStatus.published
    }
    if publishing:
        verification.require_confirmed(user, "publish jobs")
        await moderation.clear(db, settings, user=user, company=company, count=len(publishing))
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
                cleared=item.external_id in publishing,
            )
        )
    return results


async def _create_unpublished(
    db: AsyncSession, *, user: Caller, company: Company, items: list[ExternalJob]
) -> dict[str, Job]:
    """Create a batch's new jobs that are not asked to be published (drafts, closed) in
    one statement: none of them meets moderation, so nothing about one depends on another
    (new jobs asked to be published are created one by one, each compared with those
    before it). One made meanwhile by another request is left to the one-by-one path."""
    rows = []
    for item in items:
        wanted = item.model_dump(exclude={"external_id"})
        wanted["status"] = JobStatus(item.status.value)
        create = JobCreate(company_id=company.id, **wanted)
        rows.append(
            create.model_dump()
            | await revisions.renderings(create.description)
            | {"external_id": item.external_id}
        )
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
    for job in made:
        await webhooks.job_changed(db, job=job, before=None)
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
