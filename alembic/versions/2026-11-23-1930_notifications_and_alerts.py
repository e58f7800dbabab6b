"""Verified email, notification settings, applicants to notify, and saved searches.

Revision ID: 0007_notifications
Revises: 0006_task_queue
Create Date: 2026-11-23 19:30:00

Expand only. New columns have constant defaults (no table rewrite) or are nullable, so the
running version keeps inserting users and applications while this applies:
- users.email_verified_at: accounts that exist before verification was asked for count as
  verified (set to when they were created, in batches); an account the running version
  registers after this ran is unverified and can ask for a link
  (`POST /auth/verify-email/resend`);
- users.notify_*: every notification on;
- applications.owner_notify_pending: false for existing applications (their owners are not
  mailed of applications from before notifications existed), true from the new version.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0007_notifications"
down_revision: str | None = "0006_task_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    op.add_column("users", sa.Column("email_verified_at", sa.DateTime(timezone=True)))
    for kind in ("new_applicants", "application_status", "job_alerts"):
        op.add_column(
            "users",
            sa.Column(
                f"notify_{kind}", sa.Boolean(), server_default=sa.text("true"), nullable=False
            ),
        )
    connection = op.get_bind()
    last_id = 0
    while True:
        last = connection.execute(
            sa.text(
                "SELECT max(id) FROM (SELECT id FROM users WHERE id > :last ORDER BY id "
                "LIMIT :batch) AS batch"
            ),
            {"last": last_id, "batch": BATCH},
        ).scalar_one()
        if last is None:
            break
        connection.execute(
            sa.text(
                "UPDATE users SET email_verified_at = created_at "
                "WHERE id > :first AND id <= :last AND email_verified_at IS NULL"
            ),
            {"first": last_id, "last": last},
        )
        last_id = last

    op.add_column(
        "applications",
        sa.Column(
            "owner_notify_pending", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.create_index(
        "ix_applications_owner_notify_pending",
        "applications",
        ["job_id"],
        postgresql_where=sa.text("owner_notify_pending"),
    )

    frequency = postgresql.ENUM("daily", "weekly", name="alert_frequency", create_type=False)
    frequency.create(connection)
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "user_id",
            sa.BigInteger(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_saved_searches_user_id_users"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", postgresql.JSONB(), nullable=False),
        sa.Column("frequency", frequency, nullable=False),
        sa.Column("alerted_through", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_alert_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_saved_searches"),
    )
    op.create_index(
        "ix_saved_searches_user_id_id", "saved_searches", ["user_id", sa.text("id DESC")]
    )
    op.create_index("ix_saved_searches_next_alert_at", "saved_searches", ["next_alert_at"])


def downgrade() -> None:
    op.drop_table("saved_searches")
    postgresql.ENUM(name="alert_frequency").drop(op.get_bind())
    op.drop_index("ix_applications_owner_notify_pending", table_name="applications")
    op.drop_column("applications", "owner_notify_pending")
    for kind in ("new_applicants", "application_status", "job_alerts"):
        op.drop_column("users", f"notify_{kind}")
    op.drop_column("users", "email_verified_at")
