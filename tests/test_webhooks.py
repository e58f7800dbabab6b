"""Webhooks: endpoints managed by a company's owners, events written with their changes,
each delivered once per endpoint in order, signed the Standard Webhooks way, retried,
recorded, replayed, rotated, disabled after failing, and never sent to a private address
unless allowed."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from backend.db.models import (
    Company,
    MemberRole,
    Role,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from backend.db.repository import members as members_repo
from backend.services import webhooks
from tests.conftest import ClientFactory, Sent
from tests.factories import (
    Actors,
    assert_problem,
    create_application,
    create_job,
    create_user,
    job_body,
    session_headers,
)
from tests.mailbox import text_of, to
from tests.receiver import Receiver, receiving
from tests.tasks import run_queued

API = "/api/v1"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


@pytest.fixture
async def mail_client(make_client: ClientFactory, tmp_path: Path) -> httpx.AsyncClient:
    return await make_client(
        mail_backend="file",
        mail_file_dir=tmp_path,
        frontend_url="https://jobs.example",
        webhook_allow_private=True,
        webhook_timeout_seconds=1.0,
    )


async def subscribe(
    client: httpx.AsyncClient,
    actors: Actors,
    company: Company,
    url: str,
    events: list[str] | None = None,
) -> dict[str, Any]:
    made = await client.post(
        f"{API}/companies/{company.id}/webhooks",
        json={"url": url, "events": events or ["application.created", "application.moved"]},
        headers=actors.employer.headers,
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def deliver(client: httpx.AsyncClient, db: AsyncSession) -> None:
    """Run the tasks due now, as a worker would (retries scheduled later stay queued)."""
    await run_queued(client, db, due_only=True)


async def time_passes(db: AsyncSession) -> None:
    """Every delivery and delivery run waiting for a later time is due now."""
    await db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.state == "pending")
        .values(next_attempt_at=func.now() - timedelta(seconds=1))
    )
    await db.execute(
        text(
            "UPDATE procrastinate_jobs SET scheduled_at = now() - interval '1 second' "
            "WHERE status = 'todo' AND scheduled_at IS NOT NULL"
        )
    )


async def deliveries(
    client: httpx.AsyncClient, actors: Actors, company: Company, endpoint: dict[str, Any]
) -> list[dict[str, Any]]:
    listed = await client.get(
        f"{API}/companies/{company.id}/webhooks/{endpoint['id']}/deliveries",
        headers=actors.employer.headers,
    )
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def apply(client: httpx.AsyncClient, actors: Actors, job_id: int) -> int:
    made = await client.post(
        f"{API}/jobs/{job_id}/applications", json={}, headers=actors.candidate.headers
    )
    assert made.status_code == 201, made.text
    application_id: int = made.json()["id"]
    return application_id


async def test_an_application_and_its_move_are_posted_signed_in_order(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    company: Company,
    receiver: Receiver,
) -> None:
    endpoint = await subscribe(mail_client, actors, company, receiver.url)
    secret = endpoint["secret"]
    assert secret.startswith("whsec_")
    listed = await mail_client.get(
        f"{API}/companies/{company.id}/webhooks", headers=actors.employer.headers
    )
    assert "secret" not in listed.json()["items"][0]
    job = await create_job(db, company=company)
    application_id = await apply(mail_client, actors, job.id)
    moved = await mail_client.patch(
        f"{API}/applications/{application_id}",
        json={"status": "reviewing"},
        headers=actors.employer.headers,
    )
    assert moved.status_code == 200, moved.text
    assert receiver.received == []  # after the commit, by the worker
    await deliver(mail_client, db)

    first, second = (message.verified(secret) for message in receiver.received)
    assert (first["type"], second["type"]) == ("application.created", "application.moved")
    assert first["data"] == {
        "application_id": application_id,
        "job_id": job.id,
        "status": "submitted",
        "stage": "applied",
    }
    assert second["data"]["previous_status"] == "submitted"
    assert second["data"]["status"] == "reviewing"
    ids = [message.headers["webhook-id"] for message in receiver.received]
    assert ids == [first["id"], second["id"]]
    assert ids[0].startswith("evt_")
    assert ids[0] != ids[1]
    # Another secret does not verify them.
    with pytest.raises(Exception, match="signature"):
        receiver.received[0].verified("whsec_" + "A" * 43 + "=")
    records = await deliveries(mail_client, actors, company, endpoint)
    assert [
        (r["event_type"], r["state"], r["attempts"], r["response_status"]) for r in records
    ] == [
        ("application.moved", "succeeded", 1, 204),
        ("application.created", "succeeded", 1, 204),
    ]
    assert all(r["duration_ms"] is not None and r["delivered_at"] for r in records)


async def test_nothing_is_written_when_no_endpoint_takes_the_event(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    company: Company,
    receiver: Receiver,
) -> None:
    await subscribe(mail_client, actors, company, receiver.url, events=["job.closed"])
    job = await create_job(db, company=company)
    await apply(mail_client, actors, job.id)
    await deliver(mail_client, db)
    assert receiver.received == []
    assert await db.scalar(select(func.count()).select_from(WebhookEvent)) == 0


async def test_a_failed_delivery_is_retried_later_and_holds_the_next_ones_back(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    company: Company,
    receiver: Receiver,
) -> None:
    endpoint = await subscribe(mail_client, actors, company, receiver.url)
    job = await create_job(db, company=company)
    receiver.answers = [500]
    first = await apply(mail_client, actors, job.id)
    await deliver(mail_client, db)
    (failed,) = await deliveries(mail_client, actors, company, endpoint)
    assert (failed["state"], failed["attempts"], failed["response_status"], failed["error"]) == (
        "pending",
        1,
        500,
        "answered 500",
    )
    assert failed["next_attempt_at"] > failed["last_attempt_at"]
    moved = await mail_client.patch(
        f"{API}/applications/{first}", json={"status": "reviewing"}, headers=actors.employer.headers
    )
    assert moved.status_code == 200
    await deliver(mail_client, db)
    assert len(receiver.received) == 1  # the move waits behind the failed creation
    await time_passes(db)
    await deliver(mail_client, db)
    types = [message.verified(endpoint["secret"])["type"] for message in receiver.received]
    assert types == ["application.created", "application.created", "application.moved"]
    # The retry is the same message: a receiver that kept the first drops it by its id.
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]
    failing = await db.scalar(
        select(WebhookEndpoint.failing_since).where(WebhookEndpoint.id == endpoint["id"])
    )
    assert failing is None  # a success ends the failing


async def test_a_delivery_replayed_goes_again_with_its_events_id(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    company: Company,
    receiver: Receiver,
) -> None:
    endpoint = await subscribe(mail_client, actors, company, receiver.url)
    await apply(mail_client, actors, (await create_job(db, company=company)).id)
    await deliver(mail_client, db)
    (done,) = await deliveries(mail_client, actors, company, endpoint)
    replayed = await mail_client.post(
        f"{API}/companies/{company.id}/webhooks/{endpoint['id']}/deliveries/{done['id']}/replay",
        headers=actors.employer.headers,
    )
    assert replayed.status_code == 202, replayed.text
    assert (replayed.json()["state"], replayed.json()["event_id"]) == ("pending", done["event_id"])
    await deliver(mail_client, db)
    first, again = receiver.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"]
    assert len(await deliveries(mail_client, actors, company, endpoint)) == 2


async def test_an_endpoint_failing_for_days_is_switched_off_and_its_owners_mailed(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    tmp_path: Path,
    actors: Actors,
    company: Company,
    receiver: Receiver,
) -> None:
    second_owner = await create_user(db, app, role=Role.employer)
    await members_repo.add(
        db, company_id=company.id, user_id=second_owner.id, role=MemberRole.owner
    )
    recruiter = await create_user(db, app, role=Role.employer)
    await members_repo.add(
        db, company_id=company.id, user_id=recruiter.id, role=MemberRole.recruiter
    )
    endpoint = await subscribe(mail_client, actors, company, receiver.url)
    await db.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint["id"])
        .values(failing_since=func.now() - timedelta(days=4))
    )
    receiver.default = 503
    job = await create_job(db, company=company)
    await apply(mail_client, actors, job.id)
    await sent()
    listed = await mail_client.get(
        f"{API}/companies/{company.id}/webhooks", headers=actors.employer.headers
    )
    (shown,) = listed.json()["items"]
    assert shown["disabled_at"] is not None
    subject = "Webhooks to 127.0.0.1 are switched off"
    mailed = [
        mail
        for address in (actors.employer.user.email, second_owner.email, recruiter.email)
        for mail in to(tmp_path, address)
        if mail["Subject"] == subject
    ]
    assert sorted(mail["To"] for mail in mailed) == sorted(
        [actors.employer.user.email, second_owner.email]
    )
    assert "answered 503" in text_of(mailed[0])
    # Switched off, it gets nothing; on again, what waits goes out.
    receiver.default = 204
    await apply(mail_client, actors, (await create_job(db, company=company)).id)
    await deliver(mail_client, db)
    assert len(receiver.received) == 1
    on = await mail_client.patch(
        f"{API}/companies/{company.id}/webhooks/{endpoint['id']}",
        json={"enabled": True},
        headers=actors.employer.headers,
    )
    assert on.json()["disabled_at"] is None
    await time_passes(db)
    await deliver(mail_client, db)
    assert len(receiver.received) == 3


async def test_a_rotated_secret_signs_beside_the_new_one_for_a_day(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    company: Company,
    receiver: Receiver,
) -> None:
    endpoint = await subscribe(mail_client, actors, company, receiver.url)
    rotated = await mail_client.post(
        f"{API}/companies/{company.id}/webhooks/{endpoint['id']}/rotate-secret",
        headers=actors.employer.headers,
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != endpoint["secret"]
    job = await create_job(db, company=company)
    await apply(mail_client, actors, job.id)
    await deliver(mail_client, db)
    (message,) = receiver.received
    assert len(message.headers["webhook-signature"].split(" ")) == 2
    assert message.verified(new) == message.verified(endpoint["secret"])
    # Past the grace, only the new secret signs.
    await db.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint["id"])
        .values(previous_secret_expires_at=func.now() - timedelta(seconds=1))
    )
    await apply(mail_client, actors, (await create_job(db, company=company)).id)
    await deliver(mail_client, db)
    latest = receiver.received[-1]
    latest.verified(new)
    with pytest.raises(Exception, match="signature"):
        latest.verified(endpoint["secret"])


@pytest.mark.parametrize("problem", ["redirect", "timeout"])
async def test_a_redirect_is_not_followed_and_a_slow_receiver_times_out(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    company: Company,
    receiver: Receiver,
    problem: str,
) -> None:
    endpoint = await subscribe(mail_client, actors, company, receiver.url)
    if problem == "redirect":
        receiver.answers = [302]
        receiver.redirect_to = "http://127.0.0.1:9/elsewhere"
    else:
        receiver.delay = 1.5
    await apply(mail_client, actors, (await create_job(db, company=company)).id)
    await deliver(mail_client, db)
    (record,) = await deliveries(mail_client, actors, company, endpoint)
    assert record["state"] == "pending"
    assert record["error"] == ("answered 302" if problem == "redirect" else "timed out")
    assert len(receiver.received) == 1


async def test_no_delivery_reaches_a_private_address_unless_allowed(
    make_client: ClientFactory,
    db: AsyncSession,
    actors: Actors,
    company: Company,
    receiver: Receiver,
) -> None:
    strict = await make_client(webhook_timeout_seconds=1.0)
    for url in (
        receiver.url,
        f"https://127.0.0.1:{receiver.port}/hooks",
        "https://10.1.2.3/hooks",
        "https://[::1]/hooks",
        "https://localhost/hooks",
        "https://metadata.internal/hooks",
        "https://169.254.169.254/latest",
    ):
        refused = await strict.post(
            f"{API}/companies/{company.id}/webhooks",
            json={"url": url, "events": ["application.created"]},
            headers=actors.employer.headers,
        )
        assert_problem(refused, 422)
    # A name that resolves to a private address is refused when the delivery is made.
    endpoint = WebhookEndpoint(
        company_id=company.id,
        url=f"https://localhost:{receiver.port}/hooks",
        events=["application.created"],
        secret="whsec_" + "A" * 43 + "=",
    )
    db.add(endpoint)
    await db.flush()
    await apply(strict, actors, (await create_job(db, company=company)).id)
    await run_queued(strict, db, due_only=True)
    assert receiver.received == []
    error = await db.scalar(
        select(WebhookDelivery.error).where(WebhookDelivery.endpoint_id == endpoint.id)
    )
    assert error == "refused: the host resolves to a private address"


async def test_a_bulk_move_posts_one_event_per_application_and_jobs_post_theirs(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    receiver: Receiver,
) -> None:
    endpoint = await subscribe(
        mail_client,
        actors,
        company,
        receiver.url,
        events=["application.moved", "job.published", "job.closed"],
    )
    job = await create_job(db, company=company)
    candidates = [await create_user(db, app, role=Role.candidate) for _ in range(3)]
    made = [await create_application(db, job=job, candidate=c) for c in candidates]
    ids = sorted(application.id for application in made)
    moved = await mail_client.post(
        f"{API}/jobs/{job.id}/applications/status",
        json={"application_ids": ids, "status": "reviewing"},
        headers=actors.employer.headers,
    )
    assert moved.status_code == 200, moved.text
    posted = await mail_client.post(
        f"{API}/jobs",
        json=job_body(company.id, status="published"),
        headers=actors.employer.headers,
    )
    assert posted.status_code == 201, posted.text
    closed = await mail_client.patch(
        f"{API}/jobs/{posted.json()['id']}",
        json={"status": "closed"},
        headers=actors.employer.headers,
    )
    assert closed.status_code == 200, closed.text
    await deliver(mail_client, db)
    payloads = [message.verified(endpoint["secret"]) for message in receiver.received]
    assert [(p["type"], p["data"].get("application_id")) for p in payloads[:3]] == [
        ("application.moved", application_id) for application_id in ids
    ]
    assert [(p["type"], p["data"]["job_id"]) for p in payloads[3:]] == [
        ("job.published", posted.json()["id"]),
        ("job.closed", posted.json()["id"]),
    ]


async def test_only_owners_manage_webhooks_and_others_learn_nothing(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, actors: Actors, company: Company
) -> None:
    recruiter = await create_user(db, app, role=Role.employer)
    await members_repo.add(
        db, company_id=company.id, user_id=recruiter.id, role=MemberRole.recruiter
    )
    headers = await session_headers(db, app, recruiter)
    body = {"url": "https://ats.example/hooks", "events": ["job.closed"]}
    path = f"{API}/companies/{company.id}/webhooks"
    assert_problem(await client.post(path, json=body, headers=headers), 403)
    assert_problem(await client.get(path, headers=headers), 403)
    assert_problem(await client.post(path, json=body, headers=actors.other_employer.headers), 404)
    made = await client.post(path, json=body, headers=actors.employer.headers)
    assert made.status_code == 201
    elsewhere = f"{API}/companies/{actors.other_employer.company.id}/webhooks/{made.json()['id']}"  # type: ignore[union-attr]
    assert_problem(await client.delete(elsewhere, headers=actors.other_employer.headers), 404)
    assert_problem(
        await client.post(
            path, json={**body, "events": ["job.deleted"]}, headers=actors.employer.headers
        ),
        422,
    )
    assert_problem(
        await client.post(
            path, json={**body, "url": "ftp://ats.example/"}, headers=actors.employer.headers
        ),
        422,
    )
    # The secret never comes back after its answer.
    assert Webhook(made.json()["secret"])
    listed = await client.get(path, headers=actors.employer.headers)
    assert made.json()["secret"] not in listed.text


async def test_the_sweep_asks_for_a_run_of_each_endpoint_with_a_due_delivery(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    company: Company,
    receiver: Receiver,
) -> None:
    await subscribe(mail_client, actors, company, receiver.url)
    await apply(mail_client, actors, (await create_job(db, company=company)).id)
    # The run asked for with the event is lost (its worker died before it began).
    await db.execute(text("DELETE FROM procrastinate_jobs WHERE task_name = 'deliver_webhooks'"))
    await run_queued(mail_client, db, due_only=True)
    assert receiver.received == []
    application: FastAPI = mail_client.app  # type: ignore[attr-defined]
    assert await webhooks.schedule_due(application.state.sessionmaker) == 1
    await deliver(mail_client, db)
    assert len(receiver.received) == 1
    assert await webhooks.schedule_due(application.state.sessionmaker) == 0
