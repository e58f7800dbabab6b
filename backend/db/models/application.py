import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Enum,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TimestampMixin

COVER_LETTER_MAX_LENGTH = 10_000
NOTE_MAX_LENGTH = 5_000


class ApplicationStatus(enum.StrEnum):
    submitted = "submitted"
    reviewing = "reviewing"
    interviewing = "interviewing"
    offered = "offered"
    hired = "hired"
    rejected = "rejected"
    withdrawn = "withdrawn"


class RejectionReason(enum.StrEnum):
    """Why an employer turned an application down (theirs to read, not the candidate's)."""

    not_a_fit = "not_a_fit"
    not_enough_experience = "not_enough_experience"
    position_filled = "position_filled"
    duplicate = "duplicate"
    spam = "spam"
    knocked_out = "knocked_out"  # an answer to a screening question ruled it out
    other = "other"


class EventKind(enum.StrEnum):
    submitted = "submitted"
    viewed = "viewed"  # the employer's side first opened it
    moved = "moved"  # a status change (`status`, and for a rejection its `reason`)
    note = "note"  # a private note of the employer's side (`note`)
    interview = "interview"  # an interview proposed, changed, cancelled or answered (`detail`)
    revealed = "revealed"  # the employer's side revealed who applied, during a blind pass


class InterviewState(enum.StrEnum):
    proposed = "proposed"  # waiting for the candidate's answer
    accepted = "accepted"
    declined = "declined"
    cancelled = "cancelled"  # by the employer's side: final


INTERVIEW_LOCATION_MAX_LENGTH = 500
INTERVIEW_NOTE_MAX_LENGTH = 2000


# Where a job's blind first pass hides who applied (until revealed or moved on).
BLIND_STATUSES = frozenset({ApplicationStatus.submitted, ApplicationStatus.reviewing})

FINAL_STATUSES = frozenset(
    {ApplicationStatus.hired, ApplicationStatus.rejected, ApplicationStatus.withdrawn}
)

STAGE_KEY_MAX_LENGTH = 40
STAGE_NAME_MAX_LENGTH = 40


class Application(TimestampMixin, Base):
    __tablename__ = "applications"
    __table_args__ = (
        # One application per candidate and job, enforced by the database.
        UniqueConstraint("job_id", "candidate_id"),
        Index("ix_applications_job_id_id", "job_id", text("id DESC")),
        Index("ix_applications_candidate_id_id", "candidate_id", text("id DESC")),
        # Applications the job's owner has not been told of yet (a short list per job).
        Index(
            "ix_applications_owner_notify_pending",
            "job_id",
            postgresql_where=text("owner_notify_pending"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jobs.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE")
    )
    status: Mapped[ApplicationStatus] = mapped_column(
        Enum(
            ApplicationStatus,
            name="application_status",
            values_callable=lambda statuses: [s.value for s in statuses],
        ),
        server_default=ApplicationStatus.submitted.value,
    )
    cover_letter: Mapped[str | None] = mapped_column(Text)
    # When the job's owner (or an admin) first opened it; NULL until then.
    viewed_at: Mapped[datetime | None]
    # When the employer's side asked to see who applied during a blind first pass.
    revealed_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(String(40))
    # The key of the job's pipeline stage it is in; NULL (or a key since removed): the
    # first stage of its status (see services.stages).
    stage: Mapped[str | None] = mapped_column(String(STAGE_KEY_MAX_LENGTH))
    # The résumé sent with the application (kept while any application holds it).
    resume_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("resumes.id", ondelete="SET NULL"), index=True
    )
    # True from the application until the job's owner is mailed of it (in a batch).
    owner_notify_pending: Mapped[bool] = mapped_column(server_default=text("false"))
    # True from a status change until the candidate is mailed of their applications'
    # changes (in a batch); `status_told` is the status that mail last told them of (NULL:
    # none yet, so `submitted` as far as they know).
    candidate_notify_pending: Mapped[bool] = mapped_column(server_default=text("false"))
    status_told: Mapped[ApplicationStatus | None] = mapped_column(
        Enum(
            ApplicationStatus,
            name="application_status",
            values_callable=lambda statuses: [s.value for s in statuses],
            create_type=False,
        )
    )


class ApplicationEvent(Base):
    """What happened to an application, in order: its timeline. The candidate reads every
    kind but `note`, without the reason of a rejection; the employer's side reads all."""

    __tablename__ = "application_events"
    __table_args__ = (Index("ix_application_events_application_id_id", "application_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    application_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("applications.id", ondelete="CASCADE")
    )
    actor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[ApplicationStatus | None] = mapped_column(
        Enum(
            ApplicationStatus,
            name="application_status",
            values_callable=lambda statuses: [s.value for s in statuses],
            create_type=False,
        )
    )
    reason: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    # For an interview event: what happened to it (proposed, changed, cancelled, accepted,
    # declined); for a rejection mailed with a template: the template's name.
    detail: Mapped[str | None] = mapped_column(String(20))
    # For a move: the name of the pipeline stage it entered, as it was called then.
    stage: Mapped[str | None] = mapped_column(String(STAGE_NAME_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Interview(TimestampMixin, Base):
    """An interview the employer's side proposes for an application; the candidate gets an
    invitation (an .ics file) by mail, and accepts or declines. A change sends the
    invitation again with a higher `sequence`, as calendars expect."""

    __tablename__ = "interviews"
    __table_args__ = (Index("ix_interviews_application_id_id", "application_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    application_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("applications.id", ondelete="CASCADE")
    )
    proposed_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    starts_at: Mapped[datetime]
    minutes: Mapped[int]
    location: Mapped[str] = mapped_column(String(INTERVIEW_LOCATION_MAX_LENGTH))
    note: Mapped[str] = mapped_column(Text, server_default="")
    state: Mapped[str] = mapped_column(String(20), server_default=InterviewState.proposed.value)
    # The invitation's version: 0 when first sent, one more at each change or cancellation.
    sequence: Mapped[int] = mapped_column(server_default=text("0"))


class JobReviewSetting(Base):
    """How the employer's side reviews a job's applications: `blind`, a first pass that
    hides who applied (name, address, links, the résumé's contact lines) until an
    application is revealed or moved past screening."""

    __tablename__ = "job_review_settings"

    job_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    blind: Mapped[bool] = mapped_column(server_default=text("false"))
    # The job's pipeline: [{key, name, status}, ...] in order; NULL: the board's default
    # (see services.stages).
    stages: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    # The screening questions candidates answer when they apply; NULL: none (see
    # services.screening).
    questions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ApplicationAnswers(Base):
    """What a candidate answered to the job's screening questions when they applied: the
    questions as they were then, each with its answer, and which answers knocked it out."""

    __tablename__ = "application_answers"

    application_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    answers: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
