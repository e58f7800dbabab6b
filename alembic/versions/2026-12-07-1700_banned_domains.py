"""Banned domains: addresses and websites whose jobs the board refuses.

Revision ID: 0015_banned_domains
Revises: 0014_job_signals
Create Date: 2026-12-07 17:00:00

Expand only: a new, empty table. Nothing an older release reads changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0015_banned_domains"
down_revision: str | None = "0014_job_signals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "banned_domains",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("banned_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["banned_by"],
            ["users.id"],
            name="fk_banned_domains_banned_by_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("domain", name="pk_banned_domains"),
    )
    op.create_index("ix_banned_domains_banned_by", "banned_domains", ["banned_by"])


def downgrade() -> None:
    op.drop_table("banned_domains")
