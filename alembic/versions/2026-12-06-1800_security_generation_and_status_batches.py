"""Mailed links bound to the account's security generation; candidates' status mails in
batches.

Revision ID: 0009_security_generation
Revises: 0008_job_expiry_notices
Create Date: 2026-12-06 18:00:00

Expand only: four columns, each nullable or with a constant default, so PostgreSQL adds
them without rewriting or scanning a table (each `ALTER TABLE` holds its table's lock for
a moment, within the 5 s lock timeout `migrate` sets). The running version never reads
them; its inserts take the defaults. No index: the status batch reads a candidate's
applications through `ix_applications_candidate_id_id`.

Links mailed before this version carry no generation and stop working (confirmation links
live for hours; an unsubscribe link's reader can turn mail off from their settings).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0009_security_generation"
down_revision: str | None = "0008_job_expiry_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPLICATION_STATUS = postgresql.ENUM(name="application_status", create_type=False)


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column(
            "security_generation", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
    )
    op.add_column(
        "password_reset_tokens",
        sa.Column("generation", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "applications",
        sa.Column(
            "candidate_notify_pending",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
        ),
    )
    op.add_column("applications", sa.Column("status_told", APPLICATION_STATUS, nullable=True))


def downgrade() -> None:
    op.drop_column("applications", "status_told")
    op.drop_column("applications", "candidate_notify_pending")
    op.drop_column("password_reset_tokens", "generation")
    op.drop_column("users", "security_generation")
