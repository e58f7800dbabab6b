"""Company teams: members with roles, invitations, and the record of what members did.

Revision ID: 0031_company_teams
Revises: 0030_api_keys
Create Date: 2026-12-11 09:00:00

Expand only:

- three new tables and their enum, empty when made;
- a trigger on `companies` that makes a new company's `owner_id` its first owner member,
  created before the backfill, so that a company an older release creates during the
  rolling upgrade gets its member as one this release creates does (the older release
  decides by `owner_id` alone, which stays a member with the owner role);
- the backfill: every existing company's `owner_id` as its owner, in batches of
  companies, each batch its own short transaction (`online_ddl.insert_batched`), rows
  the trigger wrote meanwhile left as they are.

`CREATE TRIGGER` takes the companies table's SHARE ROW EXCLUSIVE lock for a moment, within
the 5 s lock timeout `migrate` sets. Downgrade drops the tables, the trigger and the type.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op
from backend.db.online_ddl import insert_batched

revision: str = "0031_company_teams"
down_revision: str | None = "0030_api_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGER = """
CREATE FUNCTION companies_first_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO company_members (company_id, user_id, role)
    VALUES (NEW.id, NEW.owner_id, 'owner')
    ON CONFLICT (company_id, user_id) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER companies_first_owner
    AFTER INSERT ON companies
    FOR EACH ROW EXECUTE FUNCTION companies_first_owner();
"""


def upgrade() -> None:
    role = postgresql.ENUM("owner", "recruiter", "viewer", name="member_role")
    role.create(op.get_bind())
    member_role = postgresql.ENUM(name="member_role", create_type=False)
    now = sa.text("now()")
    op.create_table(
        "company_members",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("role", member_role, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name="fk_company_members_company_id_companies",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_company_members_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("company_id", "user_id", name="pk_company_members"),
    )
    op.create_index("ix_company_members_user_id", "company_members", ["user_id"])
    op.create_table(
        "company_invitations",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", member_role, nullable=False),
        sa.Column("invited_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sends", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name="fk_company_invitations_company_id_companies",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["users.id"],
            name="fk_company_invitations_invited_by_users",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by"],
            ["users.id"],
            name="fk_company_invitations_accepted_by_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_company_invitations"),
    )
    op.create_index(
        "uq_company_invitations_open",
        "company_invitations",
        ["company_id", "email"],
        unique=True,
        postgresql_where=sa.text("accepted_at IS NULL AND revoked_at IS NULL"),
    )
    op.create_index("ix_company_invitations_email", "company_invitations", ["email"])
    op.create_index("ix_company_invitations_invited_by", "company_invitations", ["invited_by"])
    op.create_index("ix_company_invitations_accepted_by", "company_invitations", ["accepted_by"])
    op.create_table(
        "company_activity",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("api_key_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column(
            "detail",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name="fk_company_activity_company_id_companies",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name="fk_company_activity_actor_id_users",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name="fk_company_activity_api_key_id_api_keys",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_company_activity"),
    )
    op.create_index("ix_company_activity_company_id_id", "company_activity", ["company_id", "id"])
    op.create_index("ix_company_activity_actor_id", "company_activity", ["actor_id"])
    op.create_index("ix_company_activity_api_key_id", "company_activity", ["api_key_id"])
    op.execute(TRIGGER)
    insert_batched(
        "companies",
        "INSERT INTO company_members (company_id, user_id, role) "
        "SELECT id, owner_id, 'owner' FROM companies",
        conflict="ON CONFLICT (company_id, user_id) DO NOTHING",
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER companies_first_owner ON companies")
    op.execute("DROP FUNCTION companies_first_owner()")
    op.drop_table("company_activity")
    op.drop_table("company_invitations")
    op.drop_table("company_members")
    postgresql.ENUM(name="member_role").drop(op.get_bind())
