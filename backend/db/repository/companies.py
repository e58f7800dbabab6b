"""Queries over companies."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company
from backend.db.repository import base


async def get(session: AsyncSession, *, company_id: int) -> Company | None:
    """The company with this id, or None."""
    return await session.get(Company, company_id)


async def create(
    session: AsyncSession,
    *,
    owner_id: int,
    name: str,
    website: str | None,
    description: str | None,
) -> Company:
    """Insert a company owned by `owner_id`."""
    company = Company(owner_id=owner_id, name=name, website=website, description=description)
    session.add(company)
    await session.flush()
    return company


async def update(session: AsyncSession, *, company: Company, **values: object) -> Company:
    """Set the given columns on a company."""
    return await base.update(session, company, **values)


async def list_page(
    session: AsyncSession, *, limit: int, after_id: int | None = None
) -> list[Company]:
    """Companies, newest first, after `after_id`; one more than `limit` to tell if more follow."""
    statement = select(Company).order_by(Company.id.desc()).limit(limit + 1)
    if after_id is not None:
        statement = statement.where(Company.id < after_id)
    return list((await session.execute(statement)).scalars())
