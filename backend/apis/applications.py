"""Applications: candidates apply and track; job owners review."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from backend.apis.access import Candidate, EmployerOrAdmin, IdPath, candidate_only
from backend.apis.deps import (
    API_KEY_SECURITY,
    Caller,
    CurrentUser,
    DbSession,
    IfMatch,
    SettingsDep,
    TransactionsDep,
    hot_reads,
    key_or_user,
    reads_bearer_token,
)
from backend.apis.idempotent import IdempotencyKey, Once
from backend.apis.openapi import problem_responses, with_etag
from backend.apis.pagination import PageDep, to_page
from backend.apis.responses import json_response
from backend.db.models import EventKind
from backend.schemas.api_key import Scope
from backend.schemas.application import (
    ApplicantCounts,
    ApplicantRead,
    ApplicationCreate,
    ApplicationRead,
    ApplicationUpdate,
    BulkStatusChange,
    CompanyApplicantRead,
    MyApplicationRead,
    NoteCreate,
    ReviewSettings,
    TimelineEvent,
)
from backend.schemas.base import Text
from backend.schemas.pagination import Page
from backend.schemas.pipeline import RejectionMail
from backend.services import applications as applications_service
from backend.services import rejections
from backend.services.rules import etag

router = APIRouter(tags=["applications"])

# The job's owner (or an admin), or its company's API key with the scope.
ApplicationsReader = Annotated[Caller, Depends(key_or_user(Scope.applications_read))]
ApplicationsWriter = Annotated[Caller, Depends(key_or_user(Scope.applications_write))]


@router.post(
    "/jobs/{job_id}/applications",
    name="create",
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def apply(
    job_id: IdPath,
    payload: ApplicationCreate,
    candidate: Candidate,
    db: DbSession,
    settings: SettingsDep,
    response: Response,
) -> ApplicationRead:
    """Apply to a published job, once (candidates with a confirmed email address only),
    with one of the caller's résumés if they choose."""
    application = await applications_service.apply(
        db,
        settings,
        candidate=candidate,
        job_id=job_id,
        cover_letter=payload.cover_letter,
        resume_id=payload.resume_id,
        answers=payload.answers,
    )
    response.headers["ETag"] = etag(application.updated_at)
    return ApplicationRead.model_validate(application)


ResumeQuery = Annotated[
    Text | None,
    Query(
        max_length=200,
        description="Only applications whose résumé text matches (web search syntax: "
        'words, "a phrase", -not, or)',
    ),
]


@router.get(
    "/jobs/{job_id}/applications",
    name="list-for-job",
    openapi_extra=API_KEY_SECURITY,
    response_model=Page[ApplicantRead],
    responses=problem_responses(401, 403, 404, 429),
)
async def list_for_job(
    job_id: IdPath,
    user: ApplicationsReader,
    page: PageDep,
    db: DbSession,
    q: ResumeQuery = None,
) -> Page[ApplicantRead]:
    """The applications to a job, newest first, with each candidate's name and address:
    its owner and admins."""
    paged = await applications_service.list_for_job(
        db, user=user, job_id=job_id, page=page, q=_words(q)
    )
    stage = applications_service.listed_stage
    return to_page(paged, lambda row: ApplicantRead.of(row, stage(row)))


@router.get(
    "/users/me/applicants",
    name="list-applicants",
    response_model=Page[CompanyApplicantRead],
    responses=problem_responses(401, 403),
)
async def list_applicants(
    user: EmployerOrAdmin, page: PageDep, db: DbSession, q: ResumeQuery = None
) -> Page[CompanyApplicantRead]:
    """The applications to the jobs of the caller's companies, newest first, each with its
    job's title; with `q`, the applicants whose résumé matches."""
    paged = await applications_service.list_for_owner(db, user=user, page=page, q=_words(q))
    stage = applications_service.listed_stage
    return to_page(paged, lambda row: CompanyApplicantRead.of(row, stage(row)))


def _words(q: str | None) -> str | None:
    return q.strip() or None if q is not None else None


