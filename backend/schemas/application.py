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
from backend.schemas.pipeline import MAX_QUESTIONS, Answer, RejectionMail, StageKey, StageRead

# Applications one bulk change moves at most.
MAX_BULK = 100


QuestionId = Annotated[str, Field(min_length=1, max_length=40)]


class ApplicationCreate(RequestModel):
    cover_letter: Annotated[Text, Field(max_length=COVER_LETTER_MAX_LENGTH)] | None = None
    resume_id: EntityId | None = Field(
        default=None, description="One of the caller's résumés, sent with the application"
    )
    answers: Annotated[dict[QuestionId, Answer | None], Field(max_length=MAX_QUESTIONS)] = Field(
        default_factory=dict,
        description="Answers to the job's screening questions, by question id (GET "
        "/jobs/{job_id}/questions): true or false, a number, a choice or a text",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"cover_letter": "I would love to join.", "resume_id": 7},
                {"answers": {"q3f1c2a9b0d4e": True, "q9a8b7c6d5e4f": 4}},
                {},
            ]
        }
    )


class _Move(RequestModel):
    """Where to move: a status (into its first stage) or a stage of the job's pipeline."""

    status: ApplicationStatus | None = None
    stage: StageKey | None = Field(
        default=None, description="A stage's key (GET /jobs/{job_id}/stages), instead of a status"
    )
    reason: RejectionReason | None = Field(
        default=None, description="Why it is rejected (with a rejection only; the employer's)"
    )
    mail: RejectionMail | None = Field(
        default=None, description="Mail the candidate of the rejection with this template"
    )

    @model_validator(mode="after")
    def one_place(self) -> Self:
        if (self.status is None) == (self.stage is None):
            raise ValueError("give either a status or a stage")
        if self.status is not None and self.status != ApplicationStatus.rejected:
            if self.reason is not None:
                raise ValueError("a reason goes with the status rejected only")
            if self.mail is not None:
                raise ValueError("a mail goes with the status rejected only")
        return self


class ApplicationUpdate(_Move):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "reviewing"},
                {"stage": "phone-screen"},
                {"status": "rejected", "reason": "position_filled"},
                {"status": "rejected", "reason": "not_a_fit", "mail": {"template": "standard"}},
                {"status": "withdrawn"},
            ]
        }
    )


class ApplicationRead(ResponseModel):
    id: int
    job_id: int
    candidate_id: int
    status: ApplicationStatus
    # Never read from the row (which stores what may not be the stage it is in, and is the
    # employer's): set by `at` and `of` for the employer's side alone.
    stage: str | None = Field(
        default=None,
        validation_alias="shown_stage",
        description="The key of its stage in the job's pipeline: for the employer's side "
        "(null for its candidate, and once withdrawn)",
    )
    cover_letter: str | None
    resume_id: int | None
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def at(cls, application: Any, stage: str | None) -> Self:
        """The application, in the stage the caller is to see (None: not shown)."""
        return cls.model_validate(application).model_copy(update={"stage": stage})


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
    def of(cls, row: Any, stage: str | None) -> Self:
        """The applicant as the row has it, in `stage`, masked if the row says so."""
        read = cls.model_validate(row).model_copy(update={"stage": stage})
        if not read.masked:
            return read
        return read.model_copy(
            update={"candidate_name": f"Candidate {read.id}", "candidate_email": None}
        )


class CompanyApplicantRead(ApplicantRead):
    """An application as the employer lists all of theirs: with the job it is for."""

    job_title: str


class BulkStatusChange(_Move):
    application_ids: Annotated[
        list[EntityId], Field(min_length=1, max_length=MAX_BULK, description="At most 100")
    ]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"application_ids": [12, 15], "status": "interviewing"},
                {"application_ids": [12, 15], "stage": "phone-screen"},
                {"application_ids": [7, 9, 11], "status": "rejected", "reason": "not_a_fit"},
            ]
        }
    )


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
        description="An interview event's: proposed, changed, cancelled, accepted, declined; "
        "a rejection's (the employer's side): the template it was mailed with"
    )
    stage: str | None = Field(
        default=None,
        description="A move's (the employer's side): the name of the stage it entered then",
    )
    actor_name: str | None
    created_at: Timestamp


class ApplicantCounts(ResponseModel):
    """How many applications one of the caller's jobs has: in all, by status (the
    statuses with none left out), and in each stage of its pipeline, in order (the
    withdrawn in none)."""

    job_id: int = Field(validation_alias="id")
    total: int
    by_status: dict[ApplicationStatus, int]
    by_stage: list[StageRead]


class ReviewSettings(RequestModel):
    blind: StrictBool = Field(
        description="A blind first pass: who applied is hidden until an application is "
        "revealed or moved past screening"
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"blind": True}]})
