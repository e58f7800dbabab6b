"""Companies: employers create and edit their own; anyone can browse them."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import markdown
from backend.core.exceptions import Forbidden, NotFound
from backend.core.pagination import Paged, PageRequest
from backend.db.models import Company
from backend.db.repository import companies as companies_repo
from backend.db.repository.base import IdPosition
from backend.db.repository.sessions import Caller
from backend.schemas.company import CompanyCreate, CompanyUpdate
from backend.services import company_verification, members
from backend.services.members import Need
from backend.services.rules import check_if_match

COMPANY_NOT_FOUND = "Company not found."


async def _rendering(description: str | None) -> dict[str, Any]:
    """The description's HTML and the digest of what it was rendered from
    (backend.core.markdown), rendered off the event loop before the change reads or locks
    anything."""
    if description is None:
        return {"description_html": None, "rendered_from": None}
    rendered = await markdown.render_off_loop(description)
    return {"description_html": rendered.html, "rendered_from": markdown.digest(description)}


async def create(db: AsyncSession, *, user: Caller, payload: CompanyCreate) -> Company:
    """A company owned by the caller."""
    rendering = await _rendering(payload.description)
    return await companies_repo.create(db, owner_id=user.id, **payload.model_dump(), **rendering)


async def list_page(db: AsyncSession, *, page: PageRequest) -> Paged[Company]:
    """Every company, newest first."""
    kind = "companies"
    rows = await companies_repo.list_page(db, limit=page.limit, after=page.after(kind, IdPosition))
    return page.page(rows, kind)


async def list_mine(db: AsyncSession, *, user: Caller, page: PageRequest) -> Paged[Company]:
    """The caller's own companies, newest first."""
    kind = "companies:mine"
    rows = await companies_repo.list_page(
        db, limit=page.limit, after=page.after(kind, IdPosition), member_id=user.id
    )
    return page.page(rows, kind)


async def get(db: AsyncSession, *, company_id: int) -> Company:
    company = await companies_repo.get(db, company_id=company_id)
    if company is None:
        raise NotFound(COMPANY_NOT_FOUND)
    return company


async def update(
    db: AsyncSession,
    *,
    user: Caller,
    company_id: int,
    payload: CompanyUpdate,
    if_match: str | None,
) -> Company:
    """Change a company: its owner or an admin (403 for another employer's)."""
    changes = payload.model_dump(exclude_unset=True)
    if "description" in changes:
        changes |= await _rendering(changes["description"])
    company = await companies_repo.get(db, company_id=company_id, lock="update")
    if company is None:
        raise NotFound(COMPANY_NOT_FOUND)
    if not await members.allows(db, user, company.id, Need.own):
        raise Forbidden("This company belongs to another employer.")
    check_if_match(if_match, company.updated_at)
    if not changes:
        return company
    if "website" in changes:
        changes |= company_verification.kept_on_change(company, changes["website"])
    return await companies_repo.update(db, company=company, **changes)
