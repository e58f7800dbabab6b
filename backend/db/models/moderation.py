"""The record of moderators' decisions on the jobs held for review."""

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Identity, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base

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
