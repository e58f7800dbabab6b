"""Jobs published from an applicant-tracking system, known by that system's id.

Revision ID: 0028_external_job_ids
Revises: 0027_pending_uploads
Create Date: 2026-12-10 11:00:00

Expand only: a nullable column on `jobs` (added without a rewrite, the table's lock held
for a moment within the 5 s lock timeout `migrate` sets), and a partial unique index on
it built CONCURRENTLY, outside the migration's transaction, so that writes to `jobs` never
wait for the build. Every existing job has no external id: the index starts empty. An
older release still running never reads or writes the column.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from backend.db.online_ddl import create_index_concurrently, drop_index_concurrently

revision: str = "0028_external_job_ids"
down_revision: str | None = "0027_pending_uploads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("external_id", sa.String(length=100), nullable=True))
    create_index_concurrently(
        "uq_jobs_company_id_external_id",
        "jobs",
        ["company_id", "external_id"],
        unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )


def downgrade() -> None:
    drop_index_concurrently("uq_jobs_company_id_external_id")
    op.drop_column("jobs", "external_id")
