import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base


class RefreshToken(Base):
    """A refresh token, stored only as its SHA-256; spent tokens are kept to detect replay."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_session_id", "session_id"),)

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    spent_at: Mapped[datetime | None]
