import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, LargeBinary, String, func, text
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


class PasswordResetToken(Base):
    """A single-use password reset token, stored only as its SHA-256."""

    __tablename__ = "password_reset_tokens"
    __table_args__ = (Index("ix_password_reset_tokens_user_id", "user_id"),)

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # The account's security_generation when the link was asked for: it works only while
    # the account's is the same.
    generation: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class AuthAttempt(Base):
    """One counted event for throttling: a failed sign-in, or a rate-limited request.

    `kind` says what is counted and `key` for whom (a lowercased email or a client address).
    Kept in PostgreSQL so that every API replica sees the same counts.
    """

    __tablename__ = "auth_attempts"
    __table_args__ = (
        Index("ix_auth_attempts_kind_key_created_at", "kind", "key", "created_at"),
        Index("ix_auth_attempts_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
