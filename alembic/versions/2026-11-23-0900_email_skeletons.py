"""Email skeletons: no two accounts with look-alike addresses.

Revision ID: 0005_email_skeletons
Revises: 0004_job_titles
Create Date: 2026-11-23 09:00:00

Expand only: a nullable column, filled for existing accounts, and a unique index on it.
The running version, which does not know the column, keeps registering accounts (with no
skeleton) while this applies and until the new version replaces it. Of existing accounts
whose addresses already look alike, the oldest gets the skeleton and the others keep none.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from backend.core.emails import skeleton

revision: str = "0005_email_skeletons"
down_revision: str | None = "0004_job_titles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    op.add_column("users", sa.Column("email_skeleton", sa.String(length=1280), nullable=True))
    connection = op.get_bind()
    taken: set[str] = set()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.text("SELECT id, email FROM users WHERE id > :last ORDER BY id LIMIT :batch"),
            {"last": last_id, "batch": BATCH},
        ).all()
        if not rows:
            break
        values = []
        for user_id, email in rows:
            value = skeleton(email)
            if value not in taken:
                taken.add(value)
                values.append({"id": user_id, "skeleton": value})
        if values:
            connection.execute(
                sa.text("UPDATE users SET email_skeleton = :skeleton WHERE id = :id"), values
            )
        last_id = rows[-1][0]
    op.create_index("uq_users_email_skeleton", "users", ["email_skeleton"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_email_skeleton", table_name="users")
    op.drop_column("users", "email_skeleton")
