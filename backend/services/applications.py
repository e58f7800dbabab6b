"""Application rules: who may move an application to which status."""

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.exceptions import Conflict, Forbidden
from backend.db.models import Application, ApplicationStatus
from backend.db.models.application import FINAL_STATUSES
from backend.db.repository import applications as applications_repo
from backend.services.rules import ApplicationAccess

# The job's owner and admins move an application among these, in any order.
REVIEW_STATUSES = frozenset(
    {
        ApplicationStatus.reviewing,
        ApplicationStatus.interviewing,
        ApplicationStatus.offered,
        ApplicationStatus.rejected,
    }
)
CANDIDATE_STATUSES = frozenset({ApplicationStatus.withdrawn})


async def change_status(
    db: AsyncSession, *, access: ApplicationAccess, status: ApplicationStatus
) -> Application:
    """Move an application; 403 for a status this caller may not set, 409 once it is final."""
    allowed: set[ApplicationStatus] = set()
    if access.manages:
        allowed |= REVIEW_STATUSES
    if access.is_candidate:
        allowed |= CANDIDATE_STATUSES
    if status not in allowed:
        raise Forbidden(f"You may not set the status {status.value}.")
    application = access.application
    if status == application.status:
        return application
    if application.status in FINAL_STATUSES:
        raise Conflict(f"The application is already {application.status.value}.")
    await applications_repo.update(db, application=application, status=status)
    return application
