"""Queries over webhooks: endpoints, events and their deliveries."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.pagination import Positioned
from backend.db.models import (
    CompanyMember,
    DeliveryState,
    Job,
    MemberRole,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from backend.db.repository import base
from backend.db.repository.base import AnyRow, IdPosition, Lock


async def create_endpoint(session: AsyncSession, **values: object) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(**values)
    session.add(endpoint)
    await session.flush()
    return endpoint


async def endpoints(session: AsyncSession, *, company_id: int) -> list[WebhookEndpoint]:
    """A company's endpoints, newest first (a handful: no paging)."""
    statement = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.company_id == company_id)
        .order_by(WebhookEndpoint.id.desc())
    )
    return list((await session.execute(statement)).scalars())


async def endpoint(
    session: AsyncSession, *, endpoint_id: int, company_id: int | None = None, lock: Lock = None
) -> WebhookEndpoint | None:
    statement = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    if company_id is not None:
        statement = statement.where(WebhookEndpoint.company_id == company_id)
    return (await session.execute(base.locked(statement, lock))).scalar_one_or_none()


async def count(session: AsyncSession, *, company_id: int) -> int:
    statement = select(func.count()).where(WebhookEndpoint.company_id == company_id)
    return int((await session.execute(statement)).scalar_one())


async def update_endpoint(
    session: AsyncSession, *, endpoint: WebhookEndpoint, **values: object
) -> WebhookEndpoint:
    return await base.update(session, endpoint, **values)


async def delete_endpoint(session: AsyncSession, *, endpoint: WebhookEndpoint) -> None:
    await session.delete(endpoint)
    await session.flush()


def _listening(company_id: int, event_type: str) -> Any:
    return and_(
        WebhookEndpoint.company_id == company_id,
        WebhookEndpoint.events.contains([event_type]),
    )


async def anyone_listens(session: AsyncSession, *, company_id: int, event_type: str) -> bool:
    """Whether an endpoint of the company takes `event_type` (a switched-off one too: its
    deliveries wait for it)."""
    row = await base.first(session, select(exists().where(_listening(company_id, event_type))))
    return bool(row and row[0])


async def add_events(
    session: AsyncSession, *, company_id: int, event_type: str, data: Sequence[dict[str, Any]]
) -> list[int]:
    """Write the events, each delivered to every endpoint of the company that takes their
    type; the endpoints with new deliveries."""
    events = (
        await session.execute(
            insert(WebhookEvent)
            .values([{"company_id": company_id, "type": event_type, "data": item} for item in data])
            .returning(WebhookEvent.id)
        )
    ).scalars()
    event_ids = sorted(events)
    listening = select(WebhookEndpoint.id).where(_listening(company_id, event_type))
    endpoint_ids = list((await session.execute(listening)).scalars())
    if not endpoint_ids:
        return []
    rows = [
        {"endpoint_id": endpoint_id, "event_id": event_id}
        for endpoint_id in endpoint_ids
        for event_id in event_ids
    ]
    await session.execute(insert(WebhookDelivery).values(rows))
    return endpoint_ids


async def next_delivery(session: AsyncSession, *, endpoint_id: int) -> WebhookDelivery | None:
    """The endpoint's oldest pending delivery, locked (its deliveries go out in order)."""
    statement = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.state == DeliveryState.pending,
        )
        .order_by(WebhookDelivery.id)
        .limit(1)
        .with_for_update()
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def event(session: AsyncSession, *, event_id: int) -> WebhookEvent | None:
    return await session.get(WebhookEvent, event_id)


async def update_delivery(
    session: AsyncSession, *, delivery: WebhookDelivery, **values: object
) -> WebhookDelivery:
    return await base.update(session, delivery, **values)


async def add_delivery(
    session: AsyncSession, *, endpoint_id: int, event_id: int
) -> WebhookDelivery:
    delivery = WebhookDelivery(endpoint_id=endpoint_id, event_id=event_id)
    session.add(delivery)
    await session.flush()
    return delivery


