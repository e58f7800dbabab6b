"""Companies, jobs with full-text search, and applications.

Revision ID: 0003_job_board
Revises: 0002_reset_and_throttling
Create Date: 2026-11-22 17:00:00

`jobs.search` is a weighted tsvector over the title (A), tags (B), company name (C) and
description (D). The company name lives in another table, so it cannot be a generated
column: a trigger on jobs computes it on insert and on change, and a trigger on
companies refreshes a company's jobs when the company is renamed. COPY fires them too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0003_job_board"
down_revision: str | None = "0002_reset_and_throttling"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

workplace = postgresql.ENUM("onsite", "remote", "hybrid", name="workplace", create_type=False)
employment_type = postgresql.ENUM(
    "full_time",
    "part_time",
    "contract",
    "internship",
    "temporary",
    name="employment_type",
    create_type=False,
)
job_status = postgresql.ENUM("draft", "published", "closed", name="job_status", create_type=False)
application_status = postgresql.ENUM(
    "submitted",
    "reviewing",
    "interviewing",
    "offered",
    "rejected",
    "withdrawn",
    name="application_status",
    create_type=False,
)
ENUMS = (workplace, employment_type, job_status, application_status)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


SEARCH_FUNCTIONS = """
CREATE FUNCTION jobs_search_vector(
    title text, tags varchar[], company_name text, description text
) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english', coalesce(title, '')), 'A')
        || setweight(to_tsvector('english', array_to_string(tags, ' ')), 'B')
        || setweight(to_tsvector('english', coalesce(company_name, '')), 'C')
        || setweight(to_tsvector('english', coalesce(description, '')), 'D')
$$;

CREATE FUNCTION jobs_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := jobs_search_vector(
        NEW.title,
        NEW.tags,
        (SELECT name FROM companies WHERE id = NEW.company_id),
        NEW.description
    );
    RETURN NEW;
END
$$;

CREATE TRIGGER jobs_search
    BEFORE INSERT OR UPDATE OF title, tags, description, company_id ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_search_refresh();

CREATE FUNCTION companies_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE jobs
    SET search = jobs_search_vector(title, tags, NEW.name, description)
    WHERE company_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER companies_search
    AFTER UPDATE OF name ON companies
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION companies_search_refresh();
"""


# pg_trgm may have been there before this migration (other software on the database needs
# it too): the migration marks the extension only when it created it (its comment reads
# "created by the jobboard migration 0003_job_board"), and the downgrade drops it only when
# so marked.


def upgrade() -> None:
    # Trusted since PostgreSQL 13: a database owner may create it.
    op.execute(
        """
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
                CREATE EXTENSION pg_trgm;
                COMMENT ON EXTENSION pg_trgm IS 'created by the jobboard migration 0003_job_board';
            END IF;
        END $$
        """
    )
    bind = op.get_bind()
    for enum in ENUMS:
        enum.create(bind)

    op.create_index(
        "ix_users_email_trgm",
        "users",
        [sa.text("lower(email) gin_trgm_ops")],
        postgresql_using="gin",
    )

    op.create_table(
        "companies",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("website", sa.String(length=2048), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_companies_owner_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
    )
    op.create_index("ix_companies_owner_id", "companies", ["owner_id"])

    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("workplace", workplace, nullable=False),
        sa.Column("employment_type", employment_type, nullable=False),
        sa.Column("salary_min", sa.Integer(), nullable=True),
        sa.Column("salary_max", sa.Integer(), nullable=True),
        sa.Column("salary_currency", sa.String(length=3), nullable=True),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.String(length=30)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column("status", job_status, server_default="draft", nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("search", postgresql.TSVECTOR(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "salary_min IS NULL OR salary_max IS NULL OR salary_min <= salary_max",
            name=op.f("ck_jobs_salary_range"),
        ),
        sa.CheckConstraint(
            "status <> 'published' OR published_at IS NOT NULL",
            name=op.f("ck_jobs_published_at_set"),
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_jobs_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    published = sa.text("status = 'published'")
    op.create_index("ix_jobs_company_id_id", "jobs", ["company_id", sa.text("id DESC")])
    op.create_index(
        "ix_jobs_published_newest",
        "jobs",
        [sa.text("published_at DESC"), sa.text("id DESC")],
        postgresql_where=published,
    )
    op.create_index(
        "ix_jobs_published_salary",
        "jobs",
        [
            sa.text("COALESCE(salary_max, salary_min) DESC NULLS LAST"),
            sa.text("published_at DESC"),
            sa.text("id DESC"),
        ],
        postgresql_where=published,
    )
    op.create_index(
        "ix_jobs_company_published",
        "jobs",
        ["company_id", sa.text("published_at DESC"), sa.text("id DESC")],
        postgresql_where=published,
    )
    op.create_index("ix_jobs_search", "jobs", ["search"], postgresql_using="gin")
    op.create_index("ix_jobs_tags", "jobs", ["tags"], postgresql_using="gin")
    op.create_index(
        "ix_jobs_location_trgm", "jobs", [sa.text("location gin_trgm_ops")], postgresql_using="gin"
    )
    op.create_index(
        "ix_jobs_title_words",
        "jobs",
        [sa.text("to_tsvector('simple'::regconfig, title)")],
        postgresql_using="gin",
    )
    op.execute(SEARCH_FUNCTIONS)

    op.create_table(
        "applications",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("candidate_id", sa.BigInteger(), nullable=False),
        sa.Column("status", application_status, server_default="submitted", nullable=False),
        sa.Column("cover_letter", sa.Text(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["users.id"],
            name=op.f("fk_applications_candidate_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_applications_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint(
            "job_id", "candidate_id", name=op.f("uq_applications_job_id_candidate_id")
        ),
    )
    op.create_index("ix_applications_job_id_id", "applications", ["job_id", sa.text("id DESC")])
    op.create_index(
        "ix_applications_candidate_id_id", "applications", ["candidate_id", sa.text("id DESC")]
    )


def downgrade() -> None:
    op.drop_table("applications")
    op.execute("DROP TRIGGER companies_search ON companies")
    op.execute("DROP TRIGGER jobs_search ON jobs")
    op.execute("DROP FUNCTION companies_search_refresh()")
    op.execute("DROP FUNCTION jobs_search_refresh()")
    op.execute("DROP FUNCTION jobs_search_vector(text, varchar[], text, text)")
    op.drop_table("jobs")
    op.drop_table("companies")
    op.drop_index("ix_users_email_trgm", table_name="users")
    bind = op.get_bind()
    for enum in reversed(ENUMS):
        enum.drop(bind)
    op.execute(
        """
        DO $$ BEGIN
            IF obj_description(
                (SELECT oid FROM pg_extension WHERE extname = 'pg_trgm'), 'pg_extension'
            ) = 'created by the jobboard migration 0003_job_board' THEN
                DROP EXTENSION pg_trgm;
            END IF;
        END $$
        """
    )
