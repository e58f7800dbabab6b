"""Applications: candidates apply and track; job owners review."""

from fastapi import APIRouter, status

from backend.apis.access import Candidate, OpenJob, ReviewedJob, ViewableApplication
from backend.apis.deps import DbSession
from backend.apis.openapi import problem_responses
from backend.apis.pagination import PageDep
from backend.db.models import Application
from backend.db.repository import applications as applications_repo
from backend.schemas.application import ApplicationCreate, ApplicationRead, ApplicationUpdate
from backend.schemas.pagination import Page
from backend.services import applications as applications_service

router = APIRouter(tags=["applications"])


def _page(rows: list[Application], page: PageDep, kind: str) -> Page[ApplicationRead]:
    items, next_cursor = page.page(rows, kind, lambda application: [application.id])
    return Page(
        items=[ApplicationRead.model_validate(application) for application in items],
        next_cursor=next_cursor,
    )


@router.post(
    "/jobs/{job_id}/applications",
    name="create",
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def apply(
    payload: ApplicationCreate, job: OpenJob, candidate: Candidate, db: DbSession
) -> ApplicationRead:
    """Apply to a published job, once (candidates only)."""
    application = await applications_repo.create(
        db, job_id=job.id, candidate_id=candidate.id, cover_letter=payload.cover_letter
    )
    return ApplicationRead.model_validate(application)


@router.get(
    "/jobs/{job_id}/applications",
    name="list-for-job",
    response_model=Page[ApplicationRead],
    responses=problem_responses(401, 404),
)
async def list_for_job(job: ReviewedJob, page: PageDep, db: DbSession) -> Page[ApplicationRead]:
    """The applications to a job, newest first: its owner and admins."""
    kind = f"applications:job:{job.id}"
    rows = await applications_repo.list_for_job(
        db, job_id=job.id, limit=page.limit, after_id=page.after_id(kind)
    )
    return _page(rows, page, kind)


@router.get(
    "/users/me/applications",
    name="list-mine",
    response_model=Page[ApplicationRead],
    responses=problem_responses(401, 403),
)
async def list_mine(candidate: Candidate, page: PageDep, db: DbSession) -> Page[ApplicationRead]:
    """The caller's applications, newest first (candidates)."""
    kind = "applications:mine"
    rows = await applications_repo.list_for_candidate(
        db, candidate_id=candidate.id, limit=page.limit, after_id=page.after_id(kind)
    )
    return _page(rows, page, kind)


@router.get(
    "/applications/{application_id}",
    name="read",
    response_model=ApplicationRead,
    responses=problem_responses(401, 404),
)
async def read_application(access: ViewableApplication) -> ApplicationRead:
    """One application: its candidate, the job's owner, or an admin."""
    return ApplicationRead.model_validate(access.application)


@router.patch(
    "/applications/{application_id}",
    name="update",
    response_model=ApplicationRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def update_application(
    payload: ApplicationUpdate, access: ViewableApplication, db: DbSession
) -> ApplicationRead:
    """Move an application along: reviewers among reviewing, interviewing, offered and
    rejected; its candidate to withdrawn. A final status cannot change (409)."""
    application = await applications_service.change_status(db, access=access, status=payload.status)
    return ApplicationRead.model_validate(application)
