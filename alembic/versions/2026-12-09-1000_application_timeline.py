"""Each application's timeline (submitted, viewed, moved, the employer's private notes),
when its employer first opened it, and why it was rejected.

Revision ID: 0022_application_timeline
Revises: 0021_resumes
Create Date: 2026-12-09 10:00:00

Expand only: a new, empty table with its indexes, and two nullable columns on
`applications` (added without a rewrite, the table's lock held for a moment within the
5 s lock timeout `migrate` sets). Applications made before this have no `submitted`
event: their timeline starts at what happens next, and `created_at` says when they came.
An older release still running never reads or writes any of it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0022_application_timeline"
down_revision: str | None = "0021_resumes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("applications", sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "applications", sa.Column("rejection_reason", sa.String(length=40), nullable=True)
    )
    op.create_table(
        "application_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("application_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column(
            "status",
            postgresql.ENUM(name="application_status", create_type=False),
            nullable=True,
        ),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name="fk_application_events_application_id_applications",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name="fk_application_events_actor_id_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_application_events"),
    )
    op.create_index(
        "ix_application_events_application_id_id",
        "application_events",
        ["application_id", "id"],
    )
    op.create_index("ix_application_events_actor_id", "application_events", ["actor_id"])


def downgrade() -> None:
    op.drop_table("application_events")
    op.drop_column("applications", "rejection_reason")
    op.drop_column("applications", "viewed_at")
