"""`GET /options`: the values and limits a client builds its forms from."""

from fastapi import APIRouter, Response

from backend.db.models import ApplicationStatus, EmploymentType, JobStatus, Workplace
from backend.db.models.application import COVER_LETTER_MAX_LENGTH, FINAL_STATUSES
from backend.db.models.job import (
    JOB_DESCRIPTION_MAX_LENGTH,
    LOCATION_MAX_LENGTH,
    MAX_TAGS,
    TAG_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from backend.schemas.job import MAX_SALARY
from backend.schemas.options import ApplicationStatuses, Limits, Options
from backend.services.applications import REVIEW_STATUSES

router = APIRouter(prefix="/options", tags=["jobs"])

# They change only with a release.
MAX_AGE = 3600


def _in_order(kept: frozenset[ApplicationStatus]) -> list[ApplicationStatus]:
    return [status for status in ApplicationStatus if status in kept]


OPTIONS = Options(
    workplaces=list(Workplace),
    employment_types=list(EmploymentType),
    job_statuses=list(JobStatus),
    application_statuses=ApplicationStatuses(
        all=list(ApplicationStatus),
        reviewer=_in_order(REVIEW_STATUSES),
        final=_in_order(FINAL_STATUSES),
    ),
    limits=Limits(
        job_title=TITLE_MAX_LENGTH,
        job_location=LOCATION_MAX_LENGTH,
        job_description=JOB_DESCRIPTION_MAX_LENGTH,
        tag=TAG_MAX_LENGTH,
        tags=MAX_TAGS,
        cover_letter=COVER_LETTER_MAX_LENGTH,
        salary=MAX_SALARY,
    ),
)


@router.get("", name="options", response_model=Options)
async def options(response: Response) -> Options:
    """The choices a form offers (workplaces, employment types, job and application
    statuses: which a reviewer may set, which are final) and the limits of each field, as
    this API checks them. Anyone; cacheable."""
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return OPTIONS
