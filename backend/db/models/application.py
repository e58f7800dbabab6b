import enum

from sqlalchemy import BigInteger, Enum, ForeignKey, Identity, Index, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TimestampMixin

COVER_LETTER_MAX_LENGTH = 10_000


class ApplicationStatus(enum.StrEnum):
    submitted = "submitted"
    reviewing = "reviewing"
    interviewing = "interviewing"
    offered = "offered"
    rejected = "rejected"
    withdrawn = "withdrawn"


FINAL_STATUSES = frozenset(
    {ApplicationStatus.offered, ApplicationStatus.rejected, ApplicationStatus.withdrawn}
)


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
