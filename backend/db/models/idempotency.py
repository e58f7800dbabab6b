from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base

IDEMPOTENCY_KEY_MAX_LENGTH = 200


class IdempotencyKey(Base):
    """A POST made with an `Idempotency-Key`: written in the transaction of the change it
    asked for, with the answer that change gave, so that a retry with the same key gets
    that answer again and changes nothing (see services.idempotency)."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(IDEMPOTENCY_KEY_MAX_LENGTH), primary_key=True)
    # What the request was (its method, path and body, hashed): the same key with another
    # request is refused.
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    etag: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