def _delivery_rows() -> Select[*tuple[Any, ...]]:
    return select(
        WebhookDelivery.id,
        WebhookDelivery.event_id,
        WebhookEvent.type.label("event_type"),
        WebhookDelivery.state,
        WebhookDelivery.attempts,
        WebhookDelivery.response_status,
        WebhookDelivery.duration_ms,
        WebhookDelivery.error,
        WebhookDelivery.created_at,
        WebhookDelivery.last_attempt_at,
        WebhookDelivery.next_attempt_at,
        WebhookDelivery.delivered_at,
    ).join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)


async def delivery_row(session: AsyncSession, *, delivery_id: int) -> AnyRow | None:
    return await base.first(session, _delivery_rows().where(WebhookDelivery.id == delivery_id))


async def deliveries(
    session: AsyncSession, *, endpoint_id: int, limit: int, after: IdPosition | None
) -> Positioned[AnyRow, IdPosition]:
    """A page of the endpoint's deliveries, newest first, with their events' ids and types."""
    statement = (
        _delivery_rows()
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        statement = statement.where(WebhookDelivery.id < after.id)
    return base.by_id(await base.all_rows(session, statement))


async def delivery(
    session: AsyncSession, *, delivery_id: int, endpoint_id: int
) -> WebhookDelivery | None:
    statement = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def due_endpoints(session: AsyncSession, *, limit: int) -> list[int]:
    """Enabled endpoints whose oldest pending delivery is due."""
    oldest_due = (
        select(WebhookDelivery.next_attempt_at)
        .where(
            WebhookDelivery.endpoint_id == WebhookEndpoint.id,
            WebhookDelivery.state == DeliveryState.pending,
        )
        .order_by(WebhookDelivery.id)
        .limit(1)
        .correlate(WebhookEndpoint)
        .scalar_subquery()
    )
    statement = (
        select(WebhookEndpoint.id)
        .where(WebhookEndpoint.disabled_at.is_(None), oldest_due <= func.now())
        .order_by(WebhookEndpoint.id)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def last_error(session: AsyncSession, *, endpoint_id: int) -> str | None:
    """What the endpoint's last failed attempt met."""
    statement = (
        select(WebhookDelivery.error)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.error.is_not(None))
        .order_by(WebhookDelivery.last_attempt_at.desc().nulls_last(), WebhookDelivery.id.desc())
        .limit(1)
    )
    row = await base.first(session, statement)
    return None if row is None else str(row[0])


async def jobs(session: AsyncSession, *, job_ids: list[int]) -> Sequence[AnyRow]:
    """What a job event tells of each of the jobs, in id order."""
    statement = (
        select(Job.id, Job.company_id, Job.external_id, Job.title)
        .where(Job.id.in_(job_ids))
        .order_by(Job.id)
    )
    return await base.all_rows(session, statement)


async def owners_to_mail(session: AsyncSession, *, company_id: int) -> list[int]:
    """The company's owners with a confirmed, active account."""
    statement = (
        select(CompanyMember.user_id)
        .join(User, User.id == CompanyMember.user_id)
        .where(
            CompanyMember.company_id == company_id,
            CompanyMember.role == MemberRole.owner,
            User.is_active,
            User.email_verified_at.is_not(None),
        )
        .order_by(CompanyMember.user_id)
    )
    return list((await session.execute(statement)).scalars())


async def mark_failing(
    session: AsyncSession, *, endpoint_id: int, now: datetime
) -> datetime | None:
    """Note that the endpoint is failing (from now, unless it was already); since when."""
    statement = (
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(failing_since=func.coalesce(WebhookEndpoint.failing_since, now))
        .returning(WebhookEndpoint.failing_since)
    )
    row = (await session.execute(statement)).first()
    return None if row is None else row[0]
