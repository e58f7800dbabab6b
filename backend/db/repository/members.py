"""Queries over company teams: members, invitations and the activity record."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.pagination import Positioned
from backend.db import hot
from backend.db.models import (
    Company,
    CompanyActivity,
    CompanyInvitation,
    CompanyMember,
    MemberRole,
    User,
)
from backend.db.repository import base
from backend.db.repository.base import AnyRow, IdPosition, Lock


@dataclass(frozen=True, slots=True)
class Membership:
    role: str


# Asked by every employer use case, on the hot path too (a non-public job's page).
ROLE = hot.HotRead(
    select(CompanyMember.role).where(
        CompanyMember.company_id == bindparam("company_id", type_=CompanyMember.company_id.type),
        CompanyMember.user_id == bindparam("user_id", type_=CompanyMember.user_id.type),
    ),
    Membership,
)


async def role_of(reader: hot.Reader, *, company_id: int, user_id: int) -> MemberRole | None:
    """The account's role in the company, None when it is not a member."""
    found = await hot.one(reader, ROLE, {"company_id": company_id, "user_id": user_id})
    return None if found is None else MemberRole(found.role)


def companies_of(user_id: int) -> Any:
    """The ids of the companies the account is a member of, as a subquery."""
    return select(CompanyMember.company_id).where(CompanyMember.user_id == user_id)


async def members(session: AsyncSession, *, company_id: int) -> Sequence[AnyRow]:
    """A company's members with their accounts' names and addresses, oldest first (a team:
    no paging)."""
    statement = (
        select(
            CompanyMember.user_id,
            User.full_name,
            User.email,
            CompanyMember.role,
            CompanyMember.created_at,
            (Company.owner_id == CompanyMember.user_id).label("primary"),
        )
        .join(User, User.id == CompanyMember.user_id)
        .join(Company, Company.id == CompanyMember.company_id)
        .where(CompanyMember.company_id == company_id)
        .order_by(CompanyMember.created_at, CompanyMember.user_id)
    )
    return await base.all_rows(session, statement)


async def member(
    session: AsyncSession, *, company_id: int, user_id: int, lock: Lock = None
) -> CompanyMember | None:
    statement = select(CompanyMember).where(
        CompanyMember.company_id == company_id, CompanyMember.user_id == user_id
    )
    return (await session.execute(base.locked(statement, lock))).scalar_one_or_none()


async def owners(session: AsyncSession, *, company_id: int) -> list[int]:
    """The ids of the company's owners, in id order."""
    statement = (
        select(CompanyMember.user_id)
        .where(CompanyMember.company_id == company_id, CompanyMember.role == MemberRole.owner)
        .order_by(CompanyMember.user_id)
    )
    return list((await session.execute(statement)).scalars())


async def add(session: AsyncSession, *, company_id: int, user_id: int, role: MemberRole) -> bool:
    """Make the account a member; False when it is one already (nothing changes)."""
    added = await session.execute(
        pg_insert(CompanyMember)
        .values(company_id=company_id, user_id=user_id, role=role)
        .on_conflict_do_nothing()
        .returning(CompanyMember.user_id)
    )
    return added.first() is not None


async def set_role(
    session: AsyncSession, *, company_id: int, user_id: int, role: MemberRole
) -> None:
    await session.execute(
        update(CompanyMember)
        .where(CompanyMember.company_id == company_id, CompanyMember.user_id == user_id)
        .values(role=role)
    )


async def remove(session: AsyncSession, *, company_id: int, user_id: int) -> None:
    await session.execute(
        delete(CompanyMember).where(
            CompanyMember.company_id == company_id, CompanyMember.user_id == user_id
        )
    )


async def set_primary(session: AsyncSession, *, company_id: int, user_id: int) -> None:
    """Make the account the company's primary owner (`companies.owner_id`)."""
    await session.execute(update(Company).where(Company.id == company_id).values(owner_id=user_id))


# Invitations


async def invitation(
    session: AsyncSession, *, invitation_id: int, company_id: int | None = None, lock: Lock = None
) -> CompanyInvitation | None:
    statement = select(CompanyInvitation).where(CompanyInvitation.id == invitation_id)
    if company_id is not None:
        statement = statement.where(CompanyInvitation.company_id == company_id)
    return (await session.execute(base.locked(statement, lock))).scalar_one_or_none()


