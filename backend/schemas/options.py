"""What a client offers its users to choose from, and the limits it checks before sending:
the API's own values, so that no client copies them."""

from backend.db.models import ApplicationStatus, EmploymentType, JobStatus, Workplace
from backend.schemas.base import ResponseModel


class ApplicationStatuses(ResponseModel):
    all: list[ApplicationStatus]
    # What a job's owner (or an admin) may set, in any order.
    reviewer: list[ApplicationStatus]
    # What no one can change once set.
    final: list[ApplicationStatus]


class Limits(ResponseModel):
    """The most characters (or items) each field takes; more is a 422."""

    job_title: int
    job_location: int
    job_description: int
    tag: int
    tags: int
    cover_letter: int
    salary: int


class Options(ResponseModel):
    workplaces: list[Workplace]
    employment_types: list[EmploymentType]
    job_statuses: list[JobStatus]
    application_statuses: ApplicationStatuses
    limits: Limits
