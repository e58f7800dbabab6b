"""Queries over saved searches."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, String, cast, column, func, select, text, values
from sqlalchemy import update as update_rows
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.pagination import Positioned
from backend.db.models import AlertFrequency, SavedSearch, User
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
    saved_search_id: int
    user_id: int
    name: str  # the saved search's
    query: dict[str, Any]
    frequency: AlertFrequency
    alerted_through: datetime
    next_alert_at: datetime
    email: str
    full_name: str
    # The owner gets alerts (they are on, and the account may be mailed).
    wants_it: bool
    generation: int


async def lock_for_alerts(
    session: AsyncSession, *, saved_search_ids: Sequence[int]
) -> list[AlertTarget]:
    """Those of the saved searches that still exist, with their owners' addresses, their
    rows locked for this alert run; one another run holds is left out (that run does its
    work)."""
    statement = (
        select(
            SavedSearch.id,
            SavedSearch.user_id,
            SavedSearch.name,
            SavedSearch.query,
            SavedSearch.frequency,
            SavedSearch.alerted_through,
            SavedSearch.next_alert_at,
            User.email,
            User.full_name,
            User.notify_job_alerts & users.MAILABLE,
            User.security_generation,
        )
        .join(User, User.id == SavedSearch.user_id)
        .where(SavedSearch.id.in_(saved_search_ids))
        .order_by(SavedSearch.id)
        .with_for_update(of=SavedSearch, skip_locked=True)
    )
    return [AlertTarget(*row) for row in await session.execute(statement)]


@dataclass(frozen=True, slots=True)
class Window:
    """A saved search's alert window, as an alert run found it, and where it moves to."""

    saved_search_id: int
    frequency: AlertFrequency
    alerted_through: datetime
    window_end: datetime
    next_alert_at: datetime


async def move_on(session: AsyncSession, *, windows: Sequence[Window]) -> set[int]:
    """Move each saved search's window on (`alerted_through` to its end, the next alert
    due a period later), where it is still as the run found it (the same start and
    frequency): one statement; the ids moved on, their rows locked until commit."""
    if not windows:
        return set()
    found = values(
        column("id", BigInteger),
        column("frequency", String),
        column("alerted_through", DateTime(timezone=True)),
        column("window_end", DateTime(timezone=True)),
        column("next_alert_at", DateTime(timezone=True)),
        name="found",
    ).data(
        [
            (w.saved_search_id, w.frequency.value, w.alerted_through, w.window_end, w.next_alert_at)
            for w in windows
        ]
    )
    statement = (
        update_rows(SavedSearch)
        .where(
            SavedSearch.id == found.c.id,
            SavedSearch.alerted_through == found.c.alerted_through,
            SavedSearch.frequency == cast(found.c.frequency, SavedSearch.frequency.type),
        )
        .values(alerted_through=found.c.window_end, next_alert_at=found.c.next_alert_at)
        .returning(SavedSearch.id)
    )
    return set((await session.execute(statement)).scalars())


async def claim_for_mail(
    session: AsyncSession, *, window: Window, email: str, generation: int
) -> bool:
    """Move one saved search's window on (as `move_on`) for the mail of its alert, if its
    owner may still be mailed alerts at `email` under security `generation` (as when the
    mail was written); whether it moved. One statement, compiled once (its values bound);
    the row stays locked until commit."""
    owner_still = (
        select(User.id)
        .where(
            User.id == SavedSearch.user_id,
            User.email == email,
            User.security_generation == generation,
            User.notify_job_alerts,
            users.MAILABLE,
        )
        .exists()
    )
    statement = (
        update_rows(SavedSearch)
        .where(
            SavedSearch.id == window.saved_search_id,
            SavedSearch.alerted_through == window.alerted_through,
            SavedSearch.frequency == window.frequency,
            owner_still,
        )
        .values(alerted_through=window.window_end, next_alert_at=window.next_alert_at)
        .returning(SavedSearch.id)
    )
    return (await session.execute(statement)).first() is not None


async def alert_tasks_waiting(session: AsyncSession, *, task_names: Sequence[str]) -> bool:
    """Whether alert tasks asked for earlier are still waiting in the task queue or
    running (a search being alerted is due until its task commits)."""
    statement = text(
        "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs "
        "WHERE task_name = ANY(:tasks) AND status IN ('todo', 'doing'))"
    )
    return bool((await session.execute(statement, {"tasks": list(task_names)})).scalar_one())
