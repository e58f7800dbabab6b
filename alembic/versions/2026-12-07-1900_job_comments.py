"""The thread of each job between its poster and the moderators.

Revision ID: 0016_job_comments
Revises: 0015_banned_domains
Create Date: 2026-12-07 19:00:00

Expand only: a new, empty table and its indexes. Nothing an older release reads changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0016_job_comments"
down_revision: str | None = "0015_banned_domains"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_comments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("by_moderator", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_job_comments_job_id_jobs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name="fk_job_comments_author_id_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_job_comments"),
    )
    op.create_index("ix_job_comments_job_id_id", "job_comments", ["job_id", "id"])
    op.create_index("ix_job_comments_author_id", "job_comments", ["author_id"])


def downgrade() -> None:
    op.drop_table("job_comments")
