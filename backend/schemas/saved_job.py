from backend.db.models import ApplicationStatus
from backend.schemas.base import ResponseModel, Timestamp
from backend.schemas.job import JobRead


class Bookmark(ResponseModel):
    """A job the user bookmarked, and when."""

    job_id: int
    saved_at: Timestamp


class SavedJobRead(ResponseModel):
    """A job the user bookmarked, as the board shows it, and when they saved it."""

    saved_at: Timestamp
    job: JobRead


class JobMarker(ResponseModel):
    """What the signed-in user did with a job: bookmarked it, applied to it (each null
    when not)."""

    job_id: int
    saved_at: Timestamp | None
    application_id: int | None
    application_status: ApplicationStatus | None
    applied_at: Timestamp | None


class JobMarkers(ResponseModel):
    """Of the jobs asked about, those the user bookmarked or applied to, by id."""

    items: list[JobMarker]
