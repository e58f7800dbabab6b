"""Descriptions in Markdown: their rendered HTML, and the plain text search indexes.

Revision ID: 0010_description_markup
Revises: 0009_security_generation
Create Date: 2026-12-07 03:00:00

Expand only. Nullable columns added without a rewrite: `jobs.description_html`,
`jobs.description_text`, `companies.description_html`, and on both tables `rendered_from`,
the SHA-256 of the description the renderings were made from. The search trigger indexes
`description_text` where a row has one (the description as written where not), and fires
on the new columns too.

A rendering is kept only while `rendered_from` is the digest of the row's description: the
triggers clear it otherwise. An older release still running beside this one changes a
description without its rendering, and the rendering goes; readers render such a row
themselves. (Comparing the rendering itself would not do: two descriptions that differ
only in spacing render alike, and this release writes both.)

Existing rows are rendered here in batches (`backfill_computed`, with
backend.core.markdown as this release has it), each a short transaction; each job's search
vector is recomputed as its text is written. Nothing is contracted: a row may keep NULL
renderings (readers render them), so no NOT NULL follows.
"""

from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from alembic import op
from backend.core.markdown import digest, render
from backend.db.online_ddl import backfill_computed

revision: str = "0010_description_markup"
down_revision: str | None = "0009_security_generation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_REFRESH = """
CREATE OR REPLACE FUNCTION jobs_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Renderings made from another description than this one (an older release changed
    -- it without them) go; readers render the description themselves.
    IF NEW.description_html IS NOT NULL
        AND NEW.rendered_from IS DISTINCT FROM sha256(convert_to(NEW.description, 'UTF8'))
    THEN
        NEW.description_html := NULL;
        NEW.description_text := NULL;
        NEW.rendered_from := NULL;
    END IF;
    NEW.search := jobs_search_vector(
        NEW.title,
        NEW.tags,
        (SELECT name FROM companies WHERE id = NEW.company_id),
        coalesce(NEW.description_text, NEW.description)
    );
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER jobs_search
    BEFORE INSERT OR UPDATE OF title, tags, description, description_html, description_text,
        rendered_from, company_id
    ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_search_refresh();

CREATE OR REPLACE FUNCTION companies_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE jobs
    SET search = jobs_search_vector(
        title, tags, NEW.name, coalesce(description_text, description)
    )
    WHERE company_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE FUNCTION companies_description_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.description_html IS NOT NULL
        AND NEW.rendered_from IS DISTINCT FROM sha256(convert_to(NEW.description, 'UTF8'))
    THEN
        NEW.description_html := NULL;
        NEW.rendered_from := NULL;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER companies_description_stale
    BEFORE INSERT OR UPDATE OF description, description_html, rendered_from ON companies
    FOR EACH ROW EXECUTE FUNCTION companies_description_stale();
"""

PREVIOUS_SEARCH_REFRESH = """
DROP TRIGGER companies_description_stale ON companies;
DROP FUNCTION companies_description_stale();

CREATE OR REPLACE FUNCTION jobs_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE OR REPLACE TRIGGER jobs_search
    BEFORE INSERT OR UPDATE OF title, tags, description, company_id ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_search_refresh();

CREATE OR REPLACE FUNCTION companies_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE jobs
    SET search = jobs_search_vector(title, tags, NEW.name, description)
    WHERE company_id = NEW.id;
    RETURN NULL;
END
$$;
"""


def _job_columns(description: str) -> Mapping[str, object]:
    rendered = render(description)
    return {
        "description_html": rendered.html,
        "description_text": rendered.text,
        "rendered_from": digest(description),
    }


def _company_columns(description: str) -> Mapping[str, object]:
    return {"description_html": render(description).html, "rendered_from": digest(description)}


def upgrade() -> None:
    op.add_column("jobs", sa.Column("description_html", sa.Text(), nullable=True))
    op.add_column("jobs", sa.Column("description_text", sa.Text(), nullable=True))
    op.add_column("jobs", sa.Column("rendered_from", sa.LargeBinary(), nullable=True))
    op.add_column("companies", sa.Column("description_html", sa.Text(), nullable=True))
    op.add_column("companies", sa.Column("rendered_from", sa.LargeBinary(), nullable=True))
    op.execute(SEARCH_REFRESH)
    backfill_computed(
        "jobs",
        "description",
        {"description_html": "text", "description_text": "text", "rendered_from": "bytea"},
        _job_columns,
        where="description_html IS NULL",
    )
    backfill_computed(
        "companies",
        "description",
        {"description_html": "text", "rendered_from": "bytea"},
        _company_columns,
        where="description IS NOT NULL AND description_html IS NULL",
    )


def downgrade() -> None:
    op.execute(PREVIOUS_SEARCH_REFRESH)
    op.drop_column("companies", "rendered_from")
    op.drop_column("companies", "description_html")
    op.drop_column("jobs", "rendered_from")
    op.drop_column("jobs", "description_text")
    op.drop_column("jobs", "description_html")
