"""Moderation: jobs held for review, moderators, companies' review policies, and the record
of decisions.

Revision ID: 0012_moderation
Revises: 0011_search_outbox
Create Date: 2026-12-07 11:00:00

Expand only, nothing rewritten:

- new enum values, each committed on its own (`ALTER TYPE ... ADD VALUE` outside the
  migration's transaction, since a value cannot be used in the transaction that adds it):
  `user_role` 'moderator', `job_status` 'pending' and 'rejected';
- `jobs.submitted_at`, nullable: no rewrite;
- `companies.review_policy`, NOT NULL with a constant default: PostgreSQL 11 and later
  keep the default in the catalogue, so no rewrite either; each `ALTER TABLE` takes its
  table's lock for a moment, within the 5 s lock timeout `migrate` sets;
- the table `job_decisions`, new and empty;
- the moderators' queue index on jobs (held jobs, oldest first), built CONCURRENTLY after
  the values it names are committed; it holds no rows until this release holds a job.

A release before this one, still running during a rolling upgrade, never writes the new
values; it fails to read a job or an account that has one (a held job, a moderator), which
only this release makes. Downgrade drops what was added except the enum values, which
PostgreSQL cannot drop (the older release never meets them once the rows holding them are
gone).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op
from backend.db.online_ddl import create_index_concurrently, drop_index_concurrently

revision: str = "0012_moderation"
down_revision: str | None = "0011_search_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_VALUES = (
    ("user_role", "moderator", "employer"),
    ("job_status", "pending", "draft"),
    ("job_status", "rejected", "closed"),
)


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for enum, value, after in NEW_VALUES:
            op.execute(f"ALTER TYPE {enum} ADD VALUE IF NOT EXISTS '{value}' AFTER '{after}'")
    op.add_column("jobs", sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
    review_policy = postgresql.ENUM("default", "always", "trusted", name="review_policy")
    review_policy.create(op.get_bind())
    op.add_column(
        "companies",
        sa.Column(
            "review_policy",
            postgresql.ENUM(name="review_policy", create_type=False),
            server_default="default",
            nullable=False,
        ),
    )
    decision = postgresql.ENUM("approved", "rejected", "changes_requested", name="job_decision")
    decision.create(op.get_bind())
    op.create_table(
        "job_decisions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("moderator_id", sa.BigInteger(), nullable=True),
        sa.Column("poster_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "decision",
            postgresql.ENUM(name="job_decision", create_type=False),
            nullable=False,
        ),
        sa.Column(
            "reasons",
            postgresql.ARRAY(sa.String(length=40)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_job_decisions_job_id_jobs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["users.id"],
            name="fk_job_decisions_moderator_id_users",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["poster_id"],
            ["users.id"],
            name="fk_job_decisions_poster_id_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_job_decisions"),
    )
    op.create_index("ix_job_decisions_job_id_id", "job_decisions", ["job_id", "id"])
    op.create_index("ix_job_decisions_moderator_id", "job_decisions", ["moderator_id"])
    op.create_index(
        "ix_job_decisions_poster_id_decision", "job_decisions", ["poster_id", "decision"]
    )
    create_index_concurrently(
        "ix_jobs_pending_queue",
        "jobs",
        ["submitted_at", "id"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    drop_index_concurrently("ix_jobs_pending_queue")
    op.drop_table("job_decisions")
    op.execute("DROP TYPE IF EXISTS job_decision")
    op.drop_column("companies", "review_policy")
    op.execute("DROP TYPE IF EXISTS review_policy")
    op.drop_column("jobs", "submitted_at")
