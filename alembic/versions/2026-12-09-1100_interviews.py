"""Interviews proposed for applications, and what happened to each on the timeline.

Revision ID: 0023_interviews
Revises: 0022_application_timeline
Create Date: 2026-12-09 11:00:00

Expand only: a new, empty table with its indexes, and a nullable column on
`application_events` (added without a rewrite, the table's lock held for a moment within
the 5 s lock timeout `migrate` sets). An older release still running never reads or
writes any of it.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0023_interviews"
down_revision: str | None = "0022_application_timeline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("application_events", sa.Column("detail", sa.String(length=20), nullable=True))
    op.create_table(
        "interviews",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("application_id", sa.BigInteger(), nullable=False),
        sa.Column("proposed_by", sa.BigInteger(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("state", sa.String(length=20), server_default="proposed", nullable=False),
        sa.Column("sequence", sa.Integer(), server_default=sa.text("0"), nullable=False),
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
            ["application_id"],
            ["applications.id"],
            name="fk_interviews_application_id_applications",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"],
            ["users.id"],
            name="fk_interviews_proposed_by_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_interviews"),
    )
    op.create_index("ix_interviews_application_id_id", "interviews", ["application_id", "id"])
    op.create_index("ix_interviews_proposed_by", "interviews", ["proposed_by"])


def downgrade() -> None:
    op.drop_table("interviews")
    op.drop_column("application_events", "detail")