@router.get(
    "/users/me/applications",
    name="list-mine",
    response_model=Page[MyApplicationRead],
    responses=problem_responses(401, 403),
)
@reads_bearer_token
async def list_mine(request: Request, page: PageDep) -> Response:
    """The caller's applications, newest first, each with its job's title and company
    (candidates)."""
    async with hot_reads(request) as db:
        candidate = await candidate_only(request, db)
        paged = await applications_service.list_mine(db, candidate=candidate, page=page)
    return json_response(to_page(paged, MyApplicationRead.model_validate))


@router.get(
    "/applications/{application_id}",
    name="read",
    response_model=ApplicationRead,
    responses={**problem_responses(401, 404), **with_etag()},
)
async def read_application(
    application_id: IdPath, user: CurrentUser, db: DbSession, response: Response
) -> ApplicationRead:
    """One application: its candidate, the job's owner, or an admin."""
    application = await applications_service.get(db, user=user, application_id=application_id)
    response.headers["ETag"] = etag(application.updated_at)
    stage = await applications_service.stage_shown(db, user=user, application=application)
    return ApplicationRead.at(application, stage)


@router.patch(
    "/applications/{application_id}",
    name="update",
    response_model=ApplicationRead,
    responses={**problem_responses(401, 403, 404, 409, 412, 429), **with_etag()},
)
async def update_application(
    application_id: IdPath,
    payload: ApplicationUpdate,
    user: CurrentUser,
    db: DbSession,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> ApplicationRead:
    """Move an application along, to a status (into its first stage) or into a stage of
    the job's pipeline: reviewers among the stages of reviewing, interviewing, offered,
    hired and rejected; its candidate to withdrawn. A final status (hired, rejected,
    withdrawn) cannot change (409). The candidate hears of a new status within
    NOTIFY_BATCH_MINUTES, in one mail with their other applications' changes, or, for a
    rejection with `mail`, in that mail."""
    application = await applications_service.change_status(
        db,
        settings,
        user=user,
        application_id=application_id,
        status=payload.status,
        stage=payload.stage,
        if_match=if_match,
        reason=payload.reason,
        mail=_choice(payload.mail),
    )
    response.headers["ETag"] = etag(application.updated_at)
    stage = await applications_service.stage_shown(db, user=user, application=application)
    return ApplicationRead.at(application, stage)


def _choice(mail: RejectionMail | None) -> rejections.Choice | None:
    return None if mail is None else rejections.Choice(mail.template.value, mail.message)


@router.get(
    "/applications/{application_id}/timeline",
    name="timeline",
    response_model=Page[TimelineEvent],
    responses=problem_responses(401, 404),
)
async def read_timeline(
    application_id: IdPath, user: CurrentUser, page: PageDep, db: DbSession
) -> Page[TimelineEvent]:
    """What happened to an application, oldest first: its candidate (without the employer's
    notes, reasons and names), the job's owner and admins (everything)."""
    paged, private, unnamed = await applications_service.timeline(
        db, user=user, application_id=application_id, page=page
    )
    if private and unnamed is not None:  # the job's blind first pass: the candidate unnamed
        return to_page(
            paged,
            lambda row: TimelineEvent.model_validate(row).model_copy(
                update={"actor_name": None} if row.actor_id == unnamed else {}
            ),
        )
    if private:
        return to_page(paged, TimelineEvent.model_validate)
    return to_page(
        paged,
        lambda row: TimelineEvent(
            id=row.id,
            kind=row.kind,
            status=row.status,
            reason=None,
            note=None,
            detail=row.detail if row.kind == EventKind.interview else None,
            stage=None,
            actor_name=None,
            created_at=row.created_at,
        ),
    )


@router.post(
    "/applications/{application_id}/notes",
    name="add-note",
    status_code=status.HTTP_201_CREATED,
    response_model=TimelineEvent,
    responses=problem_responses(401, 403, 404),
)
async def add_note(
    application_id: IdPath, payload: NoteCreate, user: CurrentUser, db: DbSession
) -> TimelineEvent:
    """A private note on an application, on its timeline for the employer's side only: the
    job's owner and admins (its candidate 403)."""
    row = await applications_service.add_note(
        db, user=user, application_id=application_id, note=payload.note
    )
    return TimelineEvent.model_validate(row)


@router.get(
    "/jobs/{job_id}/applications.csv",
    name="export",
    openapi_extra=API_KEY_SECURITY,
    response_class=StreamingResponse,
    responses={
        200: {"description": "Every application to the job, as CSV", "content": {"text/csv": {}}},
        **problem_responses(401, 403, 404, 429),
    },
)
async def export_applications(
    job_id: IdPath, user: ApplicationsReader, db: DbSession, transactions: TransactionsDep
) -> StreamingResponse:
    """Every application to a job as a CSV file (UTF-8, a header row, oldest first), its
    fields escaped so that no spreadsheet runs one as a formula: its owner and admins."""
    await applications_service.check_export(db, user=user, job_id=job_id)
    return StreamingResponse(
        applications_service.export_csv(transactions, job_id=job_id),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="applications-job-{job_id}.csv"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post(
    "/jobs/{job_id}/applications/status",
    name="move-many",
    openapi_extra=API_KEY_SECURITY,
    response_model=Page[ApplicationRead],
    responses=problem_responses(401, 403, 404, 409, 429),
)
async def move_many(
    job_id: IdPath,
    payload: BulkStatusChange,
    user: ApplicationsWriter,
    db: DbSession,
    settings: SettingsDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Move several applications to a job to one status or stage at once, all or nothing:
    its owner and admins. 409, and nothing moved, when one of them is final; 429, and
    nothing moved, when a rejection's mail would reach a candidate mailed too often. With
    `Idempotency-Key`, a retry gets the first answer and moves nothing."""
    once = Once(db, request, user_id=user.id, key=idempotency_key, payload=payload)
    if (kept := await once.kept()) is not None:
        return kept
    moved = await applications_service.change_many(
        db,
        settings,
        user=user,
        job_id=job_id,
        application_ids=payload.application_ids,
        status=payload.status,
        stage=payload.stage,
        reason=payload.reason,
        mail=_choice(payload.mail),
    )
    stage = await applications_service.stage_lookup(db, moved)
    page: Page[ApplicationRead] = Page(
        items=[ApplicationRead.at(a, stage(a)) for a in moved], next_cursor=None
    )
    return await once.answer(json_response(page))


@router.get(
    "/users/me/applicant-counts",
    name="applicant-counts",
    response_model=Page[ApplicantCounts],
    responses=problem_responses(401, 403),
)
async def applicant_counts(
    user: EmployerOrAdmin, page: PageDep, db: DbSession
) -> Page[ApplicantCounts]:
    """How many applications each of the caller's jobs has, in all and by status: the jobs
    that have any, newest first (the dashboard's figures)."""
    paged = await applications_service.counts_for_owner(db, user=user, page=page)
    return to_page(paged, ApplicantCounts.model_validate)


@router.get(
    "/jobs/{job_id}/review-settings",
    name="review-settings",
    response_model=ReviewSettings,
    responses=problem_responses(401, 404),
)
async def read_review_settings(job_id: IdPath, user: CurrentUser, db: DbSession) -> ReviewSettings:
    """How the job's applications are reviewed: its owner and admins."""
    blind = await applications_service.review_settings(db, user=user, job_id=job_id)
    return ReviewSettings(blind=blind)


@router.put(
    "/jobs/{job_id}/review-settings",
    name="set-review-settings",
    response_model=ReviewSettings,
    responses=problem_responses(401, 404),
)
async def set_review_settings(
    job_id: IdPath, payload: ReviewSettings, user: CurrentUser, db: DbSession
) -> ReviewSettings:
    """Make the job's first pass blind, or not: its owner and admins."""
    blind = await applications_service.set_review_settings(
        db, user=user, job_id=job_id, blind=payload.blind
    )
    return ReviewSettings(blind=blind)


@router.post(
    "/applications/{application_id}/reveal",
    name="reveal",
    response_model=ApplicationRead,
    responses=problem_responses(401, 403, 404),
)
async def reveal(application_id: IdPath, user: CurrentUser, db: DbSession) -> ApplicationRead:
    """Show who made an application that the job's blind first pass hides: the job's owner
    and admins; recorded on its timeline."""
    application = await applications_service.reveal(db, user=user, application_id=application_id)
    return ApplicationRead.model_validate(application)
