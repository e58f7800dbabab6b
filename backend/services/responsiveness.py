"""How responsive each employer is: the median time to a first answer to an application,
and the share answered within 30 days, computed daily by the worker for every company
with enough applications to mean something, and shown to candidates on its jobs.

An answer is what the employer's side does to an application that the candidate sees: a
move to another status or an interview proposed (opening it is not an answer). Only
applications made since applications had timelines count (those have a `submitted`
event), so that older ones, whose answers were never recorded, do not count as ignored.
"""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.exceptions import NotFound
from backend.db.models import CompanyResponsiveness
from backend.db.repository import companies as companies_repo
from backend.db.repository import responsiveness as responsiveness_repo

# An application is answered in time within this many days; it is judged once that long
# has passed, and for a year.
ANSWER_DAYS = 30
WINDOW_DAYS = 365
# Fewer judged applications than this say nothing about a company: it shows no figures.
MINIMUM_APPLICATIONS = 10


async def recompute(db: AsyncSession, *, now: datetime | None = None) -> tuple[int, int]:
    """Compute every company's figures (companies written, dropped)."""
    return await responsiveness_repo.recompute(
        db,
        now=now or datetime.now(UTC),
        window_days=WINDOW_DAYS,
        answer_days=ANSWER_DAYS,
        minimum=MINIMUM_APPLICATIONS,
    )


async def of_company(db: AsyncSession, *, company_id: int) -> CompanyResponsiveness | None:
    """A company's figures, None while it has too few applications for them; 404 for a
    company that does not exist."""
    if await companies_repo.get(db, company_id=company_id) is None:
        raise NotFound("Company not found.")
    return await responsiveness_repo.get(db, company_id=company_id)
