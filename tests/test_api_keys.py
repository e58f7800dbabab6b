"""Companies' API keys: made by the owner, the secret shown once and kept as a digest, acting
for their company within their scopes on the routes that take keys only, revoked at once,
expiring, rate-limited."""

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import ApiKey, Company, Role
from tests.conftest import ClientFactory
from tests.factories import Actors, assert_problem

API = "/api/v1"


def job(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "Keyed Engineer",
        "description": "Published by a machine.",
        "location": "Porto",
        "workplace": "remote",
        "employment_type": "full_time",
        **overrides,
    }


@pytest.fixture
def company(actors: Actors) -> Company:
    assert actors.employer.company is not None
    return actors.employer.company


async def make_key(
    client: httpx.AsyncClient, actors: Actors, company: Company, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/companies/{company.id}/api-keys",
        json={"name": "Our ATS", "scopes": ["jobs:read", "jobs:write"], **body},
        headers=actors.employer.headers,
    )
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def bearer(key: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['secret']}"}


async def test_a_key_is_shown_once_kept_as_a_digest_and_publishes(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    key = await make_key(client, actors, company)
    secret = key["secret"]
    assert secret.startswith("jbk_")
    assert len(secret) >= 40
    assert key["prefix"] == secret[:12]
    stored = (await db.execute(select(ApiKey).where(ApiKey.id == key["id"]))).scalar_one()
    assert stored.secret_hash == hashlib.sha256(secret.encode()).digest()
    assert secret.encode() not in stored.secret_hash
    target = f"{API}/companies/{company.id}/jobs/external/K-1"
    created = await client.put(target, json=job(), headers=bearer(key))
    assert created.status_code == 201, created.text
    read = await client.get(target, headers=bearer(key))
    assert read.json()["id"] == created.json()["id"]
    listed = await client.get(
        f"{API}/companies/{company.id}/api-keys", headers=actors.employer.headers
    )
    (shown,) = listed.json()["items"]
    assert "secret" not in shown
    assert shown["last_used_at"] is not None
    assert shown["scopes"] == ["jobs:read", "jobs:write"]


async def test_a_key_acts_for_its_company_within_its_scopes_only(
    client: httpx.AsyncClient, actors: Actors, company: Company
) -> None:
    reader = await make_key(client, actors, company, name="Reader", scopes=["jobs:read"])
    target = f"{API}/companies/{company.id}/jobs/external/K-2"
    assert_problem(await client.put(target, json=job(), headers=bearer(reader)), 403)
    await client.put(target, json=job(), headers=actors.employer.headers)
    assert (await client.get(target, headers=bearer(reader))).status_code == 200
    assert_problem(await client.post(f"{target}/close", headers=bearer(reader)), 403)
    # Another company's routes: 404, as for anyone who may not see them.
    assert actors.other_employer.company is not None
    elsewhere = f"{API}/companies/{actors.other_employer.company.id}/jobs/external/K-2"
    assert_problem(await client.get(elsewhere, headers=bearer(reader)), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/users/me"),
        ("GET", "/users/me/jobs"),
        ("POST", "/jobs"),
        ("PATCH", "/users/me"),
        ("GET", "/admin/users"),
        ("POST", "/auth/logout-all"),
        ("GET", "/companies/{company}/api-keys"),
        ("POST", "/companies/{company}/api-keys"),
        ("GET", "/users/me/applicants"),
        ("PUT", "/users/me/saved-jobs/1"),
        ("GET", "/users/me/job-markers?job_id=1"),
    ],
)
async def test_a_key_never_reaches_a_route_for_people(
    client: httpx.AsyncClient, actors: Actors, company: Company, method: str, path: str
) -> None:
    key = await make_key(client, actors, company)
    response = await client.request(
        method, API + path.format(company=company.id), json={}, headers=bearer(key)
    )
    assert_problem(response, 401)


