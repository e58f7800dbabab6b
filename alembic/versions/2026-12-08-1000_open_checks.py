"""Jobs that are really open: when a job's employer last confirmed it open, and when they
were asked to.

Revision ID: 0018_open_checks
Revises: 0017_verified_companies
Create Date: 2026-12-08 10:00:00

Expand only, nothing rewritten and nothing backfilled:

- `jobs.confirmed_open_at` and `jobs.open_check_sent_at`, nullable, added without a
  rewrite, each `ALTER TABLE` holding the table's lock for a moment within the 5 s lock
  timeout `migrate` sets. A job never confirmed is taken as confirmed when it was
  published (`COALESCE(confirmed_open_at, published_at)`), so existing rows need no value;
- the two partial indexes the hourly open checks read, built CONCURRENTLY (writes go on).
  The first covers every published job; the second holds no row until a check is sent.

An older release still running never reads the columns; where it publishes a job again it
leaves them as they were, so the job is asked about as its last confirmation says.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from backend.db.online_ddl import create_index_concurrently, drop_index_concurrently

revision: str = "0018_open_checks"
down_revision: str | None = "0017_verified_companies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("confirmed_open_at", sa.DateTime(timezone=True)))
    op.add_column("jobs", sa.Column("open_check_sent_at", sa.DateTime(timezone=True)))
    create_index_concurrently(
        "ix_jobs_open_check_due",
        "jobs",
        [sa.text("COALESCE(confirmed_open_at, published_at)")],
        postgresql_where=sa.text("status = 'published' AND open_check_sent_at IS NULL"),
    )
    create_index_concurrently(
        "ix_jobs_open_check_sent",
        "jobs",
        ["open_check_sent_at"],
        postgresql_where=sa.text("status = 'published' AND open_check_sent_at IS NOT NULL"),
    )


def downgrade() -> None:
    drop_index_concurrently("ix_jobs_open_check_sent")
    drop_index_concurrently("ix_jobs_open_check_due")
    op.drop_column("jobs", "open_check_sent_at")
    op.drop_column("jobs", "confirmed_open_at")
