"""Webhooks: companies' endpoints and the record of their deliveries."""

from typing import Annotated

from pydantic import ConfigDict, Field

from backend.db.models import DeliveryState
from backend.schemas.base import PatchModel, RequestModel, ResponseModel, StrictBool, Timestamp
from backend.schemas.company import Website
from backend.services.webhooks import EventType

Events = Annotated[list[EventType], Field(min_length=1, max_length=len(EventType))]


class WebhookCreate(RequestModel):
    url: Website = Field(description="https, at a public address")
    events: Events

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://ats.example/hooks/board",
                    "events": ["application.created", "application.moved"],
                }
            ]
        }
    )


class WebhookUpdate(PatchModel):
    url: Website | None = None
    events: Events | None = None
    enabled: StrictBool | None = Field(
        default=None, description="false switches it off; true on again, sending what waits"
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"enabled": True}]})


class WebhookRead(ResponseModel):
    id: int
    url: str
    events: list[EventType]
    created_at: Timestamp
    failing_since: Timestamp | None = Field(description="Since when every attempt failed")
    disabled_at: Timestamp | None = Field(description="Switched off: by an owner, or failing")
    previous_secret_expires_at: Timestamp | None = Field(
        description="Until when the secret before the last rotation still signs"
    )


class WebhookCreated(WebhookRead):
    secret: str = Field(description="Shown this once: verify the signatures with it")


class DeliveryRead(ResponseModel):
    id: int
    event_id: int
    event_type: EventType
    state: DeliveryState
    attempts: int
    response_status: int | None
    duration_ms: int | None
    error: str | None
    created_at: Timestamp
    last_attempt_at: Timestamp | None
    next_attempt_at: Timestamp = Field(description="When a pending delivery is tried next")
    delivered_at: Timestamp | None
