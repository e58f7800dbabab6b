"""Scam and spam signals: what each job raised when last asked to be published, and an
index to find what was rejected lately.

Revision ID: 0014_job_signals
Revises: 0013_job_reports
Create Date: 2026-12-07 15:00:00

Expand only: `jobs.signals` is added with a constant default, which PostgreSQL 11 and
later keep in the catalogue (no rewrite; the `ALTER TABLE` holds the jobs table's lock
for a moment, within the 5 s lock timeout `migrate` sets); the partial index on
`job_decisions` is built CONCURRENTLY. The older release never reads either.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op
from backend.db.online_ddl import create_index_concurrently, drop_index_concurrently

revision: str = "0014_job_signals"
down_revision: str | None = "0013_job_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "jobs",
        sa.Column(
            "signals",
            postgresql.ARRAY(sa.String(length=40)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
    )
    create_index_concurrently(
        "ix_job_decisions_rejected_created_at",
        "job_decisions",
        ["created_at"],
        postgresql_where=sa.text("decision = 'rejected'"),
    )


def downgrade() -> None:
    drop_index_concurrently("ix_job_decisions_rejected_created_at")
    op.drop_column("jobs", "signals")
