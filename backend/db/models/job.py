import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.base import Base, TimestampMixin
from backend.db.models.company import Company

TITLE_MAX_LENGTH = 200
EXTERNAL_ID_MAX_LENGTH = 100
LOCATION_MAX_LENGTH = 200
JOB_DESCRIPTION_MAX_LENGTH = 20_000
TAG_MAX_LENGTH = 30
MAX_TAGS = 20


def _values(enum_class: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_class]


class Workplace(enum.StrEnum):
    onsite = "onsite"
    remote = "remote"
    hybrid = "hybrid"


class EmploymentType(enum.StrEnum):
    full_time = "full_time"
    part_time = "part_time"
    contract = "contract"
    internship = "internship"
    temporary = "temporary"


class JobStatus(enum.StrEnum):
    draft = "draft"
    # Asked to be published and held for a moderator's decision (backend.services.moderation).
    pending = "pending"
    published = "published"
    closed = "closed"
    # Refused by a moderator: never public; its owner may only delete it.
    rejected = "rejected"


# What the public lists sort by: salary_max, or salary_min when there is no max.
SALARY_SORT_KEY = "COALESCE(salary_max, salary_min)"


class Job(TimestampMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "salary_min IS NULL OR salary_max IS NULL OR salary_min <= salary_max",
            name="salary_range",
        ),
        # Public lists sort by published_at, so a published job always has one.
        CheckConstraint(
            "status <> 'published' OR published_at IS NOT NULL", name="published_at_set"
        ),
        Index("ix_jobs_company_id_id", "company_id", text("id DESC")),
        # Public lists: newest first, and by salary; only published rows are indexed.
        Index(
            "ix_jobs_published_newest",
            text("published_at DESC"),
            text("id DESC"),
            postgresql_where=text("status = 'published'"),
        ),
        Index(
            "ix_jobs_published_salary",
            text(f"{SALARY_SORT_KEY} DESC NULLS LAST"),
            text("published_at DESC"),
            text("id DESC"),
            postgresql_where=text("status = 'published'"),
        ),
        Index(
            "ix_jobs_company_published",
            "company_id",
            text("published_at DESC"),
            text("id DESC"),
            postgresql_where=text("status = 'published'"),
        ),
        Index("ix_jobs_search", "search", postgresql_using="gin"),
        Index("ix_jobs_tags", "tags", postgresql_using="gin"),
        Index(
            "ix_jobs_location_trgm",
            "location",
            postgresql_using="gin",
            postgresql_ops={"location": "gin_trgm_ops"},
        ),
        # Near-duplicates of other employers' jobs: titles alike (pg_trgm) among the jobs
        # on the board or waiting for review (backend.services.signals).
        Index(
            "ix_jobs_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
            postgresql_where=text("status IN ('published', 'pending')"),
        ),
        # Autocomplete checks that a suggested title still has a visible job.
        Index("ix_jobs_title_published", "title", postgresql_where=text("status = 'published'")),
        # A job's similar jobs: the newest of each title alike to its own.
        Index(
            "ix_jobs_title_newest",
            "title",
            text("published_at DESC"),
            text("id DESC"),
            postgresql_where=text("status = 'published'"),
        ),
        # The moderators' queue: the jobs held for review, oldest first.
        Index(
            "ix_jobs_pending_queue",
            "submitted_at",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
        # The hourly open checks find the published jobs their employers should confirm
        # open again (last confirmed, or else published, longest ago) through this, and
        # those whose employer was asked and did not answer through the next.
        Index(
            "ix_jobs_open_check_due",
            text("COALESCE(confirmed_open_at, published_at)"),
            postgresql_where=text("status = 'published' AND open_check_sent_at IS NULL"),
        ),
        Index(
            "ix_jobs_open_check_sent",
            "open_check_sent_at",
            postgresql_where=text("status = 'published' AND open_check_sent_at IS NOT NULL"),
        ),
        # The hourly expiry notices find the published jobs about to expire through this.
        Index(
            "ix_jobs_published_expires_at",
            "expires_at",
            postgresql_where=text("status = 'published' AND expires_at IS NOT NULL"),
        ),
        # A company's jobs published from an applicant-tracking system, by that system's id:
        # one job an id, however many upserts of it arrive at once.
        Index(
            "uq_jobs_company_id_external_id",
            "company_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    company_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("companies.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    # The id an applicant-tracking system gives the job (`PUT .../jobs/external/{id}`).
    external_id: Mapped[str | None] = mapped_column(String(EXTERNAL_ID_MAX_LENGTH))
    # As the employer wrote it (Markdown); rendered by backend.core.markdown when written.
    description: Mapped[str] = mapped_column(Text)
    # Derived from description: None where it was written without them (by an older
    # release), or where the jobs_search trigger found that rendered_from is not the
    # digest of the description (backend.core.markdown.digest); readers then render.
    description_html: Mapped[str | None] = mapped_column(Text)
    # What search indexes in place of the markup; nothing reads it back.
    description_text: Mapped[str | None] = mapped_column(
        Text, deferred=True, deferred_raiseload=True
    )
    rendered_from: Mapped[bytes | None] = mapped_column(
        LargeBinary, deferred=True, deferred_raiseload=True
    )
    location: Mapped[str] = mapped_column(String(LOCATION_MAX_LENGTH))
    workplace: Mapped[Workplace] = mapped_column(
        Enum(Workplace, name="workplace", values_callable=_values)
    )
    employment_type: Mapped[EmploymentType] = mapped_column(
        Enum(EmploymentType, name="employment_type", values_callable=_values)
    )
    salary_min: Mapped[int | None] = mapped_column(Integer)
    salary_max: Mapped[int | None] = mapped_column(Integer)
    salary_currency: Mapped[str | None] = mapped_column(String(3))
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(TAG_MAX_LENGTH)), server_default=text("'{}'::varchar[]")
    )
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, name="job_status", values_callable=_values),
        server_default=JobStatus.draft.value,
    )
    expires_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    # When its owner last asked for it to be published and it was held for review.
    submitted_at: Mapped[datetime | None]
    # When its employer last confirmed it is still open (None: not since it was published,
    # which then says it); and when they were last asked to, while it waits for the answer
    # (backend.services.open_checks).
    confirmed_open_at: Mapped[datetime | None]
    open_check_sent_at: Mapped[datetime | None]
    # The scam and spam signals it raised when last asked to be published
    # (backend.services.signals); read by moderators alone.
    signals: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), server_default=text("'{}'::varchar[]")
    )
    # Never loaded by itself: the loaders that answer with a job join it (contains_eager),
    # and a new job is given it.
    company: Mapped[Company] = relationship(lazy="raise")
    # Maintained by the jobs_search trigger from title (A), tags (B), company name (C)
    # and description_text (D; the description itself where there is none); never
    # written by the app.
    search: Mapped[str | None] = mapped_column(TSVECTOR, deferred=True, deferred_raiseload=True)

    @property
    def company_name(self) -> str:
        return self.company.name

    @property
    def company_verified(self) -> bool:
        return self.company.verified


class JobExpiryNotice(Base):
    """The expiry a job's owner was told of ahead (one notice per job and expiry date: a
    job given a later date is noticed again when that one nears)."""

    __tablename__ = "job_expiry_notices"

    job_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    expires_at: Mapped[datetime]
    noticed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class JobTitle(Base):
    """Each title of a published job once, with how many published jobs carry it.

    Kept by statement-level triggers on jobs (COPY included); autocomplete reads it.
    """

    __tablename__ = "job_titles"
    __table_args__ = (
        # Titles alike to a job's own, for its similar jobs.
        Index(
            "ix_job_titles_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
        ),
        Index(
            "ix_job_titles_words",
            func.to_tsvector(text("'simple'::regconfig"), text("title")),
            postgresql_using="gin",
        ),
    )

    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH), primary_key=True)
    published_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
