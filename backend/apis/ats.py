"""Jobs published from an applicant-tracking system, by the system's own id."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from backend.apis.access import IdPath
from backend.apis.deps import API_KEY_SECURITY, Caller, DbSession, SettingsDep, key_or_user
from backend.apis.idempotent import IdempotencyKey, Once
from backend.apis.openapi import problem_responses, with_etag
from backend.apis.responses import json_response
from backend.schemas.api_key import Scope
from backend.schemas.job import (
    EXTERNAL_ID_PATTERN,
    BatchResult,
    JobBatch,
    JobRead,
    JobUpsert,
    UpsertResult,
)
from backend.schemas.moderation import RevisionRead
from backend.services import ats
from backend.services.rules import etag

router = APIRouter(tags=["jobs"])

# The signed-in owner (or an admin), or the company's API key with the scope.
JobsWriter = Annotated[Caller, Depends(key_or_user(Scope.jobs_write))]
JobsReader = Annotated[Caller, Depends(key_or_user(Scope.jobs_read))]

ExternalIdPath = Annotated[str, Path(min_length=1, max_length=100, pattern=EXTERNAL_ID_PATTERN)]


@router.put(
    "/companies/{company_id}/jobs/external/{external_id}",
    name="upsert-external",
    openapi_extra=API_KEY_SECURITY,
    response_model=JobRead,
    responses={
        **problem_responses(401, 403, 404, 409, 429),
        **with_etag(),
        201: {"model": JobRead, "description": "The job is created"},
        202: {
            "model": RevisionRead,
            "description": "The edit is held for review; the job stays as it was",
        },
    },
)
async def upsert(
    company_id: IdPath,
    external_id: ExternalIdPath,
    payload: JobUpsert,
    user: JobsWriter,
    db: DbSession,
    settings: SettingsDep,
) -> Response:
    """Create the company's job with this external id (201), or replace what it says
    (200; the same body again changes nothing and keeps its ETag): its owner and admins
    (404 for any other company). Moderation applies as to a job posted by hand (202 when
    an edit of a published job waits for review)."""
    done = await ats.upsert(
        db, settings, user=user, company_id=company_id, external_id=external_id, payload=payload
    )
    if done.revision is not None:
        return json_response(RevisionRead.model_validate(done.revision), status_code=202)
    created = done.outcome == "created"
    return json_response(
        JobRead.model_validate(done.job),
        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        headers={"ETag": etag(done.job.updated_at)},
    )


@router.get(
    "/companies/{company_id}/jobs/external/{external_id}",
    name="read-external",
    openapi_extra=API_KEY_SECURITY,
    response_model=JobRead,
    responses={**problem_responses(401, 403, 404, 429), **with_etag()},
)
async def read(
    company_id: IdPath, external_id: ExternalIdPath, user: JobsReader, db: DbSession
) -> Response:
    """The company's job with this external id: its owner and admins."""
    job = await ats.read(db, user=user, company_id=company_id, external_id=external_id)
    return json_response(JobRead.model_validate(job), headers={"ETag": etag(job.updated_at)})


@router.post(
    "/companies/{company_id}/jobs/external/{external_id}/close",
    name="close-external",
    openapi_extra=API_KEY_SECURITY,
    response_model=JobRead,
    responses=problem_responses(401, 403, 404, 409, 429),
)
async def close(
    company_id: IdPath,
    external_id: ExternalIdPath,
    user: JobsWriter,
    db: DbSession,
    settings: SettingsDep,
) -> JobRead:
    """Close the company's job with this external id (closed already: no change, so a
    retry is safe without a key)."""
    job = await ats.close(db, settings, user=user, company_id=company_id, external_id=external_id)
    return JobRead.model_validate(job)


@router.post(
    "/companies/{company_id}/jobs/external",
    name="upsert-external-batch",
    openapi_extra=API_KEY_SECURITY,
    response_model=BatchResult,
    responses=problem_responses(401, 403, 404, 409, 429),
)
async def upsert_batch(
    company_id: IdPath,
    payload: JobBatch,
    user: JobsWriter,
    db: DbSession,
    settings: SettingsDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Upsert up to 500 jobs at once, all or nothing, each as the single upsert does; the
    result of each, in order. With `Idempotency-Key`, a retry gets the first answer (its
    outcomes as they were then) and changes nothing."""
    once = Once(db, request, user_id=user.id, key=idempotency_key, payload=payload)
    if (kept := await once.kept()) is not None:
        return kept
    done = await ats.upsert_many(db, settings, user=user, company_id=company_id, jobs=payload.jobs)
    result = BatchResult(
        results=[
            UpsertResult(external_id=item.external_id, job_id=result.job.id, outcome=result.outcome)
            for item, result in zip(payload.jobs, done, strict=True)
        ]
    )
    return await once.answer(json_response(result))