async def test_a_revoked_or_expired_key_is_refused_at_once(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    key = await make_key(client, actors, company)
    target = f"{API}/companies/{company.id}/jobs/external/K-3"
    assert (await client.put(target, json=job(), headers=bearer(key))).status_code == 201
    revoked = await client.delete(
        f"{API}/companies/{company.id}/api-keys/{key['id']}", headers=actors.employer.headers
    )
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert_problem(await client.get(target, headers=bearer(key)), 401)
    later = await make_key(client, actors, company, name="Short")
    await db.execute(
        update(ApiKey)
        .where(ApiKey.id == later["id"])
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    assert_problem(await client.get(target, headers=bearer(later)), 401)
    forged = {"Authorization": "Bearer jbk_" + "A" * 43}
    assert_problem(await client.get(target, headers=forged), 401)
    # A key that is none learns nothing of what exists: 401 for a job there or not.
    for job_id in (1, 999_999_999):
        missing = await client.get(f"{API}/jobs/{job_id}/applications", headers=forged)
        assert_problem(missing, 401)


async def test_only_the_owner_manages_the_keys(
    client: httpx.AsyncClient, actors: Actors, company: Company
) -> None:
    key = await make_key(client, actors, company)
    for who in ("other_employer", "candidate"):
        headers = getattr(actors, who).headers
        url = f"{API}/companies/{company.id}/api-keys"
        assert_problem(await client.get(url, headers=headers), 404)
        body = {"name": "Mine now", "scopes": ["jobs:write"]}
        assert_problem(await client.post(url, json=body, headers=headers), 404)
        assert_problem(await client.delete(f"{url}/{key['id']}", headers=headers), 404)
    admin = await client.get(f"{API}/companies/{company.id}/api-keys", headers=actors.admin.headers)
    assert admin.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"name": "No scopes", "scopes": []},
        {"name": "Unknown", "scopes": ["admin:all"]},
        {"name": "Too many", "scopes": ["jobs:read"] * 5},
        {"name": "", "scopes": ["jobs:read"]},
        {"name": "Past", "scopes": ["jobs:read"], "expires_at": "not a time"},
        {"name": "Gone", "scopes": ["jobs:read"], "expires_at": "2020-01-01T00:00:00Z"},
    ],
)
async def test_a_bad_key_request_is_422(
    client: httpx.AsyncClient, actors: Actors, company: Company, body: dict[str, Any]
) -> None:
    response = await client.post(
        f"{API}/companies/{company.id}/api-keys", json=body, headers=actors.employer.headers
    )
    assert_problem(response, 422)


async def test_a_key_past_its_requests_a_minute_is_429(
    make_client: ClientFactory, actors: Actors, company: Company
) -> None:
    client = await make_client(api_key_requests_per_minute=3)
    key = await make_key(client, actors, company)
    target = f"{API}/companies/{company.id}/jobs/external/K-4"
    await client.put(target, json=job(), headers=bearer(key))
    for _ in range(2):
        assert (await client.get(target, headers=bearer(key))).status_code == 200
    limited = await client.get(target, headers=bearer(key))
    assert_problem(limited, 429)
    assert int(limited.headers["Retry-After"]) > 0
    # People are not held to the key's count.
    assert (await client.get(target, headers=actors.employer.headers)).status_code == 200


async def test_requests_of_one_key_at_once_pass_its_limit_exactly(
    make_live_client: ClientFactory,
) -> None:
    from tests.test_races import REPEATS, live_user

    client = await make_live_client(rate_limits_enabled=False, api_key_requests_per_minute=5)
    _, employer = await live_user(client, Role.employer)
    made = await client.post(f"{API}/companies", json={"name": "Keyed Co"}, headers=employer)
    company_id = made.json()["id"]
    for attempt in range(min(REPEATS, 4)):
        key = await client.post(
            f"{API}/companies/{company_id}/api-keys",
            json={"name": f"Race {attempt}", "scopes": ["jobs:read"]},
            headers=employer,
        )
        target = f"{API}/companies/{company_id}/jobs/external/NONE"
        responses = await asyncio.gather(
            *(client.get(target, headers=bearer(key.json())) for _ in range(9))
        )
        # Counted before the request's own work: 5 get through (a 404: no such job), 4 are 429.
        assert sorted(r.status_code for r in responses) == [404] * 5 + [429] * 4


async def test_a_key_reads_and_moves_its_companys_applications_with_those_scopes(
    client: httpx.AsyncClient, db: AsyncSession, app: Any, actors: Actors, company: Company
) -> None:
    from tests.factories import create_application, create_job, create_user

    job_row = await create_job(db, company=company)
    ids = [
        (await create_application(db, job=job_row, candidate=await create_user(db, app))).id
        for _ in range(2)
    ]
    reader = await make_key(client, actors, company, name="Reader", scopes=["applications:read"])
    mover = await make_key(client, actors, company, name="Mover", scopes=["applications:write"])
    listed = await client.get(f"{API}/jobs/{job_row.id}/applications", headers=bearer(reader))
    assert listed.status_code == 200, listed.text
    assert sorted(item["id"] for item in listed.json()["items"]) == sorted(ids)
    export = await client.get(f"{API}/jobs/{job_row.id}/applications.csv", headers=bearer(reader))
    assert export.status_code == 200
    move = {"application_ids": ids, "status": "reviewing"}
    url = f"{API}/jobs/{job_row.id}/applications/status"
    assert_problem(await client.post(url, json=move, headers=bearer(reader)), 403)
    assert (await client.post(url, json=move, headers=bearer(mover))).status_code == 200
    assert_problem(
        await client.get(f"{API}/jobs/{job_row.id}/applications", headers=bearer(mover)), 403
    )
    # Another company's job, or none: 404.
    assert actors.other_employer.company is not None
    theirs = await create_job(db, company=actors.other_employer.company)
    assert_problem(
        await client.get(f"{API}/jobs/{theirs.id}/applications", headers=bearer(reader)), 404
    )
    assert_problem(
        await client.get(f"{API}/jobs/999999999/applications", headers=bearer(reader)), 404
    )
    # A single application's routes are for people.
    assert_problem(await client.get(f"{API}/applications/{ids[0]}", headers=bearer(reader)), 401)
