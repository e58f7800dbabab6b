"""Jobs users bookmark.

Revision ID: 0033_saved_jobs
Revises: 0032_webhooks
Create Date: 2026-12-12 09:00:00

Expand only: a new, empty table. Its foreign keys take a brief lock on `users` and `jobs`
(under the migration's lock timeout); an older release still running never reads it.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0033_saved_jobs"
down_revision: str | None = "0032_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_jobs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_saved_jobs_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_saved_jobs_job_id_jobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_saved_jobs"),
        sa.UniqueConstraint("user_id", "job_id", name="uq_saved_jobs_user_id_job_id"),
    )
    op.create_index("ix_saved_jobs_user_id_id", "saved_jobs", ["user_id", sa.text("id DESC")])
    op.create_index("ix_saved_jobs_job_id", "saved_jobs", ["job_id"])


def downgrade() -> None:
    op.drop_table("saved_jobs")
