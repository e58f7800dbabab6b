"""Who may see and change what: every role and ownership rule, in one place per resource.

Checks run in the contract's order: the caller's role (403), then whether the caller may
see the thing at all (404, revealing nothing), then its state (409, in the services).
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Path

from backend.apis.deps import CurrentUser, DbSession, SettingsDep, bearer_scheme, get_principal
from backend.core.exceptions import Forbidden, NotFound
from backend.db.models import Company, Job, Role, User
from backend.db.repository import applications as applications_repo
from backend.db.repository import companies as companies_repo
from backend.db.repository import jobs as jobs_repo
from backend.schemas.job import MAX_ID
from backend.services.rules import ApplicationAccess, is_publicly_visible, manages

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]

JOB_NOT_FOUND = "Job not found."
COMPANY_NOT_FOUND = "Company not found."
APPLICATION_NOT_FOUND = "Application not found."


def require_role(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency: the current user, if their role (read from the database) is one of these."""

    async def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise Forbidden(
                f"Only {' or '.join(role.value for role in roles)} accounts may do this."
            )
        return user

    return check


EmployerOrAdmin = Annotated[User, Depends(require_role(Role.employer, Role.admin))]
Candidate = Annotated[User, Depends(require_role(Role.candidate))]
Admin = Annotated[User, Depends(require_role(Role.admin))]


async def optional_user(
    db: DbSession, settings: SettingsDep, token: Annotated[str | None, Depends(bearer_scheme)]
) -> User | None:
    """The signed-in user when a token is sent (a bad one is still a 401), else None."""
    if not token:
        return None
    return (await get_principal(db, settings, token)).user


MaybeUser = Annotated[User | None, Depends(optional_user)]


# --- companies


async def company_or_404(company_id: IdPath, db: DbSession) -> Company:
    company = await companies_repo.get(db, company_id=company_id)
    if company is None:
        raise NotFound(COMPANY_NOT_FOUND)
    return company


async def managed_company(
    user: EmployerOrAdmin, company: Annotated[Company, Depends(company_or_404)]
) -> Company:
    """A company the caller owns (or any, for an admin); 403 for another employer's."""
    if not manages(user, company.owner_id):
        raise Forbidden("This company belongs to another employer.")
    return company


PublicCompany = Annotated[Company, Depends(company_or_404)]
ManagedCompany = Annotated[Company, Depends(managed_company)]


# --- jobs


async def viewable_job(job_id: IdPath, db: DbSession, user: MaybeUser) -> Job:
    """A job the caller may read: visible to all, or any status for its owner and admins."""
    found = await jobs_repo.get_with_owner(db, job_id=job_id)
    if found is None:
        raise NotFound(JOB_NOT_FOUND)
    job, owner_id = found
    if not (is_publicly_visible(job) or manages(user, owner_id)):
        raise NotFound(JOB_NOT_FOUND)
    return job


async def managed_job(job_id: IdPath, db: DbSession, user: EmployerOrAdmin) -> Job:
    """A job the caller may change: 403 if they can see it but not change it, else 404."""
    found = await jobs_repo.get_with_owner(db, job_id=job_id)
    if found is None:
        raise NotFound(JOB_NOT_FOUND)
    job, owner_id = found
    if manages(user, owner_id):
        return job
    if is_publicly_visible(job):
        raise Forbidden("This job belongs to another employer.")
    raise NotFound(JOB_NOT_FOUND)


async def job_of_own_listing(job_id: IdPath, db: DbSession, user: CurrentUser) -> Job:
    """A job whose applications the caller may review: its owner or an admin; 404 for others."""
    found = await jobs_repo.get_with_owner(db, job_id=job_id)
    if found is None or not manages(user, found[1]):
        raise NotFound(JOB_NOT_FOUND)
    return found[0]


async def job_open_for_applications(job_id: IdPath, db: DbSession, user: Candidate) -> Job:
    """A job a candidate may apply to: visible to the public (else 404)."""
    found = await jobs_repo.get_with_owner(db, job_id=job_id)
    if found is None or not is_publicly_visible(found[0]):
        raise NotFound(JOB_NOT_FOUND)
    return found[0]


ViewableJob = Annotated[Job, Depends(viewable_job)]
ManagedJob = Annotated[Job, Depends(managed_job)]
ReviewedJob = Annotated[Job, Depends(job_of_own_listing)]
OpenJob = Annotated[Job, Depends(job_open_for_applications)]


# --- applications


async def viewable_application(
    application_id: IdPath, db: DbSession, user: CurrentUser
) -> ApplicationAccess:
    """An application its candidate, the job's owner or an admin may see; 404 for others."""
    found = await applications_repo.get_with_owner(db, application_id=application_id)
    if found is None:
        raise NotFound(APPLICATION_NOT_FOUND)
    application, job_owner_id = found
    access = ApplicationAccess(
        application=application,
        is_candidate=application.candidate_id == user.id,
        manages=manages(user, job_owner_id),
    )
    if not (access.is_candidate or access.manages):
        raise NotFound(APPLICATION_NOT_FOUND)
    return access


ViewableApplication = Annotated[ApplicationAccess, Depends(viewable_application)]
