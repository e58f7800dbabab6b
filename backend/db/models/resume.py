"""Résumés, the files behind them, and candidates' profiles."""

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
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
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TimestampMixin
from backend.db.models.company import WEBSITE_MAX_LENGTH
from backend.db.models.job import TAG_MAX_LENGTH

FILE_NAME_MAX_LENGTH = 255
MEDIA_TYPE_MAX_LENGTH = 100
HEADLINE_MAX_LENGTH = 120
SUMMARY_MAX_LENGTH = 5000
PROFILE_LOCATION_MAX_LENGTH = 200
WORK_AUTHORIZATION_MAX_LENGTH = 200
MAX_LINKS = 5


class StoredFile(Base):
    """A file's bytes, for the file store that keeps them in the database
    (`backend.services.file_store`); stored uncompressed (`STORAGE EXTERNAL`, set by the
    migration: SQLAlchemy does not model it)."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PendingUpload(Base):
    """A file sent to an object store (FILE_STORE=s3) whose row is not committed yet:
    written, in its own transaction, before the file is sent, and removed in the transaction
    that keeps it. One left behind (that transaction rolled back, or its process killed)
    names a file nothing holds, which the worker deletes (`file_store.sweep`)."""

    __tablename__ = "pending_uploads"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)


class TextState(enum.StrEnum):
    pending = "pending"  # the worker has not read it yet
    ready = "ready"
    failed = "failed"  # unreadable within the limits: kept, downloadable, not searchable


class Resume(Base):
    """A file a candidate uploaded. Never changed once stored: a new version is a new
    résumé, so an application always points at the file the candidate sent."""

    __tablename__ = "resumes"
    __table_args__ = (
        Index(
            "ix_resumes_candidate_id_id",
            "candidate_id",
            text("id DESC"),
            postgresql_where=text("removed_at IS NULL"),
        ),
        Index("ix_resumes_search", "search", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE")
    )
    file_name: Mapped[str] = mapped_column(String(FILE_NAME_MAX_LENGTH))
    media_type: Mapped[str] = mapped_column(String(MEDIA_TYPE_MAX_LENGTH))
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    # Where the file store keeps the bytes (its own key; for the database store, an id).
    file_key: Mapped[str] = mapped_column(String(200))
    text_state: Mapped[TextState] = mapped_column(
        Enum(
            TextState,
            name="resume_text_state",
            values_callable=lambda states: [s.value for s in states],
        ),
        server_default=TextState.pending.value,
    )
    text: Mapped[str | None] = mapped_column(Text, deferred=True, deferred_raiseload=True)
    search: Mapped[str | None] = mapped_column(TSVECTOR, deferred=True, deferred_raiseload=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Removed from the candidate's list while applications still hold it (their employers
    # keep the file they were sent); deleted outright when none does.
    removed_at: Mapped[datetime | None]


class CandidateProfile(TimestampMixin, Base):
    """What a candidate says about themselves, which employers they apply to read."""

    __tablename__ = "candidate_profiles"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    headline: Mapped[str] = mapped_column(String(HEADLINE_MAX_LENGTH), server_default="")
    summary: Mapped[str] = mapped_column(Text, server_default="")
    skills: Mapped[list[str]] = mapped_column(
        ARRAY(String(TAG_MAX_LENGTH)), server_default=text("'{}'::varchar[]")
    )
    links: Mapped[list[str]] = mapped_column(
        ARRAY(String(WEBSITE_MAX_LENGTH)), server_default=text("'{}'::varchar[]")
    )
    location: Mapped[str] = mapped_column(String(PROFILE_LOCATION_MAX_LENGTH), server_default="")
    work_authorization: Mapped[str] = mapped_column(
        String(WORK_AUTHORIZATION_MAX_LENGTH), server_default=""
    )
    open_to_remote: Mapped[bool] = mapped_column(server_default=text("false"))
