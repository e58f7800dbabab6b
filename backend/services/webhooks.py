"""Webhooks: a company's owners subscribe HTTPS endpoints to the events of its jobs and
applications, and the worker posts each event there, signed the Standard Webhooks way.

- **Events** are written in the transaction of the change (`emit`), with a delivery for
  every endpoint that takes their type (one switched off keeps them waiting): an event
  exists if and only if its change committed, and an endpoint gets exactly one delivery
  per event (and one more per replay).
- **Deliveries** of an endpoint go out one at a time, oldest first (so in order for each
  application and job), by the task DELIVER_WEBHOOKS, which procrastinate runs for one
  endpoint at a time (its `lock`). An attempt is recorded as started before the request is
  sent and its result after, each in a short transaction of its own: no connection is held
  while a receiver answers. A worker killed in between leaves the delivery pending, and it
  is sent again: a receiver may see an event twice, always with the same `webhook-id`
  (`evt_` and the event's id), by which it drops the copy.
- **Signatures** are Standard Webhooks' (`webhook-id`, `webhook-timestamp`,
  `webhook-signature`, HMAC-SHA256 by the `standardwebhooks` library) with the endpoint's
  secret, `whsec_` and 32 random bytes in base64, shown once. A rotated secret keeps
  signing beside the new one for ROTATION_GRACE (two signatures in the header), so a
  receiver switches without missing a delivery.
- **Retries**: an answer other than 2xx (redirects are not followed), a timeout
  (WEBHOOK_TIMEOUT_SECONDS for the whole exchange) or a refused address is a failed attempt,
  tried again after RETRY_AFTER; after the last the delivery is `failed` and the next one
  goes. An endpoint whose every attempt failed for WEBHOOK_DISABLE_AFTER_DAYS is disabled
  and its company's owners mailed; enabling it again sends what waits, in order.
- **Addresses**: `https` only, and never to the board's own network: the host is resolved
  at each attempt, every address it has must be public (not loopback, private, link-local,
  shared, reserved or multicast), and the request goes to the checked address (with the
  host name for TLS and `Host`), so a name cannot be pointed elsewhere between the check
  and the connection. WEBHOOK_ALLOW_PRIVATE lifts both rules, for development and tests.
- Payloads carry ids, statuses and titles, never a candidate's name, address or files: an
  integration reads those with an API key (`applications:read`).
"""

import asyncio
import base64
import enum
import ipaddress
import json
import logging
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from backend.core.config import Settings
from backend.core.exceptions import Conflict, InvalidField, NotFound
from backend.core.pagination import Paged, PageRequest
from backend.db.models import (
    DeliveryState,
    Job,
    JobStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from backend.db.queue import DELIVER_WEBHOOKS, NOTIFY_WEBHOOK_DISABLED, enqueue
from backend.db.repository import webhooks as webhooks_repo
from backend.db.repository.base import AnyRow, IdPosition
from backend.db.repository.sessions import Caller
from backend.db.transactions import Transactions, own_transaction
from backend.services import members
from backend.services.members import Need

logger = logging.getLogger(__name__)

ENDPOINT_NOT_FOUND = "Webhook endpoint not found."
DELIVERY_NOT_FOUND = "Delivery not found."
MAX_ENDPOINTS = 10
ROTATION_GRACE = timedelta(hours=24)
# Seconds to wait after each failed attempt before the next; one attempt more than there
# are waits (nine in all, over about two and a half days).
RETRY_AFTER = (60, 300, 1800, 7200, 21600, 43200, 86400, 86400)
# Deliveries one run of the task makes before it gives the worker back.
BATCH = 50
USER_AGENT = "JobBoard-Webhooks/1"


class EventType(enum.StrEnum):
    application_created = "application.created"
    application_moved = "application.moved"
    application_withdrawn = "application.withdrawn"
    job_published = "job.published"
    job_closed = "job.closed"


def _lock(endpoint_id: int) -> str:
    return f"webhooks:{endpoint_id}"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


# Addresses


class Refused(Exception):
    """An address the board does not post to."""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, settings: Settings) -> str:
    """The endpoint's address as it is kept, or 422: https (http only where private
    addresses are allowed), a host, no user name or password, and never an address of the
    board's own network when written as one."""
    parts = urlsplit(url)
    allowed = ("https", "http") if settings.webhook_allow_private else ("https",)
    if parts.scheme not in allowed:
        raise InvalidField(("body", "url"), "must be an https address")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise InvalidField(("body", "url"), "must name a host, with no user name or password")
    try:
        port = parts.port
    except ValueError:
        raise InvalidField(("body", "url"), "has an invalid port") from None
    del port
    host = parts.hostname
    if not settings.webhook_allow_private:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise InvalidField(("body", "url"), "must be a public address")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and not _public(host):
            raise InvalidField(("body", "url"), "must be a public address")
    return url


