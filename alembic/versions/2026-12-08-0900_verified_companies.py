"""Verified companies: the domain a company proved a mailbox at, and when.

Revision ID: 0017_verified_companies
Revises: 0016_job_comments
Create Date: 2026-12-08 09:00:00

Expand only: two nullable columns on `companies`, which PostgreSQL adds without a rewrite,
each `ALTER TABLE` holding the table's lock for a moment within the 5 s lock timeout
`migrate` sets. An older release still running never reads or writes them.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0017_verified_companies"
down_revision: str | None = "0016_job_comments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("companies", sa.Column("verified_domain", sa.String(length=253), nullable=True))
    op.add_column("companies", sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("companies", "verified_at")
    op.drop_column("companies", "verified_domain")
