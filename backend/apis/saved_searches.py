"""The signed-in user's saved searches (job alerts)."""

from fastapi import APIRouter, Response, status

from backend.apis.access import IdPath
from backend.apis.deps import CurrentUser, DbSession
from backend.apis.openapi import problem_responses
from backend.apis.pagination import PageDep, to_page
from backend.schemas.pagination import Page
from backend.schemas.saved_search import SavedSearchCreate, SavedSearchRead, SavedSearchUpdate
from backend.services import alerts as alerts_service

router = APIRouter(
    prefix="/users/me/saved-searches", tags=["saved-searches"], responses=problem_responses(401)
)


@router.post(
    "",
    name="create",
    status_code=status.HTTP_201_CREATED,
    response_model=SavedSearchRead,
    responses=problem_responses(409),
)
async def create_saved_search(
    payload: SavedSearchCreate, user: CurrentUser, db: DbSession
) -> SavedSearchRead:
    """Save a search (what `GET /jobs` takes, as a JSON object) to be mailed its new jobs
    daily or weekly; at most 20 a user (409 beyond)."""
    saved = await alerts_service.create(db, user=user, payload=payload)
    return SavedSearchRead.model_validate(saved)


@router.get("", name="list", response_model=Page[SavedSearchRead])
async def list_saved_searches(
    user: CurrentUser, page: PageDep, db: DbSession
) -> Page[SavedSearchRead]:
    """The user's saved searches, newest first."""
    paged = await alerts_service.list_mine(db, user=user, page=page)
    return to_page(paged, SavedSearchRead.model_validate)


@router.get(
    "/{saved_search_id}",
    name="read",
    response_model=SavedSearchRead,
    responses=problem_responses(404),
)
async def read_saved_search(
    saved_search_id: IdPath, user: CurrentUser, db: DbSession
) -> SavedSearchRead:
    saved = await alerts_service.get(db, user=user, saved_search_id=saved_search_id)
    return SavedSearchRead.model_validate(saved)


@router.patch(
    "/{saved_search_id}",
    name="update",
    response_model=SavedSearchRead,
    responses=problem_responses(404),
)
async def update_saved_search(
    saved_search_id: IdPath, payload: SavedSearchUpdate, user: CurrentUser, db: DbSession
) -> SavedSearchRead:
    """Rename it, change its search, or how often it alerts."""
    saved = await alerts_service.update(
        db, user=user, saved_search_id=saved_search_id, payload=payload
    )
    return SavedSearchRead.model_validate(saved)


@router.delete(
    "/{saved_search_id}",
    name="delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
async def delete_saved_search(
    saved_search_id: IdPath, user: CurrentUser, db: DbSession
) -> Response:
    await alerts_service.delete(db, user=user, saved_search_id=saved_search_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