async def _address(host: str, port: int, settings: Settings) -> str:
    """An address of `host` to connect to, once every address it resolves to is public."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise Refused("the host name does not resolve") from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise Refused("the host name does not resolve")
    if not settings.webhook_allow_private and not all(_public(a) for a in addresses):
        raise Refused("the host resolves to a private address")
    return addresses[0]


@dataclass(frozen=True, slots=True)
class Result:
    status: int | None
    duration_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def _post(settings: Settings, url: str, headers: dict[str, str], body: bytes) -> Result:
    """Post `body` to `url` at a checked address, within the timeout; never reads more
    than the status line and headers of the answer."""
    started = time.perf_counter()

    def took() -> int:
        return int((time.perf_counter() - started) * 1000)

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(settings.webhook_timeout_seconds):
            address = await _address(host, port, settings)
            shown = f"[{address}]" if ":" in address else address
            target = urlunsplit(
                (parts.scheme, f"{shown}:{port}", parts.path or "/", parts.query, "")
            )
            async with (
                httpx.AsyncClient(
                    timeout=settings.webhook_timeout_seconds,
                    follow_redirects=False,
                    trust_env=False,
                ) as client,
                client.stream(
                    "POST",
                    target,
                    content=body,
                    headers={**headers, "Host": parts.netloc.rpartition("@")[2]},
                    extensions={"sni_hostname": host},
                ) as response,
            ):
                status = response.status_code
    except Refused as refused:
        return Result(None, took(), f"refused: {refused}")
    except TimeoutError:
        return Result(None, took(), "timed out")
    except httpx.HTTPError as error:
        return Result(None, took(), f"could not connect or send ({type(error).__name__})")
    return Result(status, took(), None if 200 <= status < 300 else f"answered {status}")


def _signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    kept = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret is not None and expires is not None and expires > now:
        kept.append(endpoint.previous_secret)
    return kept


def signed_headers(
    secrets_: list[str], *, message_id: str, timestamp: datetime, body: bytes
) -> dict[str, str]:
    signatures = " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body)
        for secret in secrets_
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


# Events


Items = Callable[[], Awaitable[list[dict[str, Any]]]]


async def emit(db: AsyncSession, *, company_id: int, event_type: EventType, items: Items) -> None:
    """Write an event of `event_type` for each of the items `items()` makes (asked only when
    an endpoint listens: one query when none does), in the caller's transaction, with a
    delivery to every endpoint of the company that takes it (a switched-off one keeps its
    deliveries waiting until it is on again)."""
    if not await webhooks_repo.anyone_listens(
        db, company_id=company_id, event_type=event_type.value
    ):
        return
    data = await items()
    if not data:
        return
    endpoint_ids = await webhooks_repo.add_events(
        db, company_id=company_id, event_type=event_type.value, data=data
    )
    for endpoint_id in endpoint_ids:
        await enqueue(
            db,
            DELIVER_WEBHOOKS,
            queueing_lock=_lock(endpoint_id),
            lock=_lock(endpoint_id),
            endpoint_id=endpoint_id,
        )


_JOB_EVENTS = {JobStatus.published: EventType.job_published, JobStatus.closed: EventType.job_closed}


def _job_data(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "external_id": job.external_id,
        "title": job.title,
        "status": job.status.value,
    }


async def job_changed(db: AsyncSession, *, job: Job, before: JobStatus | None) -> None:
    """The events of a job whose status went from `before` (None: it is new) to what it
    is now: published (not held for review), or closed."""
    kind = _JOB_EVENTS.get(job.status)
    if job.status == before or kind is None:
        return

    async def items() -> list[dict[str, Any]]:
        return [_job_data(job)]

    await emit(db, company_id=job.company_id, event_type=kind, items=items)


async def jobs_created(db: AsyncSession, *, jobs: list[Job]) -> None:
    """The events of new jobs made together (a batch): each kind in one go a company."""
    groups: dict[tuple[EventType, int], list[dict[str, Any]]] = {}
    for job in jobs:
        kind = _JOB_EVENTS.get(job.status)
        if kind is not None:
            groups.setdefault((kind, job.company_id), []).append(_job_data(job))
    for (kind, company_id), data in groups.items():

        async def items(data: list[dict[str, Any]] = data) -> list[dict[str, Any]]:
            return data

        await emit(db, company_id=company_id, event_type=kind, items=items)


async def jobs_closed(db: AsyncSession, *, job_ids: list[int]) -> None:
    """The `job.closed` events of jobs closed together (by the worker), for each company."""
    by_company: dict[int, list[dict[str, Any]]] = {}
    for row in await webhooks_repo.jobs(db, job_ids=job_ids):
        by_company.setdefault(row.company_id, []).append(
            {
                "job_id": row.id,
                "external_id": row.external_id,
                "title": row.title,
                "status": JobStatus.closed.value,
            }
        )
    for company_id, data in by_company.items():

        async def items(data: list[dict[str, Any]] = data) -> list[dict[str, Any]]:
            return data

        await emit(db, company_id=company_id, event_type=EventType.job_closed, items=items)


# Endpoints, for the company's owners


async def _owned(db: AsyncSession, *, user: Caller, company_id: int) -> None:
    await members.require(db, user, company_id, Need.own)


async def _endpoint(
    db: AsyncSession, *, user: Caller, company_id: int, endpoint_id: int, lock: bool = False
) -> WebhookEndpoint:
    await _owned(db, user=user, company_id=company_id)
    endpoint = await webhooks_repo.endpoint(
        db, endpoint_id=endpoint_id, company_id=company_id, lock="update" if lock else None
    )
    if endpoint is None:
        raise NotFound(ENDPOINT_NOT_FOUND)
    return endpoint


async def create(
    db: AsyncSession,
    settings: Settings,
    *,
    user: Caller,
    company_id: int,
    url: str,
    events: list[EventType],
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the company (its owners) and its secret, shown this once; 409
    past MAX_ENDPOINTS; 422 for an address the board does not post to."""
    url = check_url(url, settings)
    await _owned(db, user=user, company_id=company_id)
    if await webhooks_repo.count(db, company_id=company_id) >= MAX_ENDPOINTS:
        raise Conflict(f"A company has at most {MAX_ENDPOINTS} webhook endpoints.")
    secret = new_secret()
    endpoint = await webhooks_repo.create_endpoint(
        db,
        company_id=company_id,
        url=url,
        events=sorted({event.value for event in events}),
        secret=secret,
        created_by=user.id,
    )
    await members.record(
        db, user=user, company_id=company_id, action="webhook_created", endpoint_id=endpoint.id
    )
    return endpoint, secret


