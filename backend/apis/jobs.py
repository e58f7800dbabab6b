"""Jobs: search and read for everyone; post, edit and delete for their owners."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from backend.apis.access import EmployerOrAdmin, IdPath, optional_user
from backend.apis.deps import (
    DbSession,
    IfMatch,
    PublicReadDb,
    SettingsDep,
    TransactionsDep,
    public_hot_reads,
    reads_bearer_token,
)
from backend.apis.idempotent import IdempotencyKey, Once
from backend.apis.openapi import problem_responses, with_etag
from backend.apis.pagination import PageDep, to_page
from backend.apis.params import QueryParameters, same
from backend.apis.responses import Strings, json_response
from backend.db.models import JobRevision
from backend.schemas.auth import EmailVerification
from backend.schemas.feeds import (
    ATOM_CONTENT_TYPE,
    ATOM_MEDIA_TYPE,
    XML_CONTENT_TYPE,
    XML_MEDIA_TYPE,
    atom_feed,
)
from backend.schemas.job import (
    JobCreate,
    JobQuery,
    JobRead,
    JobSearch,
    JobUpdate,
    SimilarJobs,
)
from backend.schemas.moderation import RevisionRead
from backend.schemas.pagination import Page
from backend.services import jobs as jobs_service
from backend.services import open_checks
from backend.services.rules import etag

router = APIRouter(tags=["jobs"])

# Feed readers and search engines may keep what they fetched this long (seconds).
FEED_MAX_AGE = 300


@router.post(
    "/jobs",
    name="create",
    status_code=status.HTTP_201_CREATED,
    response_model=JobRead,
    responses=problem_responses(401, 403),
)
async def create_job(
    payload: JobCreate,
    user: EmployerOrAdmin,
    db: DbSession,
    settings: SettingsDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Post a job for one of the caller's companies (admins: for any company). Asked to be
    published, it may be held for a moderator's review instead (status `pending`). With
    `Idempotency-Key`, a retry gets the first answer and posts nothing."""
    once = Once(db, request, user_id=user.id, key=idempotency_key, payload=payload)
    if (kept := await once.kept()) is not None:
        return kept
    job = await jobs_service.create(db, settings, user=user, payload=payload)
    return await once.answer(
        json_response(
            JobRead.model_validate(job),
            status_code=status.HTTP_201_CREATED,
            headers={"ETag": etag(job.updated_at)},
        )
    )


def _filters(_: Request, query: JobQuery) -> jobs_service.JobFilters:
    return jobs_service.to_filters(query)


# The filters of a job search, as every list of jobs takes them (the list, the feed).
JobFiltersDep = Annotated[jobs_service.JobFilters, Depends(QueryParameters(JobQuery, _filters))]
JobSearchDep = Annotated[JobSearch, Depends(QueryParameters(JobSearch, same))]


@router.get("/jobs", name="list", response_model=Page[JobRead])
async def list_jobs(search: JobSearchDep, page: PageDep, request: Request) -> Response:
    """Published, unexpired jobs, filtered, searched and sorted."""
    async with public_hot_reads(request) as db:
        paged = await jobs_service.search(
            db, search=search, page=page, index=request.app.state.search_index
        )
    return json_response(to_page(paged, JobRead.model_validate))


def _public_url(api_url: str, request: Request) -> str:
    """The request's address at the API's public address: its path and query only."""
    query = request.url.query
    return f"{api_url.rstrip('/')}{request.url.path}" + (f"?{query}" if query else "")


AGGREGATOR_MAX_AGE = 3600
_AGGREGATOR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {XML_MEDIA_TYPE: {}},
        "description": "Every open job, in Indeed's XML feed format",
    }
}


def _aggregator_response(body: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type=XML_CONTENT_TYPE,
        headers={"Cache-Control": f"public, max-age={AGGREGATOR_MAX_AGE}"},
    )


@router.get(
    "/jobs/indeed.xml",
    name="aggregator-feed",
    response_class=StreamingResponse,
    responses=_AGGREGATOR_RESPONSES,
)
async def aggregator_feed(settings: SettingsDep, transactions: TransactionsDep) -> Response:
    """Every open job on the board, by id, in Indeed's XML feed format (which job
    aggregators read), streamed: the board's whole list in one document."""
    return _aggregator_response(jobs_service.aggregator_feed(transactions, settings))


@router.get(
    "/companies/{company_id}/jobs/indeed.xml",
    name="company-aggregator-feed",
    response_class=StreamingResponse,
    responses={**_AGGREGATOR_RESPONSES, **problem_responses(404)},
)
async def company_aggregator_feed(
    company_id: IdPath, settings: SettingsDep, transactions: TransactionsDep
) -> Response:
    """A company's open jobs, as the board's feed for aggregators; 404 for no company."""
    await jobs_service.check_company(transactions, company_id=company_id)
    return _aggregator_response(
        jobs_service.aggregator_feed(transactions, settings, company_id=company_id)
    )


@router.get(
    "/jobs/feed",
    name="feed",
    response_class=Response,
    responses={
        200: {
            "content": {ATOM_MEDIA_TYPE: {}},
            "description": "An Atom feed (RFC 4287) of the newest matching jobs",
        }
    },
)
async def job_feed(request: Request, settings: SettingsDep, filters: JobFiltersDep) -> Response:
    """The 50 most recently published visible jobs matching the same filters as the list,
    newest first, as an Atom feed whose entries link to the web app's job pages."""
    async with public_hot_reads(request) as db:
        jobs = await jobs_service.feed(db, filters=filters)
    body = atom_feed(
        title="New jobs" + (f": {filters.q}" if filters.q else ""),
        # The API's public address, never the request's Host (caches keep this for all).
        self_url=_public_url(settings.api_url, request),
        frontend_url=settings.frontend_url,
        jobs=jobs,
    )
    return Response(
        body,
        media_type=ATOM_CONTENT_TYPE,
        headers={"Cache-Control": f"public, max-age={FEED_MAX_AGE}"},
    )


