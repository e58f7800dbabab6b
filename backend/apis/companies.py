"""Companies: employers create and edit their own; anyone can browse them."""

from fastapi import APIRouter, Response, status

from backend.apis.access import EmployerOrAdmin, IdPath
from backend.apis.deps import DbSession, IfMatch, PublicReadDb
from backend.apis.openapi import problem_responses, with_etag
from backend.apis.pagination import PageDep, to_page
from backend.schemas.company import CompanyCreate, CompanyRead, CompanyUpdate
from backend.schemas.pagination import Page
from backend.services import companies as companies_service
from backend.services.rules import etag

router = APIRouter(prefix="/companies", tags=["companies"])


@router.post(
    "",
    name="create",
    status_code=status.HTTP_201_CREATED,
    response_model=CompanyRead,
    responses=problem_responses(401, 403),
)
async def create_company(
    payload: CompanyCreate, user: EmployerOrAdmin, db: DbSession, response: Response
) -> CompanyRead:
    """Create a company owned by the caller (employers and admins)."""
    company = await companies_service.create(db, user=user, payload=payload)
    response.headers["ETag"] = etag(company.updated_at)
    return CompanyRead.model_validate(company)


@router.get("", name="list", response_model=Page[CompanyRead])
async def list_companies(page: PageDep, db: PublicReadDb) -> Page[CompanyRead]:
    """Every company, newest first."""
    paged = await companies_service.list_page(db, page=page)
    return to_page(paged, CompanyRead.model_validate)


@router.get(
    "/{company_id}",
    name="read",
    response_model=CompanyRead,
    responses={**problem_responses(404), **with_etag()},
)
async def read_company(company_id: IdPath, db: PublicReadDb, response: Response) -> CompanyRead:
    """One company, with its `ETag`."""
    company = await companies_service.get(db, company_id=company_id)
    response.headers["ETag"] = etag(company.updated_at)
    return CompanyRead.model_validate(company)


@router.patch(
    "/{company_id}",
    name="update",
    response_model=CompanyRead,
    responses={**problem_responses(401, 403, 404, 412), **with_etag()},
)
async def update_company(
    company_id: IdPath,
    payload: CompanyUpdate,
    user: EmployerOrAdmin,
    db: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> CompanyRead:
    """Change a company: its owner or an admin."""
    company = await companies_service.update(
        db, user=user, company_id=company_id, payload=payload, if_match=if_match
    )
    response.headers["ETag"] = etag(company.updated_at)
    return CompanyRead.model_validate(company)


mine = APIRouter(tags=["companies"])


@mine.get(
    "/users/me/companies",
    name="list-mine",
    response_model=Page[CompanyRead],
    responses=problem_responses(401, 403),
)
async def list_my_companies(
    user: EmployerOrAdmin, page: PageDep, db: DbSession
) -> Page[CompanyRead]:
    """The caller's own companies, newest first (employers and admins)."""
    paged = await companies_service.list_mine(db, user=user, page=page)
    return to_page(paged, CompanyRead.model_validate)
