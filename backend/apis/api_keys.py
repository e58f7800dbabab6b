"""Companies' keys for machines, managed by the company's owner."""

from fastapi import APIRouter, status

from backend.apis.access import IdPath
from backend.apis.deps import CurrentUser, DbSession
from backend.apis.openapi import problem_responses
from backend.schemas.api_key import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from backend.schemas.pagination import Page
from backend.services import api_keys

router = APIRouter(tags=["companies"])


@router.post(
    "/companies/{company_id}/api-keys",
    name="create-api-key",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=problem_responses(401, 404, 409),
)
async def create_key(
    company_id: IdPath, payload: ApiKeyCreate, user: CurrentUser, db: DbSession
) -> ApiKeyCreated:
    """A new key for the company's machines: its owner and admins. The secret is in this
    answer and nowhere else, ever: the board keeps only its digest."""
    key, secret = await api_keys.create(
        db,
        user=user,
        company_id=company_id,
        name=payload.name,
        scopes=payload.scopes,
        expires_at=payload.expires_at,
    )
    return ApiKeyCreated(**ApiKeyRead.model_validate(key).model_dump(), secret=secret)


@router.get(
    "/companies/{company_id}/api-keys",
    name="list-api-keys",
    response_model=Page[ApiKeyRead],
    responses=problem_responses(401, 404),
)
async def list_keys(company_id: IdPath, user: CurrentUser, db: DbSession) -> Page[ApiKeyRead]:
    """The company's keys, newest first, revoked ones too (never a secret): its owner and
    admins."""
    keys = await api_keys.listed(db, user=user, company_id=company_id)
    return Page(items=[ApiKeyRead.model_validate(key) for key in keys], next_cursor=None)


@router.delete(
    "/companies/{company_id}/api-keys/{key_id}",
    name="revoke-api-key",
    response_model=ApiKeyRead,
    responses=problem_responses(401, 404),
)
async def revoke_key(
    company_id: IdPath, key_id: IdPath, user: CurrentUser, db: DbSession
) -> ApiKeyRead:
    """Revoke a key: from the next request on, it is refused (401). Its owner and admins."""
    key = await api_keys.revoke(db, user=user, company_id=company_id, key_id=key_id)
    return ApiKeyRead.model_validate(key)
