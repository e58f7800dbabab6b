"""Queries over companies' keys for machines."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import ApiKey, Company, User
from backend.db.repository import base
from backend.db.repository.base import Lock
from backend.db.repository.sessions import CALLER_COLUMNS, Caller


async def create(session: AsyncSession, **values: object) -> ApiKey:
    key = ApiKey(**values)
    session.add(key)
    await session.flush()
    return key


async def for_company(session: AsyncSession, *, company_id: int) -> list[ApiKey]:
    """A company's keys, newest first, revoked ones included (a handful: no paging)."""
    statement = select(ApiKey).where(ApiKey.company_id == company_id).order_by(ApiKey.id.desc())
    return list((await session.execute(statement)).scalars())


async def active_count(session: AsyncSession, *, company_id: int) -> int:
    statement = select(func.count()).where(
        ApiKey.company_id == company_id,
        ApiKey.revoked_at.is_(None),
        or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > func.now()),
    )
    return int((await session.execute(statement)).scalar_one())


async def get(
    session: AsyncSession, *, company_id: int, key_id: int, lock: Lock = None
) -> ApiKey | None:
    statement = select(ApiKey).where(ApiKey.id == key_id, ApiKey.company_id == company_id)
    return (await session.execute(base.locked(statement, lock))).scalar_one_or_none()


async def revoke(session: AsyncSession, *, key: ApiKey) -> None:
    await base.update(session, key, revoked_at=func.now())
    await session.refresh(key, ["revoked_at"])


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """A live key, the company it is for, and that company's owner, as whom it acts."""

    key_id: int
    company_id: int
    scopes: list[str]
    owner: Caller


async def live(session: AsyncSession, *, secret_hash: bytes) -> KeyHolder | None:
    """The key with this digest, if neither revoked nor expired and its company's owner is
    active; None otherwise."""
    statement = (
        select(
            ApiKey.id,
            ApiKey.company_id,
            ApiKey.scopes,
            *(User.__table__.c[name] for name in CALLER_COLUMNS),
        )
        .join(Company, Company.id == ApiKey.company_id)
        .join(User, User.id == Company.owner_id)
        .where(
            ApiKey.secret_hash == secret_hash,
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > func.now()),
            User.is_active,
        )
    )
    row = await base.first(session, statement)
    if row is None:
        return None
    return KeyHolder(
        row[0],
        row[1],
        list(row[2]),
        Caller(**dict(zip(CALLER_COLUMNS, row[3:], strict=True)), api_key_id=row[0]),
    )


async def touch(session: AsyncSession, *, key_id: int, every: timedelta) -> None:
    """Note that the key was used now, at most once per `every` (a busy key writes its row
    seldom)."""
    statement = (
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < func.now() - every),
        )
        .values(last_used_at=func.now())
    )
    await session.execute(statement)