async def listed(db: AsyncSession, *, user: Caller, company_id: int) -> list[WebhookEndpoint]:
    await _owned(db, user=user, company_id=company_id)
    return await webhooks_repo.endpoints(db, company_id=company_id)


async def change(
    db: AsyncSession,
    settings: Settings,
    *,
    user: Caller,
    company_id: int,
    endpoint_id: int,
    url: str | None,
    events: list[EventType] | None,
    enabled: bool | None,
) -> WebhookEndpoint:
    """Change an endpoint's address or events, or disable or enable it (enabled again, it
    sends what waits, in order)."""
    values: dict[str, object] = {}
    if url is not None:
        values["url"] = check_url(url, settings)
    if events is not None:
        values["events"] = sorted({event.value for event in events})
    endpoint = await _endpoint(
        db, user=user, company_id=company_id, endpoint_id=endpoint_id, lock=True
    )
    if enabled is True and endpoint.disabled_at is not None:
        values |= {"disabled_at": None, "failing_since": None}
    elif enabled is False and endpoint.disabled_at is None:
        values["disabled_at"] = datetime.now(UTC)
    if values:
        endpoint = await webhooks_repo.update_endpoint(db, endpoint=endpoint, **values)
    if enabled is True:
        await enqueue(
            db,
            DELIVER_WEBHOOKS,
            queueing_lock=_lock(endpoint.id),
            lock=_lock(endpoint.id),
            endpoint_id=endpoint.id,
        )
    return endpoint


