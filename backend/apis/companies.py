"""Companies: employers create and edit their own; anyone can browse them."""

from fastapi import APIRouter, status

from backend.apis.access import EmployerOrAdmin, ManagedCompany, PublicCompany
from backend.apis.deps import DbSession
from backend.apis.openapi import problem_responses
from backend.apis.pagination import PageDep
from backend.db.repository import companies as companies_repo
from backend.schemas.company import CompanyCreate, CompanyRead, CompanyUpdate
from backend.schemas.pagination import Page

router = APIRouter(prefix="/companies", tags=["companies"])


@router.post(
    "",
    name="create",
    status_code=status.HTTP_201_CREATED,
    response_model=CompanyRead,
    responses=problem_responses(401, 403),
)
async def create_company(
    payload: CompanyCreate, user: EmployerOrAdmin, db: DbSession
) -> CompanyRead:
    """Create a company owned by the caller (employers and admins)."""
    company = await companies_repo.create(db, owner_id=user.id, **payload.model_dump())
    return CompanyRead.model_validate(company)


@router.get("", name="list", response_model=Page[CompanyRead])
async def list_companies(page: PageDep, db: DbSession) -> Page[CompanyRead]:
    """Every company, newest first."""
    rows = await companies_repo.list_page(db, limit=page.limit, after_id=page.after_id("companies"))
    items, next_cursor = page.page(rows, "companies", lambda company: [company.id])
    return Page(items=[CompanyRead.model_validate(c) for c in items], next_cursor=next_cursor)


@router.get(
    "/{company_id}", name="read", response_model=CompanyRead, responses=problem_responses(404)
)
async def read_company(company: PublicCompany) -> CompanyRead:
    """One company."""
    return CompanyRead.model_validate(company)


@router.patch(
    "/{company_id}",
    name="update",
    response_model=CompanyRead,
    responses=problem_responses(401, 403, 404),
)
async def update_company(
    payload: CompanyUpdate, company: ManagedCompany, db: DbSession
) -> CompanyRead:
    """Change a company: its owner or an admin."""
    company = await companies_repo.update(
        db, company=company, **payload.model_dump(exclude_unset=True)
    )
    return CompanyRead.model_validate(company)
