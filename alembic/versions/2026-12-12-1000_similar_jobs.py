"""Indexes for a job's similar jobs: titles alike, and each title's newest jobs.

Revision ID: 0034_similar_jobs
Revises: 0033_saved_jobs
Create Date: 2026-12-12 10:00:00

Expand only: two indexes built concurrently (writes go on meanwhile); nothing an older
release reads changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from backend.db.online_ddl import create_index_concurrently, drop_index_concurrently

revision: str = "0034_similar_jobs"
down_revision: str | None = "0033_saved_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_index_concurrently(
        "ix_job_titles_title_trgm",
        "job_titles",
        ["title"],
        postgresql_using="gin",
        postgresql_ops={"title": "gin_trgm_ops"},
    )
    create_index_concurrently(
        "ix_jobs_title_newest",
        "jobs",
        ["title", sa.text("published_at DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("status = 'published'"),
    )


def downgrade() -> None:
    drop_index_concurrently("ix_jobs_title_newest")
    drop_index_concurrently("ix_job_titles_title_trgm")
