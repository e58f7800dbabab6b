"""`Idempotency-Key` on the POSTs integrations retry: the first answer again, nothing done
twice, another body refused, racing retries one change, keys purged after a day."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import ApplicationEvent, IdempotencyKey, Job, Role
from backend.services import housekeeping, idempotency
from tests.conftest import ClientFactory
from tests.factories import (
    Actors,
    assert_problem,
    create_application,
    create_job,
    create_user,
    job_body,
)

API = "/api/v1"


def company_id(actors: Actors) -> int:
    assert actors.employer.company is not None
    return actors.employer.company.id


async def jobs_titled(db: AsyncSession, title: str) -> int:
    statement = select(func.count()).where(Job.title == title)
    return (await db.execute(statement)).scalar_one()


async def test_a_retried_post_gets_the_first_answer_and_posts_nothing_more(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    headers = {**actors.employer.headers, "Idempotency-Key": "post-job-1"}
    body = job_body(company_id(actors), title="Only Once")
    first = await client.post(f"{API}/jobs", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = await client.post(f"{API}/jobs", json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert await jobs_titled(db, "Only Once") == 1
    # The same key with another request is refused, and does nothing.
    other = await client.post(f"{API}/jobs", json={**body, "title": "Another One"}, headers=headers)
    problem = assert_problem(other, 422)
    assert "Idempotency-Key" in str(problem)
    assert await jobs_titled(db, "Another One") == 0
    # Without a key, the same body posts again, as ever.
    plain = await client.post(f"{API}/jobs", json=body, headers=actors.employer.headers)
    assert plain.status_code == 201
    assert await jobs_titled(db, "Only Once") == 2


async def test_a_key_is_the_accounts_own_and_a_refusal_keeps_nothing(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    assert actors.other_employer.company is not None
    key = {"Idempotency-Key": "shared-name"}
    # Someone else's company: 403, and the key stays free.
    refused = await client.post(
        f"{API}/jobs",
        json=job_body(actors.other_employer.company.id, title="Refused"),
        headers={**actors.employer.headers, **key},
    )
    assert_problem(refused, 403)
    mine = await client.post(
        f"{API}/jobs",
        json=job_body(company_id(actors), title="Mine"),
        headers={**actors.employer.headers, **key},
    )
    assert mine.status_code == 201, mine.text
    theirs = await client.post(
        f"{API}/jobs",
        json=job_body(actors.other_employer.company.id, title="Theirs"),
        headers={**actors.other_employer.headers, **key},
    )
    assert theirs.status_code == 201, theirs.text
    assert "Idempotent-Replayed" not in theirs.headers
    assert (await jobs_titled(db, "Mine"), await jobs_titled(db, "Theirs")) == (1, 1)


@pytest.mark.parametrize("key", [b"", b"x" * 201, b"has space", "clé".encode()])
async def test_a_key_out_of_its_alphabet_is_422(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, key: bytes
) -> None:
    response = await client.post(
        f"{API}/jobs",
        json=job_body(company_id(actors), title="Keyed"),
        headers=[
            *((name.encode(), value.encode()) for name, value in actors.employer.headers.items()),
            (b"Idempotency-Key", key),
        ],
    )
    assert_problem(response, 422)
    assert await jobs_titled(db, "Keyed") == 0


async def test_a_retried_bulk_move_moves_nothing_twice(
    client: httpx.AsyncClient, db: AsyncSession, app: Any, actors: Actors
) -> None:
    assert actors.employer.company is not None
    job = await create_job(db, company=actors.employer.company)
    ids = [
        (await create_application(db, job=job, candidate=await create_user(db, app))).id
        for _ in range(2)
    ]
    url = f"{API}/jobs/{job.id}/applications/status"
    headers = {**actors.employer.headers, "Idempotency-Key": "move-1"}
    body = {"application_ids": ids, "status": "reviewing"}
    first = await client.post(url, json=body, headers=headers)
    assert first.status_code == 200, first.text
    # Moved on since; the retry still answers as the first did, and undoes nothing.
    await client.post(
        url,
        json={"application_ids": ids, "status": "interviewing"},
        headers=actors.employer.headers,
    )
    again = await client.post(url, json=body, headers=headers)
    assert again.json() == first.json()
    moves = select(func.count()).where(ApplicationEvent.kind == "moved")
    assert (await db.execute(moves)).scalar_one() == 4


async def test_a_retried_batch_of_upserts(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    url = f"{API}/companies/{company_id(actors)}/jobs/external"
    body = {"jobs": [{**job_body(1, title="Batched"), "external_id": "K-1"}]}
    del body["jobs"][0]["company_id"]
    headers = {**actors.employer.headers, "Idempotency-Key": "batch-1"}
    first = await client.post(url, json=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["results"][0]["outcome"] == "created"
    again = await client.post(url, json=body, headers=headers)
    assert again.json() == first.json()  # "created", as the first answer said
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await jobs_titled(db, "Batched") == 1


async def test_keys_are_purged_after_a_day(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    headers = {**actors.employer.headers, "Idempotency-Key": "old-key"}
    body = job_body(company_id(actors), title="Long Ago")
    await client.post(f"{API}/jobs", json=body, headers=headers)
    await db.execute(
        update(IdempotencyKey).values(created_at=datetime.now(UTC) - idempotency.KEPT * 2)
    )
    app = client.app  # type: ignore[attr-defined]
    removed = await housekeeping.purge(db, app.state.settings)
    assert removed["idempotency keys"] == 1
    again = await client.post(f"{API}/jobs", json=body, headers=headers)
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert await jobs_titled(db, "Long Ago") == 2


async def test_retries_at_once_make_one_job(make_live_client: ClientFactory) -> None:
    from tests.test_races import REPEATS, live_user

    client = await make_live_client(rate_limits_enabled=False)
    _, employer = await live_user(client, Role.employer)
    made = await client.post(f"{API}/companies", json={"name": "Retry Co"}, headers=employer)
    app = client.app  # type: ignore[attr-defined]
    for attempt in range(REPEATS):
        title = f"Retried {attempt}"
        body = job_body(made.json()["id"], title=title)
        headers = {**employer, "Idempotency-Key": f"race-{attempt}"}
        responses = await asyncio.gather(
            *(client.post(f"{API}/jobs", json=body, headers=headers) for _ in range(5))
        )
        assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
        assert len({r.json()["id"] for r in responses}) == 1
        assert sum("Idempotent-Replayed" in r.headers for r in responses) == 4
        async with app.state.sessionmaker() as db:
            assert await jobs_titled(db, title) == 1
