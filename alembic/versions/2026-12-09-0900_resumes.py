"""Résumés, the files behind them, candidates' profiles, and the résumé an application
was sent with.

Revision ID: 0021_resumes
Revises: 0020_job_revisions
Create Date: 2026-12-09 09:00:00

Expand only. Three new, empty tables (files' bytes stored uncompressed). On
`applications`, a nullable column (added without a rewrite, the table's lock held for a
moment within the 5 s lock timeout `migrate` sets), its foreign key added NOT VALID (no
scan under that lock) and validated in a statement of its own (which lets reads and
writes go on), and its index built CONCURRENTLY. An older release still running never
reads or writes any of it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op
from backend.db.online_ddl import create_index_concurrently, drop_index_concurrently

revision: str = "0021_resumes"
down_revision: str | None = "0020_job_revisions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_applications_resume_id_resumes"


def upgrade() -> None:
    op.create_table(
        "stored_files",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_stored_files"),
    )
    # Kept out of line and uncompressed: PDF, DOCX and ODT are compressed already, and
    # PostgreSQL's default compression cost about 80 ms of a 5 MB upload (BENCHMARKS.md).
    op.execute("ALTER TABLE stored_files ALTER COLUMN content SET STORAGE EXTERNAL")
    text_state = postgresql.ENUM("pending", "ready", "failed", name="resume_text_state")
    op.create_table(
        "resumes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("candidate_id", sa.BigInteger(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("file_key", sa.String(length=200), nullable=False),
        sa.Column("text_state", text_state, server_default="pending", nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("search", postgresql.TSVECTOR(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["users.id"],
            name="fk_resumes_candidate_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_resumes"),
    )
    op.create_index(
        "ix_resumes_candidate_id_id",
        "resumes",
        ["candidate_id", sa.text("id DESC")],
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.create_index("ix_resumes_search", "resumes", ["search"], postgresql_using="gin")
    op.create_table(
        "candidate_profiles",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("headline", sa.String(length=120), server_default="", nullable=False),
        sa.Column("summary", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "skills",
            postgresql.ARRAY(sa.String(length=30)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column(
            "links",
            postgresql.ARRAY(sa.String(length=2048)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column("location", sa.String(length=200), server_default="", nullable=False),
        sa.Column("work_authorization", sa.String(length=200), server_default="", nullable=False),
        sa.Column("open_to_remote", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_candidate_profiles_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_candidate_profiles"),
    )
    op.add_column("applications", sa.Column("resume_id", sa.BigInteger(), nullable=True))
    op.execute(
        f"ALTER TABLE applications ADD CONSTRAINT {FOREIGN_KEY} FOREIGN KEY (resume_id) "
        "REFERENCES resumes (id) ON DELETE SET NULL NOT VALID"
    )
    with op.get_context().autocommit_block():
        op.execute(f"ALTER TABLE applications VALIDATE CONSTRAINT {FOREIGN_KEY}")
    create_index_concurrently("ix_applications_resume_id", "applications", ["resume_id"])


def downgrade() -> None:
    drop_index_concurrently("ix_applications_resume_id")
    op.drop_constraint(FOREIGN_KEY, "applications", type_="foreignkey")
    op.drop_column("applications", "resume_id")
    op.drop_table("candidate_profiles")
    op.drop_table("resumes")
    op.drop_table("stored_files")
    postgresql.ENUM(name="resume_text_state").drop(op.get_bind())
