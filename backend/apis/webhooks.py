"""Companies' webhook endpoints and their deliveries, managed by the company's owners."""

from fastapi import APIRouter, Response, status

from backend.apis.access import EmployerOrAdmin, IdPath
from backend.apis.deps import DbSession, SettingsDep
from backend.apis.openapi import problem_responses
from backend.apis.pagination import PageDep, to_page
from backend.schemas.pagination import Page
from backend.schemas.webhook import (
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from backend.services import webhooks

router = APIRouter(tags=["companies"])


def _created(endpoint: object, secret: str) -> WebhookCreated:
    return WebhookCreated(**WebhookRead.model_validate(endpoint).model_dump(), secret=secret)


@router.post(
    "/companies/{company_id}/webhooks",
    name="create-webhook",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses=problem_responses(401, 403, 404, 409),
)
async def create_webhook(
    company_id: IdPath,
    payload: WebhookCreate,
    user: EmployerOrAdmin,
    db: DbSession,
    settings: SettingsDep,
) -> WebhookCreated:
    """Subscribe an endpoint to the company's events (owners). Its signing secret is in
    this answer and never shown again; 422 for an address that is not https or is private;
    409 past 10 endpoints."""
    endpoint, secret = await webhooks.create(
        db, settings, user=user, company_id=company_id, url=payload.url, events=payload.events
    )
    return _created(endpoint, secret)


@router.get(
    "/companies/{company_id}/webhooks",
    name="list-webhooks",
    response_model=Page[WebhookRead],
    responses=problem_responses(401, 403, 404),
)
async def list_webhooks(
    company_id: IdPath, user: EmployerOrAdmin, db: DbSession
) -> Page[WebhookRead]:
    """The company's endpoints, newest first, never a secret (owners)."""
    found = await webhooks.listed(db, user=user, company_id=company_id)
    return Page(items=[WebhookRead.model_validate(item) for item in found], next_cursor=None)


@router.patch(
    "/companies/{company_id}/webhooks/{endpoint_id}",
    name="update-webhook",
    response_model=WebhookRead,
    responses=problem_responses(401, 403, 404),
)
async def update_webhook(
    company_id: IdPath,
    endpoint_id: IdPath,
    payload: WebhookUpdate,
    user: EmployerOrAdmin,
    db: DbSession,
    settings: SettingsDep,
) -> WebhookRead:
    """Change an endpoint's address or events, or switch it off and on (owners)."""
    endpoint = await webhooks.change(
        db,
        settings,
        user=user,
        company_id=company_id,
        endpoint_id=endpoint_id,
        url=payload.url,
        events=payload.events,
        enabled=payload.enabled,
    )
    return WebhookRead.model_validate(endpoint)


@router.delete(
    "/companies/{company_id}/webhooks/{endpoint_id}",
    name="delete-webhook",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def delete_webhook(
    company_id: IdPath, endpoint_id: IdPath, user: EmployerOrAdmin, db: DbSession
) -> Response:
    """Remove an endpoint and its record of deliveries (owners)."""
    await webhooks.delete(db, user=user, company_id=company_id, endpoint_id=endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/companies/{company_id}/webhooks/{endpoint_id}/rotate-secret",
    name="rotate-webhook-secret",
    response_model=WebhookCreated,
    responses=problem_responses(401, 403, 404),
)
async def rotate_secret(
    company_id: IdPath, endpoint_id: IdPath, user: EmployerOrAdmin, db: DbSession
) -> WebhookCreated:
    """A new signing secret, shown this once; the one it replaces signs beside it for 24
    hours (owners)."""
    endpoint, secret = await webhooks.rotate(
        db, user=user, company_id=company_id, endpoint_id=endpoint_id
    )
    return _created(endpoint, secret)


@router.get(
    "/companies/{company_id}/webhooks/{endpoint_id}/deliveries",
    name="list-webhook-deliveries",
    response_model=Page[DeliveryRead],
    responses=problem_responses(401, 403, 404),
)
async def list_deliveries(
    company_id: IdPath, endpoint_id: IdPath, user: EmployerOrAdmin, page: PageDep, db: DbSession
) -> Page[DeliveryRead]:
    """The endpoint's deliveries, newest first, with how each went (owners)."""
    paged = await webhooks.deliveries(
        db, user=user, company_id=company_id, endpoint_id=endpoint_id, page=page
    )
    return to_page(paged, DeliveryRead.model_validate)


@router.post(
    "/companies/{company_id}/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay",
    name="replay-webhook-delivery",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryRead,
    responses=problem_responses(401, 403, 404),
)
async def replay(
    company_id: IdPath,
    endpoint_id: IdPath,
    delivery_id: IdPath,
    user: EmployerOrAdmin,
    db: DbSession,
) -> DeliveryRead:
    """Send a delivery's event again, after what waits (owners): a new delivery, with the
    event's `webhook-id`."""
    made = await webhooks.replay(
        db, user=user, company_id=company_id, endpoint_id=endpoint_id, delivery_id=delivery_id
    )
    rows = await webhooks.deliveries_by_id(db, delivery_id=made.id)
    return DeliveryRead.model_validate(rows)
