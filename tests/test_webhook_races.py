"""Webhook events under concurrency, with real parallel requests on a live app: exactly one
event, and one delivery per endpoint, for each change that committed."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from backend.db.models import Role, WebhookDelivery, WebhookEvent
from tests.conftest import ClientFactory
from tests.test_races import REPEATS, live_job, live_user

API = "/api/v1"
CANDIDATES = 6


@pytest.fixture
async def client(make_live_client: ClientFactory) -> httpx.AsyncClient:
    return await make_live_client(rate_limits_enabled=False, webhook_allow_private=True)


async def test_parallel_applications_and_moves_write_one_event_each(
    client: httpx.AsyncClient,
) -> None:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    for _ in range(REPEATS):
        _, employer = await live_user(client, Role.employer)
        job_id = await live_job(client, employer)
        company_id = (await client.get(f"{API}/jobs/{job_id}")).json()["company_id"]
        endpoints = []
        for path in ("a", "b"):
            made = await client.post(
                f"{API}/companies/{company_id}/webhooks",
                json={
                    "url": f"http://127.0.0.1:9/{path}",
                    "events": ["application.created", "application.moved"],
                },
                headers=employer,
            )
            assert made.status_code == 201, made.text
            endpoints.append(made.json()["id"])
        candidates = [await live_user(client, Role.candidate) for _ in range(CANDIDATES)]
        applied = await asyncio.gather(
            *(
                client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=headers)
                for _, headers in candidates
            )
        )
        assert [answer.status_code for answer in applied] == [201] * CANDIDATES
        ids = sorted(answer.json()["id"] for answer in applied)
        # Every application moved twice at once: one move each wins, the other is no change.
        moved = await asyncio.gather(
            *(
                client.patch(
                    f"{API}/applications/{application_id}",
                    json={"status": "reviewing"},
                    headers=employer,
                )
                for application_id in ids + ids
            )
        )
        assert {answer.status_code for answer in moved} == {200}
        async with app.state.sessionmaker() as db:
            events = (
                await db.execute(
                    select(WebhookEvent.type, WebhookEvent.data["application_id"].as_integer())
                    .where(WebhookEvent.company_id == company_id)
                    .order_by(WebhookEvent.id)
                )
            ).all()
            deliveries = await db.scalar(
                select(func.count()).where(WebhookDelivery.endpoint_id.in_(endpoints))
            )
        created = sorted(i for kind, i in events if kind == "application.created")
        moves = sorted(i for kind, i in events if kind == "application.moved")
        assert created == ids
        assert moves == ids
        assert deliveries == 2 * len(events)
