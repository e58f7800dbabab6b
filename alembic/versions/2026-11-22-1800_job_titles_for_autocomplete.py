"""Distinct published job titles for autocomplete.

Revision ID: 0004_job_titles
Revises: 0003_job_board
Create Date: 2026-11-22 18:00:00

Autocomplete used to group every matching job by title: its cost grew with the number of
jobs. job_titles holds each title of a published job once, with how many published jobs
carry it, kept by statement-level triggers (one aggregate per statement, so COPY of a
million rows costs one upsert per distinct title). The GIN index on job title words moves
to job_titles; a partial index on jobs(title) lets autocomplete check that a title still
has a visible job.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004_job_titles"
down_revision: str | None = "0003_job_board"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNT_FUNCTION = """
CREATE FUNCTION job_titles_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE job_titles AS t
        SET published_count = t.published_count - gone.n
        FROM (
            SELECT title, count(*) AS n FROM old_rows WHERE status = 'published' GROUP BY title
        ) AS gone
        WHERE t.title = gone.title;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO job_titles AS t (title, published_count)
        SELECT title, count(*) FROM new_rows WHERE status = 'published' GROUP BY title
        ORDER BY title
        ON CONFLICT (title) DO UPDATE
            SET published_count = t.published_count + excluded.published_count;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER job_titles_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION job_titles_count();
CREATE TRIGGER job_titles_update AFTER UPDATE ON jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION job_titles_count();
CREATE TRIGGER job_titles_delete AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION job_titles_count();
"""


def upgrade() -> None:
    op.create_table(
        "job_titles",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("published_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("title", name=op.f("pk_job_titles")),
    )
    op.create_index(
        "ix_job_titles_words",
        "job_titles",
        [sa.text("to_tsvector('simple'::regconfig, title)")],
        postgresql_using="gin",
    )
    # The triggers first, then the backfill: creating them locks jobs against writes until
    # this migration commits, so no job written meanwhile is missed or counted twice.
    op.execute(COUNT_FUNCTION)
    op.execute(
        "INSERT INTO job_titles (title, published_count) "
        "SELECT title, count(*) FROM jobs WHERE status = 'published' GROUP BY title"
    )
    op.create_index(
        "ix_jobs_title_published",
        "jobs",
        ["title"],
        postgresql_where=sa.text("status = 'published'"),
    )
    op.drop_index("ix_jobs_title_words", table_name="jobs")


def downgrade() -> None:
    op.create_index(
        "ix_jobs_title_words",
        "jobs",
        [sa.text("to_tsvector('simple'::regconfig, title)")],
        postgresql_using="gin",
    )
    op.drop_index("ix_jobs_title_published", table_name="jobs")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER job_titles_{event} ON jobs")
    op.execute("DROP FUNCTION job_titles_count()")
    op.drop_table("job_titles")
