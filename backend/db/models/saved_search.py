import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TimestampMixin

SAVED_SEARCH_NAME_MAX_LENGTH = 100


class AlertFrequency(enum.StrEnum):
    daily = "daily"
    weekly = "weekly"


class SavedSearch(TimestampMixin, Base):
    """A job search a user keeps, mailed as an alert of the jobs it newly matches."""

    __tablename__ = "saved_searches"
    __table_args__ = (
        Index("ix_saved_searches_user_id_id", "user_id", text("id DESC")),
        # The alert run finds the due searches through this.
        Index("ix_saved_searches_next_alert_at", "next_alert_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(SAVED_SEARCH_NAME_MAX_LENGTH))
    # The search as GET /jobs takes it (backend.schemas.job.JobSearch, as JSON).
    query: Mapped[dict[str, Any]] = mapped_column(JSONB)
    frequency: Mapped[AlertFrequency] = mapped_column(
        Enum(
            AlertFrequency,
            name="alert_frequency",
            values_callable=lambda values: [v.value for v in values],
        )
    )
    # Jobs published before this were considered by an earlier alert (or predate the
    # search); the next alert covers from here to its own run.
    alerted_through: Mapped[datetime]
    next_alert_at: Mapped[datetime]
