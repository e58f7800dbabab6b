"""Edits of published jobs held for review while the job stays on the board as it was.

Revision ID: 0020_job_revisions
Revises: 0019_title_trigrams
Create Date: 2026-12-08 12:00:00

Expand only: a new, empty table and its indexes (the existing enum `job_decision` names
its decision). Nothing an older release reads changes; an older release still running
applies an edit at once, as it always did.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0020_job_revisions"
down_revision: str | None = "0019_title_trigrams"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_revisions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("poster_id", sa.BigInteger(), nullable=True),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "signals",
            postgresql.ARRAY(sa.String(length=40)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column(
            "decision", postgresql.ENUM(name="job_decision", create_type=False), nullable=True
        ),
        sa.Column(
            "reasons",
            postgresql.ARRAY(sa.String(length=40)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_job_revisions_job_id_jobs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["poster_id"],
            ["users.id"],
            name="fk_job_revisions_poster_id_users",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name="fk_job_revisions_decided_by_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_job_revisions"),
    )
    op.create_index(
        "uq_job_revisions_waiting",
        "job_revisions",
        ["job_id"],
        unique=True,
        postgresql_where=sa.text("decided_at IS NULL"),
    )
    op.create_index("ix_job_revisions_job_id_id", "job_revisions", ["job_id", "id"])
    op.create_index(
        "ix_job_revisions_queue",
        "job_revisions",
        ["created_at", "id"],
        postgresql_where=sa.text("decided_at IS NULL"),
    )
    op.create_index("ix_job_revisions_poster_id", "job_revisions", ["poster_id"])
    op.create_index("ix_job_revisions_decided_by", "job_revisions", ["decided_by"])


def downgrade() -> None:
    op.drop_table("job_revisions")
