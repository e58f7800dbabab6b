"""Queries over companies."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.pagination import Positioned
from backend.db.models import Company
from backend.db.repository import base, members
from backend.db.repository.base import IdPosition, Lock


async def get(session: AsyncSession, *, company_id: int, lock: Lock = None) -> Company | None:
    """The company with this id (locked if asked), or None."""
    statement = base.locked(select(Company).where(Company.id == company_id), lock)
    return (await session.execute(statement)).scalar_one_or_none()


async def create(
    session: AsyncSession,
    *,
    owner_id: int,
    name: str,
    website: str | None,
    description: str | None,
    description_html: str | None,
    rendered_from: bytes | None,
) -> Company:
    """Insert a company owned by `owner_id`."""
    company = Company(
        owner_id=owner_id,
        name=name,
        website=website,
        description=description,
        description_html=description_html,
        rendered_from=rendered_from,
    )
    session.add(company)
    await session.flush()
    return company


async def update(session: AsyncSession, *, company: Company, **values: object) -> Company:
    """Set the given columns on a company."""
    return await base.update(session, company, **values)


async def list_page(
    session: AsyncSession,
    *,
    limit: int,
    after: IdPosition | None = None,
    member_id: int | None = None,
) -> Positioned[Company, IdPosition]:
    """Companies (those `member_id` is a member of, if given), newest first, after `after`;
    one more than `limit` to tell if more follow."""
    statement = select(Company).order_by(Company.id.desc()).limit(limit + 1)
    if member_id is not None:
        statement = statement.where(Company.id.in_(members.companies_of(member_id)))
    if after is not None:
        statement = statement.where(Company.id < after.id)
    return base.by_id((await session.execute(statement)).scalars())
