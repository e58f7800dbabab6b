"""Webhooks: companies' endpoints, the events of their jobs and applications, and each
delivery of an event to an endpoint (see backend.services.webhooks)."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Identity, Index, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base

WEBHOOK_URL_MAX_LENGTH = 2048
EVENT_TYPE_MAX_LENGTH = 40


class DeliveryState(enum.StrEnum):
    """Where a delivery stands: waiting for its (next) attempt, answered with a 2xx, or
    given up after its last attempt."""

    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class WebhookEndpoint(Base):
    """An HTTPS address a company's events are posted to, signed with its secret (the
    previous secret still signs beside it until `previous_secret_expires_at`)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    company_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(WEBHOOK_URL_MAX_LENGTH))
    events: Mapped[list[str]] = mapped_column(ARRAY(String(EVENT_TYPE_MAX_LENGTH)))
    # The signing secrets, `whsec_` and base64: needed to sign, so kept as they are, and
    # never read back by the API after the answer that made them.
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Since when every attempt failed (None after a success); disabled once that lasts
    # WEBHOOK_DISABLE_AFTER_DAYS.
    failing_since: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]


class WebhookEvent(Base):
    """Something that happened to a company's job or application, written in the
    transaction of the change: its id is the `webhook-id` of every delivery of it."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_company_id_id", "company_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    company_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("companies.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(EVENT_TYPE_MAX_LENGTH))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WebhookDelivery(Base):
    """An event to post to an endpoint, and how its attempts went. An endpoint's
    deliveries go out one at a time, oldest first."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
        # The deliveries still to make, for the worker's sweep.
        Index(
            "ix_webhook_deliveries_pending",
            "endpoint_id",
            "id",
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[DeliveryState] = mapped_column(
        Enum(
            DeliveryState,
            name="webhook_delivery_state",
            values_callable=lambda ks: [k.value for k in ks],
        ),
        server_default=DeliveryState.pending.value,
    )
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_attempt_at: Mapped[datetime | None]
    response_status: Mapped[int | None]
    duration_ms: Mapped[int | None]
    # Why the last attempt failed, in the board's words (never the receiver's body).
    error: Mapped[str | None] = mapped_column(String(200))
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
