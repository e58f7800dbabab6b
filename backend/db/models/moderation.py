"""The record of moderators' decisions on the jobs held for review."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Identity, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TimestampMixin
from backend.db.models.company import DOMAIN_MAX_LENGTH

DECISION_NOTE_MAX_LENGTH = 2000
REASON_MAX_LENGTH = 40


class Decision(enum.StrEnum):
    approved = "approved"
    rejected = "rejected"
    # Sent back to its owner as a draft, with the note saying what to change.
    changes_requested = "changes_requested"


class RejectionReason(enum.StrEnum):
    """Why a job was rejected or sent back; `other` says it in the note."""

    spam = "spam"
    scam = "scam"
    misleading = "misleading"
    discriminatory = "discriminatory"
    incomplete = "incomplete"
    duplicate = "duplicate"
    not_a_job = "not_a_job"
    other = "other"


class JobDecision(Base):
    """One decision on one job: who, when, what and why. Never changed once written."""

    __tablename__ = "job_decisions"
    __table_args__ = (
        Index("ix_job_decisions_job_id_id", "job_id", "id"),
        Index("ix_job_decisions_moderator_id", "moderator_id"),
        Index("ix_job_decisions_poster_id_decision", "poster_id", "decision"),
        # Reposts of what was rejected lately are looked for among these.
        Index(
            "ix_job_decisions_rejected_created_at",
            "created_at",
            postgresql_where=text("decision = 'rejected'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jobs.id", ondelete="CASCADE"))
    # NULL once the moderator's account is gone; the decision stays.
    moderator_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    # The job's owner then (its company's owner), whose record the decision counts in.
    poster_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    decision: Mapped[Decision] = mapped_column(
        Enum(Decision, name="job_decision", values_callable=lambda kinds: [k.value for k in kinds])
    )
    reasons: Mapped[list[str]] = mapped_column(
        ARRAY(String(REASON_MAX_LENGTH)), server_default=text("'{}'::varchar[]")
    )
    note: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class JobRevision(TimestampMixin, Base):
    """An edit of a published job held for a moderator's decision, while the job stays on
    the board as it was (backend.services.revisions). At most one waits per job; a later
    edit is merged into it. Decided, it is the record of the decision (who, when, what,
    why); withdrawn by its poster, or its job leaving the board, it is deleted."""

    __tablename__ = "job_revisions"
    __table_args__ = (
        Index(
            "uq_job_revisions_waiting",
            "job_id",
            unique=True,
            postgresql_where=text("decided_at IS NULL"),
        ),
        Index("ix_job_revisions_job_id_id", "job_id", "id"),
        # The moderators' queue of edits, the longest waiting first.
        Index(
            "ix_job_revisions_queue",
            "created_at",
            "id",
            postgresql_where=text("decided_at IS NULL"),
        ),
        Index("ix_job_revisions_poster_id", "poster_id"),
        Index("ix_job_revisions_decided_by", "decided_by"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jobs.id", ondelete="CASCADE"))
    poster_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    # The fields the edit changes, as the API took them (JSON values).
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The scam and spam signals the edited job raised (backend.services.signals).
    signals: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), server_default=text("'{}'::varchar[]")
    )
    decision: Mapped[Decision | None] = mapped_column(
        Enum(
            Decision,
            name="job_decision",
            create_type=False,
            values_callable=lambda kinds: [k.value for k in kinds],
        )
    )
    reasons: Mapped[list[str]] = mapped_column(
        ARRAY(String(REASON_MAX_LENGTH)), server_default=text("'{}'::varchar[]")
    )
    note: Mapped[str] = mapped_column(Text, server_default="")
    decided_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]


REPORT_NOTE_MAX_LENGTH = 1000


class ReportReason(enum.StrEnum):
    scam = "scam"
    spam = "spam"
    discriminatory = "discriminatory"
    wrong_information = "wrong_information"
    # Already filled or closed: told to moderators, never enough to hide the job.
    filled = "filled"


class JobReport(Base):
    """Someone's report of a public job. Open until a moderator decides on the job; enough
    open reports (other than "filled") from different people hold the job for review."""

    __tablename__ = "job_reports"
    __table_args__ = (
        # One open report a job per account, and per address for the signed out.
        Index(
            "uq_job_reports_open_by_account",
            "job_id",
            "reporter_id",
            unique=True,
            postgresql_where=text("reporter_id IS NOT NULL AND resolved_at IS NULL"),
        ),
        Index(
            "uq_job_reports_open_by_address",
            "job_id",
            "address_key",
            unique=True,
            postgresql_where=text("reporter_id IS NULL AND resolved_at IS NULL"),
        ),
        Index("ix_job_reports_reporter_id", "reporter_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jobs.id", ondelete="CASCADE"))
    # NULL for a report made signed out (or once the account is gone).
    reporter_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    # A keyed digest of the client address (backend.services.reports): the address itself
    # is not kept.
    address_key: Mapped[str] = mapped_column(String(64))
    reason: Mapped[ReportReason] = mapped_column(
        Enum(ReportReason, name="report_reason", values_callable=lambda ks: [k.value for k in ks])
    )
    note: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # When a moderator's decision on the job answered it.
    resolved_at: Mapped[datetime | None]


BAN_REASON_MAX_LENGTH = 1000


class BannedDomain(Base):
    """A registrable domain whose jobs the board refuses: a poster's address on it, or a
    company website on it (backend.services.moderation.check_not_banned)."""

    __tablename__ = "banned_domains"
    __table_args__ = (Index("ix_banned_domains_banned_by", "banned_by"),)

    domain: Mapped[str] = mapped_column(String(DOMAIN_MAX_LENGTH), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, server_default="")
    banned_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


COMMENT_MAX_LENGTH = 2000


class JobComment(Base):
    """A comment in a job's thread between its poster and the moderators."""

    __tablename__ = "job_comments"
    __table_args__ = (
        Index("ix_job_comments_job_id_id", "job_id", "id"),
        Index("ix_job_comments_author_id", "author_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jobs.id", ondelete="CASCADE"))
    # NULL once the account is gone; the comment stays.
    author_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    # Written by a moderator (or an admin), else by the job's poster.
    by_moderator: Mapped[bool]
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
