"""Declarative base with a constraint naming convention, so migrations are deterministic."""

from datetime import datetime

from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}  # noqa: RUF012
    # Server-side defaults (created_at, updated_at, ...) come back through RETURNING, so
    # nothing is ever lazily reloaded after a flush, which asyncio does not allow.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        # The moment of each change (not of its transaction), so that every change, even two
        # in one transaction, gives a new ETag.
        server_default=func.now(),
        onupdate=func.clock_timestamp(),
    )
