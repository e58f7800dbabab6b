"""Per-job pipelines (stages), screening questions and their answers, and the `hired`
status.

Revision ID: 0026_pipelines_and_screening
Revises: 0025_blind_review
Create Date: 2026-12-10 09:00:00

Expand only: a new value of the `application_status` type (a catalog change: no table is
rewritten or scanned), a new, empty table, and nullable columns on `applications`,
`application_events` and `job_review_settings` (added without a rewrite, each table's lock
held for a moment within the 5 s lock timeout `migrate` sets).

An older release still running never reads or writes the new columns and table. It does
read statuses: once a replica of this release marks an application `hired`, an older
replica that lists it fails that request. Nothing is hired before an employer does it on
the new release, so during a rolling restart (minutes) this is the one thing to expect;
when it matters, finish the rollout before telling employers of the `hired` stage.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0026_pipelines_and_screening"
down_revision: str | None = "0025_blind_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Allowed in a transaction since PostgreSQL 12; nothing here uses the value before the
    # transaction commits.
    op.execute("ALTER TYPE application_status ADD VALUE IF NOT EXISTS 'hired' BEFORE 'rejected'")
    op.add_column("applications", sa.Column("stage", sa.String(length=40), nullable=True))
    op.add_column("application_events", sa.Column("stage", sa.String(length=40), nullable=True))
    op.add_column(
        "job_review_settings",
        sa.Column("stages", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "job_review_settings",
        sa.Column("questions", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.create_table(
        "application_answers",
        sa.Column("application_id", sa.BigInteger(), nullable=False),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name="fk_application_answers_application_id_applications",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("application_id", name="pk_application_answers"),
    )


def downgrade() -> None:
    # The type keeps its `hired` value (PostgreSQL cannot drop one); an older release never
    # sets it.
    op.drop_table("application_answers")
    op.drop_column("job_review_settings", "questions")
    op.drop_column("job_review_settings", "stages")
    op.drop_column("application_events", "stage")
    op.drop_column("applications", "stage")
