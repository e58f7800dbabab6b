"""The trigram index of the titles of jobs on the board or held for review, which finds
the jobs of other employers a new job may copy.

Revision ID: 0019_title_trigrams
Revises: 0018_open_checks
Create Date: 2026-12-08 11:00:00

Expand only: one partial GIN index, built CONCURRENTLY (writes go on while it builds; a
build that failed half-way is dropped and built again by `create_index_concurrently`).
"""

from collections.abc import Sequence

from sqlalchemy import text

from backend.db.online_ddl import create_index_concurrently, drop_index_concurrently

revision: str = "0019_title_trigrams"
down_revision: str | None = "0018_open_checks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_index_concurrently(
        "ix_jobs_title_trgm",
        "jobs",
        ["title"],
        postgresql_using="gin",
        postgresql_ops={"title": "gin_trgm_ops"},
        postgresql_where=text("status IN ('published', 'pending')"),
    )


def downgrade() -> None:
    drop_index_concurrently("ix_jobs_title_trgm")
