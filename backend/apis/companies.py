"""Companies: employers create and edit their own; anyone can browse them."""

from fastapi import APIRouter, Response, status

from backend.apis.access import EmployerOrAdmin, IdPath
from backend.apis.deps import (
    DbSession,
    IfMatch,
    PublicReadDb,
    SettingsDep,
    TransactionsDep,
)
from backend.apis.openapi import problem_responses, with_etag
from backend.apis.pagination import PageDep, to_page
from backend.schemas.auth import Accepted, EmailVerification
from backend.schemas.company import (
    CompanyCreate,
    CompanyRead,
    CompanyUpdate,
    CompanyVerificationCreate,
    ResponsivenessRead,
)
from backend.schemas.pagination import Page
from backend.services import companies as companies_service
from backend.services import company_verification, responsiveness
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


@router.get(
    "/{company_id}/responsiveness",
    name="responsiveness",
    response_model=ResponsivenessRead,
    responses=problem_responses(404),
)
async def read_responsiveness(company_id: IdPath, db: PublicReadDb) -> ResponsivenessRead:
    """How the company answers applications, as the worker last computed it (daily): every
    figure null until it has enough applications to tell."""
    figures = await responsiveness.of_company(db, company_id=company_id)
    return ResponsivenessRead.of(company_id, figures)


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


@router.post(
    "/{company_id}/verification",
    name="ask-verification",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=problem_responses(401, 403, 404, 409, 429),
)
async def ask_verification(
    company_id: IdPath,
    payload: CompanyVerificationCreate,
    user: EmployerOrAdmin,
    db: DbSession,
    transactions: TransactionsDep,
    settings: SettingsDep,
) -> Accepted:
    """Mail a link that verifies the company to `email`, an address at the registrable
    domain of the company's website (its owner or an admin, with a confirmed address).

    409 when the company has no website or is verified at its domain already; 422 for an
    address at another domain, or for a website at a free or disposable mail service's
    domain; 403 for a banned domain; 429 past the account's five confirmation links an
    hour or the address's share of mail.
    """
    await company_verification.ask(
        db, transactions, settings, user=user, company_id=company_id, email=payload.email
    )
    return Accepted(detail=f"A verification link is on its way to {payload.email}.")


@router.post(
    "/verify",
    name="verify",
    response_model=CompanyRead,
    responses={**problem_responses(400), **with_etag()},
)
async def verify_company(
    payload: EmailVerification, db: DbSession, settings: SettingsDep, response: Response
) -> CompanyRead:
    """Verify a company with the token of a mailed link (no sign-in needed: whoever reads
    the company's mailbox opens it). A tampered, expired or used link, or one whose asker
    no longer manages the company or whose website moved, is a 400 and changes nothing."""
    company = await company_verification.confirm(db, settings, token=payload.token)
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