async def open_invitation(
    session: AsyncSession, *, company_id: int, email: str, lock: Lock = None
) -> CompanyInvitation | None:
    """The company's open (not accepted, not revoked) invitation for the address, expired
    or not."""
    statement = select(CompanyInvitation).where(
        CompanyInvitation.company_id == company_id,
        CompanyInvitation.email == email,
        CompanyInvitation.accepted_at.is_(None),
        CompanyInvitation.revoked_at.is_(None),
    )
    return (await session.execute(base.locked(statement, lock))).scalar_one_or_none()


async def create_invitation(session: AsyncSession, **values: object) -> CompanyInvitation | None:
    """A new open invitation; None when one for the company and address is open already
    (decided by the unique index, so concurrent invitations make one)."""
    statement = (
        pg_insert(CompanyInvitation)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["company_id", "email"],
            index_where=CompanyInvitation.accepted_at.is_(None)
            & CompanyInvitation.revoked_at.is_(None),
        )
        .returning(CompanyInvitation)
    )
    return (await session.execute(statement)).scalars().first()


async def open_invitations(session: AsyncSession, *, company_id: int) -> list[CompanyInvitation]:
    """The company's open invitations, newest first (expired ones too, marked by their
    expiry)."""
    statement = (
        select(CompanyInvitation)
        .where(
            CompanyInvitation.company_id == company_id,
            CompanyInvitation.accepted_at.is_(None),
            CompanyInvitation.revoked_at.is_(None),
        )
        .order_by(CompanyInvitation.id.desc())
    )
    return list((await session.execute(statement)).scalars())


async def invitations_for(session: AsyncSession, *, email: str) -> Sequence[AnyRow]:
    """The open, unexpired invitations for an address, with their companies' names, newest
    first."""
    statement = (
        select(
            CompanyInvitation.id,
            CompanyInvitation.company_id,
            Company.name.label("company_name"),
            CompanyInvitation.role,
            CompanyInvitation.created_at,
            CompanyInvitation.expires_at,
        )
        .join(Company, Company.id == CompanyInvitation.company_id)
        .where(
            CompanyInvitation.email == email,
            CompanyInvitation.accepted_at.is_(None),
            CompanyInvitation.revoked_at.is_(None),
            CompanyInvitation.expires_at > func.now(),
        )
        .order_by(CompanyInvitation.id.desc())
    )
    return await base.all_rows(session, statement)


async def open_count(session: AsyncSession, *, company_id: int) -> int:
    statement = select(func.count()).where(
        CompanyInvitation.company_id == company_id,
        CompanyInvitation.accepted_at.is_(None),
        CompanyInvitation.revoked_at.is_(None),
        CompanyInvitation.expires_at > func.now(),
    )
    return int((await session.execute(statement)).scalar_one())


# Activity


async def record(
    session: AsyncSession,
    *,
    company_id: int,
    actor_id: int | None,
    api_key_id: int | None,
    action: str,
    detail: dict[str, Any],
) -> None:
    await session.execute(
        insert(CompanyActivity).values(
            company_id=company_id,
            actor_id=actor_id,
            api_key_id=api_key_id,
            action=action,
            detail=detail,
        )
    )


async def record_many(session: AsyncSession, *, rows: list[dict[str, Any]]) -> None:
    """Several entries of the activity record in one statement."""
    if rows:
        await session.execute(insert(CompanyActivity), rows)


async def activity(
    session: AsyncSession, *, company_id: int, limit: int, after: IdPosition | None
) -> Positioned[AnyRow, IdPosition]:
    """A page of the company's activity, newest first, with each actor's name."""
    statement = (
        select(
            CompanyActivity.id,
            CompanyActivity.actor_id,
            User.full_name.label("actor_name"),
            CompanyActivity.api_key_id,
            CompanyActivity.action,
            CompanyActivity.detail,
            CompanyActivity.created_at,
        )
        .outerjoin(User, User.id == CompanyActivity.actor_id)
        .where(CompanyActivity.company_id == company_id)
        .order_by(CompanyActivity.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        statement = statement.where(CompanyActivity.id < after.id)
    return base.by_id(await base.all_rows(session, statement))


def expired(invitation: CompanyInvitation, now: datetime) -> bool:
    return invitation.expires_at <= now


async def update_invitation(
    session: AsyncSession, *, invitation: CompanyInvitation, **values: object
) -> CompanyInvitation:
    return await base.update(session, invitation, **values)
