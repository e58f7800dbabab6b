"""Company teams: the accounts that work for a company, the invitations to join one, and a
record of what members did (see backend.services.members)."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Identity, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base

ACTION_MAX_LENGTH = 40


class MemberRole(enum.StrEnum):
    """What a member may do: an owner everything (members, keys, webhooks, the company), a
    recruiter the jobs and their applicants, a viewer read them."""

    owner = "owner"
    recruiter = "recruiter"
    viewer = "viewer"


MEMBER_ROLE = Enum(MemberRole, name="member_role", values_callable=lambda ks: [k.value for k in ks])


class CompanyMember(Base):
    """An account's place in a company. The company's creator is its first owner (a
    trigger on `companies` adds the row, so a company made by any release has one); a
    company always keeps at least one owner, and `companies.owner_id` always names one of
    them: its primary owner, who gets the company's mail."""

    __tablename__ = "company_members"
    __table_args__ = (Index("ix_company_members_user_id", "user_id"),)

    company_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[MemberRole] = mapped_column(MEMBER_ROLE)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class CompanyInvitation(Base):
    """An invitation for one address to join a company in a role: mailed as a link that
    names it and its `sends` (a resend ends the links mailed before), open until accepted,
    revoked or expired."""

    __tablename__ = "company_invitations"
    __table_args__ = (
        # One open invitation per address and company.
        Index(
            "uq_company_invitations_open",
            "company_id",
            "email",
            unique=True,
            postgresql_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
        ),
        Index("ix_company_invitations_email", "email"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    company_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("companies.id", ondelete="CASCADE")
    )
    # Normalised as accounts' addresses are (backend.core.emails).
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[MemberRole] = mapped_column(MEMBER_ROLE)
    invited_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    sends: Mapped[int] = mapped_column(server_default=text("0"))
    last_sent_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    revoked_at: Mapped[datetime | None]


class CompanyActivity(Base):
    """What a member (or a company's key) did: shown to the company's owners, newest first."""

    __tablename__ = "company_activity"
    __table_args__ = (Index("ix_company_activity_company_id_id", "company_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    company_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("companies.id", ondelete="CASCADE")
    )
    # Who: a member's account, or a key (its id); None once the account is gone.
    actor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    api_key_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(ACTION_MAX_LENGTH))
    # What it was done to: ids and short values, never free text a member typed.
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
