"""Jobs: search and read for everyone; post, edit and delete for their owners."""

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime

from backend.apis.access import EmployerOrAdmin, ManagedJob, ViewableJob
from backend.apis.deps import DbSession
from backend.apis.openapi import problem_responses
from backend.apis.pagination import PageDep
from backend.db.models import EmploymentType, Workplace
from backend.db.repository import jobs as jobs_repo
from backend.schemas.base import Text
from backend.schemas.job import MAX_ID, MAX_SALARY, JobCreate, JobRead, JobUpdate, Tag
from backend.schemas.pagination import Page
from backend.services import jobs as jobs_service

router = APIRouter(tags=["jobs"])

MAX_QUERY_LENGTH = 200
AUTOCOMPLETE_LIMIT = 10
MAX_AUTOCOMPLETE_WORDS = 5
# Autocomplete matches word prefixes; anything but letters and digits only separates words.
WORD = re.compile(r"[^\W_]+")


# Each order: its cursor's name, the types of the position it holds, and its query.
SORTS = {
    "newest": ("jobs:newest", (datetime, int), jobs_repo.search_newest),
    "salary": ("jobs:salary", (int, datetime, int), jobs_repo.search_by_salary),
    "relevance": (
        "jobs:relevance",
        (datetime, int, int, float, datetime, int),
        jobs_repo.search_by_relevance,
    ),
}


@router.post(
    "/jobs",
    name="create",
    status_code=status.HTTP_201_CREATED,
    response_model=JobRead,
    responses=problem_responses(401, 403),
)
async def create_job(payload: JobCreate, user: EmployerOrAdmin, db: DbSession) -> JobRead:
    """Post a job for one of the caller's companies (admins: for any company)."""
    job = await jobs_service.create(db, user=user, payload=payload)
    return JobRead.model_validate(job)


@router.get("/jobs", name="list", response_model=Page[JobRead])
async def list_jobs(
    page: PageDep,
    db: DbSession,
    q: Annotated[
        Text | None,
        Query(
            max_length=MAX_QUERY_LENGTH,
            description='Full-text search in web-search syntax: `"exact phrase"`, `-word`, `or`.',
        ),
    ] = None,
    location: Annotated[
        Text | None, Query(max_length=200, description="Case-insensitive substring")
    ] = None,
    workplace: Workplace | None = None,
    employment_type: EmploymentType | None = None,
    company_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    tag: Annotated[
        list[Tag] | None, Query(max_length=20, description="Repeatable; every tag must match")
    ] = None,
    salary_min: Annotated[
        int | None,
        Query(ge=0, le=MAX_SALARY, description="Jobs paying at least this (max, else min)"),
    ] = None,
    posted_after: Annotated[
        AwareDatetime | None, Query(description="Published at or after this time")
    ] = None,
    sort: Annotated[
        Literal["relevance", "newest", "salary"] | None,
        Query(description="Default: `relevance` with `q`, else `newest`"),
    ] = None,
) -> Page[JobRead]:
    """Published, unexpired jobs, filtered, searched and sorted."""
    filters = jobs_repo.JobFilters(
        q=q.strip() if q and q.strip() else None,
        location=location or None,
        workplace=workplace,
        employment_type=employment_type,
        company_id=company_id,
        tags=tuple(tag or ()),
        salary_min=salary_min,
        posted_after=posted_after,
    )
    order = sort or "relevance"
    if order == "relevance" and not filters.q:
        order = "newest"
    kind, cursor_types, fetch = SORTS[order]
    rows = await fetch(
        db, filters=filters, limit=page.limit, after=page.position(kind, *cursor_types)
    )
    items, next_cursor = page.page(rows, kind, lambda row: row[1])
    return Page(items=[JobRead.model_validate(job) for job, _ in items], next_cursor=next_cursor)


@router.get("/jobs/autocomplete", name="autocomplete", response_model=list[str])
async def autocomplete(
    db: DbSession,
    q: Annotated[str, Query(min_length=1, max_length=100, description="What the user typed")],
) -> list[str]:
    """Up to 10 distinct titles of visible jobs with a word starting with what was typed."""
    words = [word.lower() for word in WORD.findall(q)][:MAX_AUTOCOMPLETE_WORDS]
    if not words:
        return []
    return await jobs_repo.autocomplete(db, words=words, limit=AUTOCOMPLETE_LIMIT)


@router.get(
    "/jobs/{job_id}", name="read", response_model=JobRead, responses=problem_responses(401, 404)
)
async def read_job(job: ViewableJob) -> JobRead:
    """One job: published ones for everyone, any status for its owner and admins."""
    return JobRead.model_validate(job)


@router.patch(
    "/jobs/{job_id}",
    name="update",
    response_model=JobRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def update_job(payload: JobUpdate, job: ManagedJob, db: DbSession) -> JobRead:
    """Change a job: its owner or an admin. An impossible status change is a 409."""
    job = await jobs_service.update(db, job=job, payload=payload)
    return JobRead.model_validate(job)


@router.delete(
    "/jobs/{job_id}",
    name="delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def delete_job(job: ManagedJob, db: DbSession) -> Response:
    """Delete a job and its applications: its owner or an admin."""
    await jobs_repo.delete_job(db, job_id=job.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/users/me/jobs",
    name="list-mine",
    response_model=Page[JobRead],
    responses=problem_responses(401, 403),
)
async def list_my_jobs(user: EmployerOrAdmin, page: PageDep, db: DbSession) -> Page[JobRead]:
    """The caller's own jobs in every status, newest first."""
    rows = await jobs_repo.list_owned(
        db, owner_id=user.id, limit=page.limit, after_id=page.after_id("jobs:mine")
    )
    items, next_cursor = page.page(rows, "jobs:mine", lambda job: [job.id])
    return Page(items=[JobRead.model_validate(job) for job in items], next_cursor=next_cursor)
