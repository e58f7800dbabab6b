"""A job's blind first pass: the setting, and when an application was revealed.

Revision ID: 0025_blind_review
Revises: 0024_company_responsiveness
Create Date: 2026-12-09 13:00:00

Expand only: a new, empty table, and a nullable column on `applications` (added without
a rewrite, the table's lock held for a moment within the 5 s lock timeout `migrate`
sets). An older release still running never reads or writes either; while it runs, it
shows blind jobs' applicants as it always did.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0025_blind_review"
down_revision: str | None = "0024_company_responsiveness"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "applications", sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "job_review_settings",
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("blind", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_job_review_settings_job_id_jobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", name="pk_job_review_settings"),
    )


def downgrade() -> None:
    op.drop_table("job_review_settings")
    op.drop_column("applications", "revealed_at")