async def delete(db: AsyncSession, *, user: Caller, company_id: int, endpoint_id: int) -> None:
    endpoint = await _endpoint(
        db, user=user, company_id=company_id, endpoint_id=endpoint_id, lock=True
    )
    await webhooks_repo.delete_endpoint(db, endpoint=endpoint)
    await members.record(
        db, user=user, company_id=company_id, action="webhook_deleted", endpoint_id=endpoint_id
    )


async def rotate(
    db: AsyncSession, *, user: Caller, company_id: int, endpoint_id: int
) -> tuple[WebhookEndpoint, str]:
    """A new secret, shown this once; the one it replaces keeps signing beside it for
    ROTATION_GRACE."""
    endpoint = await _endpoint(
        db, user=user, company_id=company_id, endpoint_id=endpoint_id, lock=True
    )
    secret = new_secret()
    endpoint = await webhooks_repo.update_endpoint(
        db,
        endpoint=endpoint,
        secret=secret,
        previous_secret=endpoint.secret,
        previous_secret_expires_at=datetime.now(UTC) + ROTATION_GRACE,
    )
    return endpoint, secret


async def deliveries(
    db: AsyncSession, *, user: Caller, company_id: int, endpoint_id: int, page: PageRequest
) -> Paged[AnyRow]:
    await _endpoint(db, user=user, company_id=company_id, endpoint_id=endpoint_id)
    kind = f"deliveries:{endpoint_id}"
    rows = await webhooks_repo.deliveries(
        db, endpoint_id=endpoint_id, limit=page.limit, after=page.after(kind, IdPosition)
    )
    return page.page(rows, kind)


async def replay(
    db: AsyncSession, *, user: Caller, company_id: int, endpoint_id: int, delivery_id: int
) -> WebhookDelivery:
    """Send a delivery's event again, after what waits already: a new delivery (with the
    event's `webhook-id`, so a receiver that kept the first one can tell)."""
    endpoint = await _endpoint(db, user=user, company_id=company_id, endpoint_id=endpoint_id)
    found = await webhooks_repo.delivery(db, delivery_id=delivery_id, endpoint_id=endpoint_id)
    if found is None:
        raise NotFound(DELIVERY_NOT_FOUND)
    made = await webhooks_repo.add_delivery(db, endpoint_id=endpoint.id, event_id=found.event_id)
    await enqueue(
        db,
        DELIVER_WEBHOOKS,
        queueing_lock=_lock(endpoint.id),
        lock=_lock(endpoint.id),
        endpoint_id=endpoint.id,
    )
    return made


async def deliveries_by_id(db: AsyncSession, *, delivery_id: int) -> AnyRow:
    """A delivery as the record lists it (one the caller just made or may read)."""
    row = await webhooks_repo.delivery_row(db, delivery_id=delivery_id)
    if row is None:
        raise NotFound(DELIVERY_NOT_FOUND)
    return row


# Delivering, in the worker


@dataclass(frozen=True, slots=True)
class _Attempt:
    delivery_id: int
    url: str
    headers: dict[str, str]
    body: bytes


async def _claim(
    db: AsyncSession, *, endpoint_id: int, now: datetime
) -> _Attempt | timedelta | None:
    """The next attempt of the endpoint, recorded as started; how long until the next one
    is due; or None when nothing waits (or the endpoint is gone or disabled)."""
    endpoint = await webhooks_repo.endpoint(db, endpoint_id=endpoint_id)
    if endpoint is None or endpoint.disabled_at is not None:
        return None
    delivery = await webhooks_repo.next_delivery(db, endpoint_id=endpoint_id)
    if delivery is None:
        return None
    if delivery.next_attempt_at > now:
        return delivery.next_attempt_at - now
    event = await webhooks_repo.event(db, event_id=delivery.event_id)
    assert event is not None  # deliveries go with their events
    message_id = f"evt_{event.id}"
    body = json.dumps(
        {
            "id": message_id,
            "type": event.type,
            "timestamp": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": event.data,
        },
        separators=(",", ":"),
    ).encode()
    headers = signed_headers(
        _signing_secrets(endpoint, now), message_id=message_id, timestamp=now, body=body
    )
    await webhooks_repo.update_delivery(
        db, delivery=delivery, attempts=delivery.attempts + 1, last_attempt_at=now
    )
    return _Attempt(delivery.id, endpoint.url, headers, body)


