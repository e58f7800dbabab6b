from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, func
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from backend.db.base import Base


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (`xid8`), which never wraps around."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "xid8"


class PgSnapshot(UserDefinedType[str]):
    """A PostgreSQL snapshot (`pg_snapshot`): which transactions it sees as committed."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "pg_snapshot"


class SearchOutboxEntry(Base):
    """A change to what a job's search document holds: `job_id` inserted, updated or
    deleted, or (`job_id` NULL) every job at once (a truncate). Written by triggers on jobs
    (migration 0011); the search engine's indexer reads the entries its last snapshot did
    not see (see backend.db.repository.search_outbox)."""

    __tablename__ = "search_outbox"
    __table_args__ = (
        Index("ix_search_outbox_xid_id", "xid", "id"),
        Index("ix_search_outbox_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    xid: Mapped[int] = mapped_column(Xid8, server_default=func.pg_current_xact_id())
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
