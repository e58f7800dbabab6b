from typing import Annotated

from pydantic import ConfigDict, Field

from backend.db.models.application import COVER_LETTER_MAX_LENGTH, ApplicationStatus
from backend.schemas.base import RequestModel, ResponseModel, Text, Timestamp
from backend.schemas.job import EntityId


class ApplicationCreate(RequestModel):
    cover_letter: Annotated[Text, Field(max_length=COVER_LETTER_MAX_LENGTH)] | None = None
    resume_id: EntityId | None = Field(
        default=None, description="One of the caller's résumés, sent with the application"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"cover_letter": "I would love to join.", "resume_id": 7}, {}]
        }
    )


class ApplicationUpdate(RequestModel):
    status: ApplicationStatus

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "reviewing"}, {"status": "withdrawn"}]}
    )


class ApplicationRead(ResponseModel):
    id: int
    job_id: int
    candidate_id: int
    status: ApplicationStatus
    cover_letter: str | None
    resume_id: int | None
    created_at: Timestamp
    updated_at: Timestamp


class MyApplicationRead(ApplicationRead):
    """An application as its candidate lists it: with the job's title and company, so that
    the list needs no request per row."""

    job_title: str
    company_name: str


class ApplicantRead(ApplicationRead):
    """An application as the job's owner and admins list it: who applied, to reach them."""

    candidate_name: str
    candidate_email: str


class CompanyApplicantRead(ApplicantRead):
    """An application as the employer lists all of theirs: with the job it is for."""

    job_title: str
