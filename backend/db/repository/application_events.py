"""Queries over applications' timelines."""

from typing import Any

from sqlalchemy import Select, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.pagination import Positioned
from backend.db.models import Application, ApplicationEvent, ApplicationStatus, EventKind, User
from backend.db.repository import base
from backend.db.repository.base import IdPosition
from backend.db.transactions import mark_written


async def record(
    session: AsyncSession,
    *,
    application_id: int,
    actor_id: int | None,
    kind: EventKind,
    status: ApplicationStatus | None = None,
    reason: str | None = None,
    note: str | None = None,
    detail: str | None = None,
    stage: str | None = None,
) -> int:
    """Add an event to an application's timeline; its id."""
    statement = (
        insert(ApplicationEvent)
        .values(
            application_id=application_id,
            actor_id=actor_id,
            kind=kind.value,
            status=status,
            reason=reason,
            note=note,
            detail=detail,
            stage=stage,
        )
        .returning(ApplicationEvent.id)
    )
    return (await session.execute(statement)).scalar_one()


async def mark_viewed(session: AsyncSession, *, application_id: int, actor_id: int) -> None:
    """The employer's side opened the application: recorded the first time only, in one
    statement (of two readers at once, one marks it and records the event). Its
    `updated_at`, and so its ETag, stays: being read is not a change."""
    marked = (
        update(Application)
        .where(Application.id == application_id, Application.viewed_at.is_(None))
        .values(viewed_at=func.now(), updated_at=Application.updated_at)
        .returning(Application.id)
        .cte("marked")
    )
    statement = insert(ApplicationEvent).from_select(
        ["application_id", "actor_id", "kind"],
        select(marked.c.id, literal(actor_id), literal(EventKind.viewed.value)),
    )
    await session.execute(statement)
    # A read request (opening the application) wrote this: its session commits it.
    mark_written(session)


def _with_actor() -> Select[*tuple[Any, ...]]:
    return select(
        ApplicationEvent.id,
        ApplicationEvent.kind,
        ApplicationEvent.status,
        ApplicationEvent.reason,
        ApplicationEvent.note,
        ApplicationEvent.detail,
        ApplicationEvent.stage,
        ApplicationEvent.actor_id,
        User.full_name.label("actor_name"),
        ApplicationEvent.created_at,
    ).outerjoin(User, User.id == ApplicationEvent.actor_id)


async def get(session: AsyncSession, *, event_id: int) -> base.AnyRow | None:
    return await base.first(session, _with_actor().where(ApplicationEvent.id == event_id))


async def page(
    session: AsyncSession,
    *,
    application_id: int,
    limit: int,
    after: IdPosition | None,
    private: bool,
) -> Positioned[base.AnyRow, IdPosition]:
    """An application's events, oldest first, each with its actor's name (`actor_name`);
    without notes unless `private`."""
    statement = (
        _with_actor()
        .where(ApplicationEvent.application_id == application_id)
        .order_by(ApplicationEvent.id)
        .limit(limit + 1)
    )
    if not private:
        statement = statement.where(ApplicationEvent.kind != EventKind.note.value)
    if after is not None:
        statement = statement.where(ApplicationEvent.id > after.id)
    return base.by_id(await base.all_rows(session, statement))


async def moved_event(session: AsyncSession, *, event_id: int) -> ApplicationEvent | None:
    """A move on a timeline (None for another kind of event, or none)."""
    statement = select(ApplicationEvent).where(
        ApplicationEvent.id == event_id, ApplicationEvent.kind == EventKind.moved.value
    )
    return (await session.execute(statement)).scalar_one_or_none()
