"""How each company answers applications, as the worker computes it daily.

Revision ID: 0024_company_responsiveness
Revises: 0023_interviews
Create Date: 2026-12-09 12:00:00

Expand only: a new, empty table. An older release still running never reads it.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0024_company_responsiveness"
down_revision: str | None = "0023_interviews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "company_responsiveness",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("applications", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("median_seconds", sa.Float(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name="fk_company_responsiveness_company_id_companies",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("company_id", name="pk_company_responsiveness"),
    )


def downgrade() -> None:
    op.drop_table("company_responsiveness")
