from typing import Annotated, Any, Self

from pydantic import ConfigDict, Field, model_validator

from backend.db.models.application import (
    COVER_LETTER_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    ApplicationStatus,
    EventKind,
    RejectionReason,
)
from backend.schemas.base import RequestModel, ResponseModel, StrictBool, Text, Timestamp
from backend.schemas.job import EntityId

# Applications one bulk change moves at most.
MAX_BULK = 100


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
    reason: RejectionReason | None = Field(
        default=None, description="Why it is rejected (with `rejected` only; the employer's)"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "reviewing"},
                {"status": "rejected", "reason": "position_filled"},
                {"status": "withdrawn"},
            ]
        }
    )

    @model_validator(mode="after")
    def reason_with_a_rejection(self) -> "ApplicationUpdate":
        if self.reason is not None and self.status != ApplicationStatus.rejected:
            raise ValueError("a reason goes with the status rejected only")
        return self


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
    """An application as the job's owner and admins list it: who applied, to reach them;
    when their side first opened it, and why they rejected it. While the job's blind first
    pass hides it (`masked`), the name is "Candidate <application id>" and the address
    null."""

    candidate_name: str
    candidate_email: str | None
    viewed_at: Timestamp | None
    rejection_reason: RejectionReason | None
    masked: bool = Field(description="Hidden by the job's blind first pass")

    @classmethod
    def of(cls, row: Any) -> Self:
        """The applicant as the row has it, masked if the row says so."""
        read = cls.model_validate(row)
        if not read.masked:
            return read
        return read.model_copy(
            update={"candidate_name": f"Candidate {read.id}", "candidate_email": None}
        )


class CompanyApplicantRead(ApplicantRead):
    """An application as the employer lists all of theirs: with the job it is for."""

    job_title: str


class BulkStatusChange(RequestModel):
    application_ids: Annotated[
        list[EntityId], Field(min_length=1, max_length=MAX_BULK, description="At most 100")
    ]
    status: ApplicationStatus
    reason: RejectionReason | None = Field(
        default=None, description="Why they are rejected (with `rejected` only)"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"application_ids": [12, 15], "status": "interviewing"},
                {"application_ids": [7, 9, 11], "status": "rejected", "reason": "not_a_fit"},
            ]
        }
    )

    @model_validator(mode="after")
    def reason_with_a_rejection(self) -> "BulkStatusChange":
        if self.reason is not None and self.status != ApplicationStatus.rejected:
            raise ValueError("a reason goes with the status rejected only")
        return self


class NoteCreate(RequestModel):
    note: Annotated[Text, Field(min_length=1, max_length=NOTE_MAX_LENGTH)]

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"note": "Strong on SQL; ask about on-call."}]}
    )


class TimelineEvent(ResponseModel):
    """One thing that happened to an application. The candidate reads `submitted`,
    `viewed` and `moved`, with `reason`, `note` and `actor_name` null; the employer's side
    reads every kind, `note` its private notes."""

    id: int
    kind: EventKind
    status: ApplicationStatus | None
    reason: RejectionReason | None
    note: str | None
    detail: str | None = Field(
        description="An interview event's: proposed, changed, cancelled, accepted, declined"
    )
    actor_name: str | None
    created_at: Timestamp


class ApplicantCounts(ResponseModel):
    """How many applications one of the caller's jobs has: in all, and by status (the
    statuses with none left out)."""

    job_id: int = Field(validation_alias="id")
    total: int
    by_status: dict[ApplicationStatus, int]


class ReviewSettings(RequestModel):
    blind: StrictBool = Field(
        description="A blind first pass: who applied is hidden until an application is "
        "revealed or moved past screening"
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"blind": True}]})