async def _record(
    db: AsyncSession, settings: Settings, *, endpoint_id: int, attempt: _Attempt, result: Result
) -> timedelta | None:
    """Keep an attempt's result; how long until the delivery is tried again (None: it is
    done, delivered or given up)."""
    delivery = await webhooks_repo.next_delivery(db, endpoint_id=endpoint_id)
    if delivery is None or delivery.id != attempt.delivery_id:
        return None  # replaced meanwhile (the endpoint changed hands or was emptied)
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "response_status": result.status,
        "duration_ms": result.duration_ms,
        "error": None if result.error is None else result.error[:200],
    }
    endpoint = await webhooks_repo.endpoint(db, endpoint_id=endpoint_id, lock="update")
    assert endpoint is not None  # its delivery is there
    if result.ok:
        await webhooks_repo.update_delivery(
            db, delivery=delivery, state=DeliveryState.succeeded, delivered_at=now, **values
        )
        if endpoint.failing_since is not None:
            await webhooks_repo.update_endpoint(db, endpoint=endpoint, failing_since=None)
        return None
    wait: timedelta | None = None
    if delivery.attempts > len(RETRY_AFTER):
        values["state"] = DeliveryState.failed
    else:
        wait = timedelta(seconds=RETRY_AFTER[delivery.attempts - 1])
        values["next_attempt_at"] = now + wait
    await webhooks_repo.update_delivery(db, delivery=delivery, **values)
    since = endpoint.failing_since or now
    changes: dict[str, object] = {"failing_since": since}
    if now - since >= timedelta(days=settings.webhook_disable_after_days):
        changes["disabled_at"] = now
        for owner_id in await webhooks_repo.owners_to_mail(db, company_id=endpoint.company_id):
            await enqueue(
                db,
                NOTIFY_WEBHOOK_DISABLED,
                endpoint_id=endpoint.id,
                user_id=owner_id,
                disabled_at=now.isoformat(),
            )
        logger.warning("webhook endpoint %d disabled after failing since %s", endpoint.id, since)
        wait = None
    await webhooks_repo.update_endpoint(db, endpoint=endpoint, **changes)
    return wait


async def deliver(transactions: Transactions, settings: Settings, *, endpoint_id: int) -> int:
    """Make the endpoint's due deliveries in order, up to BATCH; the number made. A
    failed one (to be tried again later) or one not due yet stops the run, and the next
    run is asked for when it is due."""
    made = 0
    wait: timedelta | None = None
    for _ in range(BATCH):
        async with own_transaction(transactions) as db:
            claimed = await _claim(db, endpoint_id=endpoint_id, now=datetime.now(UTC))
        if not isinstance(claimed, _Attempt):
            wait = claimed
            break
        result = await _post(settings, claimed.url, claimed.headers, claimed.body)
        made += 1
        async with own_transaction(transactions) as db:
            wait = await _record(
                db, settings, endpoint_id=endpoint_id, attempt=claimed, result=result
            )
        if wait is not None:
            break
    else:
        wait = timedelta(0)  # more waits: the next run goes on at once
    if wait is not None:
        async with own_transaction(transactions) as db:
            await enqueue(
                db,
                DELIVER_WEBHOOKS,
                queueing_lock=_lock(endpoint_id),
                lock=_lock(endpoint_id),
                delay=wait if wait > timedelta(0) else None,
                endpoint_id=endpoint_id,
            )
    return made


async def schedule_due(transactions: Transactions) -> int:
    """Ask for a run for every endpoint whose next delivery is due (a run asked for when a
    delivery was made or failed may have been lost with its worker)."""
    async with own_transaction(transactions) as db:
        due = await webhooks_repo.due_endpoints(db, limit=10_000)
        for endpoint_id in due:
            await enqueue(
                db,
                DELIVER_WEBHOOKS,
                queueing_lock=_lock(endpoint_id),
                lock=_lock(endpoint_id),
                endpoint_id=endpoint_id,
            )
    return len(due)
