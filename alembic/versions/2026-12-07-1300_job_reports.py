"""Reports of public jobs: anyone's, open until a moderator decides on the job.

Revision ID: 0013_job_reports
Revises: 0012_moderation
Create Date: 2026-12-07 13:00:00

Expand only: a new enum and a new, empty table with its indexes (built at once, being
empty). Nothing an older release reads changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0013_job_reports"
down_revision: str | None = "0012_moderation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    reason = postgresql.ENUM(
        "scam", "spam", "discriminatory", "wrong_information", "filled", name="report_reason"
    )
    reason.create(op.get_bind())
    op.create_table(
        "job_reports",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("reporter_id", sa.BigInteger(), nullable=True),
        sa.Column("address_key", sa.String(length=64), nullable=False),
        sa.Column(
            "reason", postgresql.ENUM(name="report_reason", create_type=False), nullable=False
        ),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_job_reports_job_id_jobs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
            name="fk_job_reports_reporter_id_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_job_reports"),
    )
    op.create_index(
        "uq_job_reports_open_by_account",
        "job_reports",
        ["job_id", "reporter_id"],
        unique=True,
        postgresql_where=sa.text("reporter_id IS NOT NULL AND resolved_at IS NULL"),
    )
    op.create_index(
        "uq_job_reports_open_by_address",
        "job_reports",
        ["job_id", "address_key"],
        unique=True,
        postgresql_where=sa.text("reporter_id IS NULL AND resolved_at IS NULL"),
    )
    op.create_index("ix_job_reports_reporter_id", "job_reports", ["reporter_id"])


def downgrade() -> None:
    op.drop_table("job_reports")
    op.execute("DROP TYPE IF EXISTS report_reason")
