from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base


class SavedJob(Base):
    """A job a user bookmarked, to come back to."""

    __tablename__ = "saved_jobs"
    __table_args__ = (
        # One bookmark a user and job, however many saves arrive at once.
        UniqueConstraint("user_id", "job_id", name="uq_saved_jobs_user_id_job_id"),
        # A user's bookmarks, newest first.
        Index("ix_saved_jobs_user_id_id", "user_id", text("id DESC")),
        # A job's bookmarks go with it (ON DELETE CASCADE) through this.
        Index("ix_saved_jobs_job_id", "job_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jobs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
