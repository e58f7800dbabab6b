"""The task queue's tables and functions (procrastinate), and the record of mail sent.

Revision ID: 0006_task_queue
Revises: 0005_email_skeletons
Create Date: 2026-11-23 19:00:00

procrastinate ships its whole schema as `schema.sql` in the package (for a new database)
and each release's changes as SQL files under `sql/migrations` (for an existing one). This
applies the schema of procrastinate 3.10.0, the version requirements.txt pins, and refuses
another: moving to a later release is a new migration that applies that release's files,
and this one must then keep building the 3.10.0 schema (the files up to 3.10.0 applied in
order give the same schema, in separate transactions: some add enum values).

sent_mails records each mail the SMTP server accepted, under the key of what it was for,
so that a task that runs again (a retry, or a worker that died after sending) does not
send it twice. Expand only: new tables, nothing the running version reads.
"""

from collections.abc import Sequence
from importlib import metadata, resources

import sqlalchemy as sa

from alembic import op

revision: str = "0006_task_queue"
down_revision: str | None = "0005_email_skeletons"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The procrastinate release whose schema this applies; requirements.txt pins it.
QUEUE_VERSION = "3.10.0"

# Everything procrastinate created, whatever its version: its tables (with their triggers),
# then its functions and types, found by their common prefix.
DROP_QUEUE = """
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN SELECT tablename FROM pg_tables
                WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%'
    LOOP
        EXECUTE format('DROP TABLE %I CASCADE', item.tablename);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc AS p
                WHERE p.pronamespace = current_schema()::regnamespace
                  AND p.proname LIKE 'procrastinate\\_%'
    LOOP
        EXECUTE format('DROP ROUTINE %s CASCADE', item.signature);
    END LOOP;
    FOR item IN SELECT t.typname FROM pg_type AS t
                WHERE t.typnamespace = current_schema()::regnamespace
                  AND t.typname LIKE 'procrastinate\\_%' AND t.typtype IN ('e', 'c')
    LOOP
        EXECUTE format('DROP TYPE %I CASCADE', item.typname);
    END LOOP;
END;
$$;
"""


def _run_script(script: str) -> None:
    # The files hold many statements and % signs: sent as they are, with no parameters.
    op.get_bind().connection.cursor().execute(script)


def upgrade() -> None:
    installed = metadata.version("procrastinate")
    if installed != QUEUE_VERSION:
        raise RuntimeError(
            f"this migration applies procrastinate {QUEUE_VERSION}'s schema, but {installed} "
            "is installed: see this migration's docstring"
        )
    schema = resources.files("procrastinate.sql").joinpath("schema.sql")
    _run_script(schema.read_text(encoding="utf-8"))
    op.create_table(
        "sent_mails",
        sa.Column("key", sa.String(length=200), primary_key=True),
        sa.Column(
            "sent_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_table("sent_mails")
    _run_script(DROP_QUEUE)