@router.get("/jobs/autocomplete", name="autocomplete", response_model=list[str])
async def autocomplete(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=100, description="What the user typed")],
) -> Response:
    """Up to 10 distinct titles of visible jobs with a word starting with what was typed."""
    async with public_hot_reads(request) as db:
        titles = await jobs_service.autocomplete(db, typed=q)
    return json_response(Strings(titles))


@router.get(
    "/jobs/{job_id:int}",
    name="read",
    response_model=JobRead,
    responses={**problem_responses(401, 404), **with_etag()},
)
@reads_bearer_token
async def read_job(job_id: IdPath, request: Request) -> Response:
    """One job: published ones for everyone, any status for its owner and admins."""
    async with public_hot_reads(request) as db:
        user = await optional_user(request, db)
        job = await jobs_service.get(db, user=user, job_id=job_id)
    return json_response(JobRead.model_validate(job), headers={"ETag": etag(job.updated_at)})


# How many similar jobs a job's page asks for, by default and at most.
SIMILAR_DEFAULT = 6
SIMILAR_MAX = 20


@router.get(
    "/jobs/{job_id:int}/similar",
    name="similar",
    response_model=SimilarJobs,
    responses=problem_responses(404),
)
async def similar_jobs(
    job_id: IdPath,
    db: PublicReadDb,
    limit: Annotated[int, Query(ge=1, le=SIMILAR_MAX)] = SIMILAR_DEFAULT,
) -> SimilarJobs:
    """Open jobs like a job on the board, the most alike first: titles alike to its own
    (the newest jobs of each), then the tags they share and the same place; 404 for a job
    not on the board."""
    found = await jobs_service.similar(db, job_id=job_id, limit=limit)
    return SimilarJobs(items=[JobRead.model_validate(row) for row in found])


@router.patch(
    "/jobs/{job_id:int}",
    name="update",
    response_model=JobRead,
    responses={
        **problem_responses(401, 403, 404, 409, 412),
        **with_etag(),
        202: {
            "model": RevisionRead,
            "description": "The edit is held for review; the job stays as it was",
        },
    },
)
async def update_job(
    job_id: IdPath,
    payload: JobUpdate,
    user: EmployerOrAdmin,
    db: DbSession,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> JobRead | Response:
    """Change a job: its owner or an admin. An impossible status change is a 409; asked to
    be published, the job may be held for review (`pending`). An edit of what a published
    job says may be held for review while the job stays as it was: 202 with the edit
    (see `GET /jobs/{id}/revisions`)."""
    changed = await jobs_service.update(
        db, settings, user=user, job_id=job_id, payload=payload, if_match=if_match
    )
    if isinstance(changed, JobRevision):
        return json_response(RevisionRead.model_validate(changed), status_code=202)
    response.headers["ETag"] = etag(changed.updated_at)
    return JobRead.model_validate(changed)


@router.post(
    "/jobs/{job_id:int}/open-confirmations",
    name="confirm-open",
    response_model=JobRead,
    responses={**problem_responses(401, 403, 404, 409, 412), **with_etag()},
)
async def confirm_open(
    job_id: IdPath,
    user: EmployerOrAdmin,
    db: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> JobRead:
    """Confirm a published job is still open (its owner or an admin): `confirmed_open_at`
    becomes now, and a question mailed about it is answered. 409 for a job not published."""
    job = await open_checks.confirm(db, user=user, job_id=job_id, if_match=if_match)
    response.headers["ETag"] = etag(job.updated_at)
    return JobRead.model_validate(job)


@router.post(
    "/jobs/open-check",
    name="answer-open-check",
    response_model=JobRead,
    responses={**problem_responses(400), **with_etag()},
)
async def answer_open_check(
    payload: EmailVerification, db: DbSession, settings: SettingsDep, response: Response
) -> JobRead:
    """Answer whether a job is still open with the token of a link mailed to its owner (no
    sign-in needed): the "still open" link confirms it, the "filled" link closes it (its
    candidates are told). A tampered, expired or already answered link, or one whose job
    left the board or changed hands or whose owner had a security event since, is a 400."""
    job = await open_checks.answer(db, settings, token=payload.token)
    response.headers["ETag"] = etag(job.updated_at)
    return JobRead.model_validate(job)


@router.delete(
    "/jobs/{job_id:int}",
    name="delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 412),
)
async def delete_job(
    job_id: IdPath, user: EmployerOrAdmin, db: DbSession, if_match: IfMatch = None
) -> Response:
    """Delete a job and its applications: its owner or an admin."""
    await jobs_service.delete(db, user=user, job_id=job_id, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/users/me/jobs",
    name="list-mine",
    response_model=Page[JobRead],
    responses=problem_responses(401, 403),
)
async def list_my_jobs(user: EmployerOrAdmin, page: PageDep, db: DbSession) -> Page[JobRead]:
    """The caller's own jobs in every status, newest first."""
    paged = await jobs_service.list_mine(db, user=user, page=page)
    return to_page(paged, JobRead.model_validate)
