"""Files sent to an object store whose rows are not committed yet.

Revision ID: 0027_pending_uploads
Revises: 0026_pipelines_and_screening
Create Date: 2026-12-10 10:00:00

Expand only: a new, empty table. An older release still running keeps its files in the
database and never reads it.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0027_pending_uploads"
down_revision: str | None = "0026_pipelines_and_screening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_uploads",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("key", name="pk_pending_uploads"),
    )
    op.create_index("ix_pending_uploads_created_at", "pending_uploads", ["created_at"])


def downgrade() -> None:
    op.drop_table("pending_uploads")
