"""The signed-in user's bookmarked jobs, and the markers of what they did with a list's jobs."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import Field

from backend.apis.access import IdPath
from backend.apis.deps import CurrentUser, DbSession
from backend.apis.openapi import problem_responses
from backend.apis.pagination import PageDep, to_page
from backend.core.ids import MAX_ID
from backend.schemas.job import JobRead
from backend.schemas.pagination import Page
from backend.schemas.saved_job import Bookmark, JobMarker, JobMarkers, SavedJobRead
from backend.services import saved_jobs as saved_service

router = APIRouter(prefix="/users/me", tags=["saved-jobs"], responses=problem_responses(401))

# How many jobs one request asks markers for: a page of any list.
MAX_MARKED = 100
JobIds = Annotated[
    list[Annotated[int, Field(ge=1, le=MAX_ID)]],
    Query(
        alias="job_id",
        min_length=1,
        max_length=MAX_MARKED,
        description=f"A job's id, repeated for each (1 to {MAX_MARKED})",
    ),
]


@router.put(
    "/saved-jobs/{job_id}",
    name="save",
    status_code=status.HTTP_201_CREATED,
    response_model=Bookmark,
    responses={200: {"description": "Saved already: as it was"}, **problem_responses(404, 409)},
)
async def save_job(
    job_id: IdPath, user: CurrentUser, db: DbSession, response: Response
) -> Bookmark:
    """Bookmark a job on the board: 201, or 200 when it is saved already (one bookmark
    however many saves arrive at once); 404 for a job not on the board; 409 past 500."""
    saved = await saved_service.save(db, user=user, job_id=job_id)
    if not saved.created:
        response.status_code = status.HTTP_200_OK
    return Bookmark(job_id=job_id, saved_at=saved.saved_at)


@router.delete(
    "/saved-jobs/{job_id}",
    name="unsave",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
async def unsave_job(job_id: IdPath, user: CurrentUser, db: DbSession) -> Response:
    """Take a bookmark away; 404 when the job is not saved."""
    await saved_service.remove(db, user=user, job_id=job_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _saved(row: Any) -> SavedJobRead:
    return SavedJobRead(saved_at=row.saved_at, job=JobRead.model_validate(row))


@router.get("/saved-jobs", name="list", response_model=Page[SavedJobRead])
async def list_saved_jobs(user: CurrentUser, page: PageDep, db: DbSession) -> Page[SavedJobRead]:
    """The user's bookmarked jobs that are on the board, newest bookmark first (a job that
    left the board is not listed, and is again if it comes back)."""
    paged = await saved_service.list_mine(db, user=user, page=page)
    return to_page(paged, _saved)


@router.get("/job-markers", name="markers", response_model=JobMarkers)
async def job_markers(job_ids: JobIds, user: CurrentUser, db: DbSession) -> JobMarkers:
    """Of the jobs asked about (a page of any list), those the user bookmarked or applied
    to, and what they did: the lists themselves are the same for everyone (and cached so),
    and a client marks their jobs with this."""
    found = await saved_service.markers(db, user=user, job_ids=job_ids)
    return JobMarkers(items=[JobMarker.model_validate(marker) for marker in found])
