from datetime import datetime

from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base

# procrastinate's tables and functions (the task queue) are created by a migration from
# the package's own SQL, not from models: schema comparisons leave them out by this prefix.
QUEUE_PREFIX = "procrastinate_"


def belongs_to_queue(name: str | None) -> bool:
    """Whether a table, index or constraint name is one of the task queue's."""
    return name is not None and name.startswith(QUEUE_PREFIX)


class SentMail(Base):
    """A mail the SMTP server accepted, under the key of what it was for (sent once)."""

    __tablename__ = "sent_mails"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(server_default=func.now())
