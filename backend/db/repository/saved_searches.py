"""Queries over saved searches."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.pagination import Positioned
from backend.db.models import SavedSearch, User
from backend.db.repository import base, users
from backend.db.repository.base import IdPosition, Lock


async def create(session: AsyncSession, **values: Any) -> SavedSearch:
    saved = SavedSearch(**values)
    session.add(saved)
    await session.flush()
    return saved


async def count_for_user(session: AsyncSession, *, user_id: int) -> int:
    statement = select(func.count()).where(SavedSearch.user_id == user_id)
    return int((await session.execute(statement)).scalar_one())


async def get(
    session: AsyncSession, *, saved_search_id: int, user_id: int, lock: Lock = None
) -> SavedSearch | None:
    """A user's own saved search; None for anyone else's."""
    statement = select(SavedSearch).where(
        SavedSearch.id == saved_search_id, SavedSearch.user_id == user_id
    )
    result = await session.execute(base.locked(statement, lock, SavedSearch))
    return result.scalar_one_or_none()


async def list_for_user(
    session: AsyncSession, *, user_id: int, limit: int, after: IdPosition | None = None
) -> Positioned[SavedSearch, IdPosition]:
    """A user's saved searches, newest first."""
    statement = (
        select(SavedSearch)
        .where(SavedSearch.user_id == user_id)
        .order_by(SavedSearch.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        statement = statement.where(SavedSearch.id < after.id)
    return base.by_id((await session.execute(statement)).scalars())


async def update(session: AsyncSession, *, saved: SavedSearch, **values: object) -> SavedSearch:
    return await base.update(session, saved, **values)


async def delete(session: AsyncSession, *, saved: SavedSearch) -> None:
    await session.delete(saved)
    await session.flush()


async def due_ids(
    session: AsyncSession, *, due_by: datetime, after_id: int, limit: int
) -> list[int]:
    """Ids of saved searches whose alert is due by `due_by`, in id order after `after_id`."""
    statement = (
        select(SavedSearch.id)
        .where(SavedSearch.next_alert_at <= due_by, SavedSearch.id > after_id)
        .order_by(SavedSearch.id)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


@dataclass(frozen=True, slots=True)
class AlertTarget:
    saved: SavedSearch
    email: str
    name: str
    # The owner gets alerts (they are on, and the account may be mailed).
    wants_it: bool
    generation: int


async def lock_for_alert(session: AsyncSession, *, saved_search_id: int) -> AlertTarget | None:
    """A saved search and its owner's address, its row locked for this alert run; None when
    it is gone or another run holds it (that run does the work)."""
    statement = (
        select(
            SavedSearch,
            User.email,
            User.full_name,
            User.notify_job_alerts & users.MAILABLE,
            User.security_generation,
        )
        .join(User, User.id == SavedSearch.user_id)
        .where(SavedSearch.id == saved_search_id)
        .with_for_update(of=SavedSearch, skip_locked=True)
    )
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else AlertTarget(*row)


async def alert_tasks_waiting(session: AsyncSession, *, task_name: str) -> bool:
    """Whether alert tasks asked for earlier are still waiting in the task queue or
    running (a search being alerted is due until its task commits)."""
    statement = text(
        "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs "
        "WHERE task_name = :task AND status IN ('todo', 'doing'))"
    )
    return bool((await session.execute(statement, {"task": task_name})).scalar_one())
