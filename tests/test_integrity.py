"""Right answers in one shape: timestamps, ETags, cursors bound to their search, exact resume
of relevance pages, a pool that works with many descriptors, and no secret in any log."""

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import SettingsError, load_settings
from backend.db.models import Company
from tests.conftest import ClientFactory, make_settings
from tests.factories import (
    DEFAULT_PASSWORD,
    Actors,
    assert_problem,
    create_job,
    job_body,
    sign_in,
    unique_email,
)

API = "/api/v1"
NOW = datetime.now(UTC)


# --- timestamps


async def test_every_timestamp_leaves_in_utc_with_z(
    client: httpx.AsyncClient, actors: Actors, company: Company
) -> None:
    created = await client.post(
        f"{API}/jobs",
        json=job_body(company.id, expires_at="2031-05-01T12:00:00+02:00", status="published"),
        headers=actors.employer.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["expires_at"] == "2031-05-01T10:00:00Z"
    read = await client.get(f"{API}/jobs/{created.json()['id']}")
    assert read.json()["expires_at"] == "2031-05-01T10:00:00Z"
    patched = await client.patch(
        f"{API}/jobs/{created.json()['id']}",
        json={"expires_at": "2031-06-01T00:00:00-05:00"},
        headers=actors.employer.headers,
    )
    assert patched.json()["expires_at"] == "2031-06-01T05:00:00Z"
    for body in (created.json(), read.json(), patched.json()):
        for field in ("expires_at", "published_at", "created_at", "updated_at"):
            assert body[field].endswith("Z"), (field, body[field])


# --- ETags and If-Match


@pytest.mark.parametrize("resource", ["job", "company", "application"])
async def test_if_match_refuses_a_stale_change_with_412(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company, resource: str
) -> None:
    job = await create_job(db, company=company)
    owner = actors.employer.headers
    if resource == "job":
        url, change, other = f"{API}/jobs/{job.id}", {"title": "One"}, {"title": "Two"}
    elif resource == "company":
        url, change, other = f"{API}/companies/{company.id}", {"name": "One"}, {"name": "Two"}
    else:
        applied = await client.post(
            f"{API}/jobs/{job.id}/applications", json={}, headers=actors.candidate.headers
        )
        url = f"{API}/applications/{applied.json()['id']}"
        change, other = {"status": "reviewing"}, {"status": "interviewing"}
    first = await client.get(url, headers=owner)
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    # The same version read twice has the same tag.
    assert (await client.get(url, headers=owner)).headers["ETag"] == etag

    changed = await client.patch(url, json=change, headers={**owner, "If-Match": etag})
    assert changed.status_code == 200, changed.text
    new_etag = changed.headers["ETag"]
    assert new_etag != etag
    assert (await client.get(url, headers=owner)).headers["ETag"] == new_etag

    stale = await client.patch(url, json=other, headers={**owner, "If-Match": etag})
    assert "changed since" in str(assert_problem(stale, 412)["detail"])
    weak = await client.patch(url, json=other, headers={**owner, "If-Match": f"W/{new_etag}"})
    assert_problem(weak, 412)
    after = (await client.get(url, headers=owner)).json()
    assert all(after[key] == value for key, value in change.items())

    listed = await client.patch(
        url, json=other, headers={**owner, "If-Match": f'"nope", {new_etag}'}
    )
    assert listed.status_code == 200
    anything = await client.patch(url, json=change, headers={**owner, "If-Match": "*"})
    assert anything.status_code == 200
    unconditional = await client.patch(url, json=other, headers=owner)
    assert unconditional.status_code == 200


async def test_a_stale_delete_is_412_and_deletes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    job = await create_job(db, company=company)
    url = f"{API}/jobs/{job.id}"
    etag = (await client.get(url)).headers["ETag"]
    await client.patch(url, json={"title": "Changed"}, headers=actors.employer.headers)
    stale = await client.delete(url, headers={**actors.employer.headers, "If-Match": etag})
    assert_problem(stale, 412)
    assert (await client.get(url)).status_code == 200
    current = (await client.get(url)).headers["ETag"]
    deleted = await client.delete(url, headers={**actors.employer.headers, "If-Match": current})
    assert deleted.status_code == 204


async def test_a_stale_if_match_does_not_reveal_what_the_caller_may_not_see(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    draft = await create_job(db, company=company, status="draft")
    response = await client.patch(
        f"{API}/jobs/{draft.id}",
        json={"title": "Mine now"},
        headers={**actors.other_employer.headers, "If-Match": '"0"'},
    )
    assert_problem(response, 404)


# --- cursors


async def test_a_cursor_belongs_to_its_own_search(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    for number in range(3):
        await create_job(db, company=company, title=f"Python rust {number}", salary_max=1000)
    params: dict[str, Any] = {"q": "python", "limit": 1}
    cursor = (await client.get(f"{API}/jobs", params=params)).json()["next_cursor"]
    assert (await client.get(f"{API}/jobs", params={**params, "cursor": cursor})).status_code == 200
    others: list[dict[str, Any]] = [
        {"q": "rust"},
        {"q": "python", "location": "berlin"},
        {"q": "python", "tag": "python"},
        {"q": "python", "salary_min": 10},
        {"q": "python", "sort": "newest"},
        {"q": "python", "posted_after": "2020-01-01T00:00:00Z"},
    ]
    for other in others:
        response = await client.get(f"{API}/jobs", params={**other, "limit": 1, "cursor": cursor})
        body = assert_problem(response, 422)
        assert body["errors"] == [
            {"loc": ["query", "cursor"], "msg": "Invalid cursor", "type": "value_error"}
        ]


async def test_relevance_pages_resume_after_ties_of_inexact_ranks(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    # Ranks such as 0.2 and 0.7 are not exact as `real`; ties of them at page boundaries
    # used to lose rows (0.2) or serve the last row again forever (0.7).
    descriptions = ["python data python"] * 4 + ["python " * 7] * 4 + ["python"] * 3
    for age, description in enumerate(descriptions):
        await create_job(
            db,
            company=company,
            title="Engineer",
            description=description,
            published_at=NOW - timedelta(minutes=age),
        )
    whole = (await client.get(f"{API}/jobs", params={"q": "python", "limit": 100})).json()
    expected = [job["id"] for job in whole["items"]]
    assert len(expected) == len(descriptions)
    for limit in (1, 2, 3):
        ids: list[int] = []
        cursor = None
        for _ in range(50):
            params: dict[str, Any] = {"q": "python", "limit": limit}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get(f"{API}/jobs", params=params)).json()
            ids += [job["id"] for job in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert ids == expected, limit


# --- the pool with many descriptors


@pytest.fixture
def many_descriptors() -> Iterator[None]:
    descriptors = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    assert max(descriptors) > 1024
    try:
        yield
    finally:
        for descriptor in descriptors:
            os.close(descriptor)


async def test_the_pool_serves_when_the_process_holds_over_1024_descriptors(
    many_descriptors: None, make_live_client: ClientFactory
) -> None:
    client = await make_live_client()
    # Opened after the descriptors above, the pool's sockets have numbers over 1 024; the
    # second and later requests check a pooled connection for life before using it.
    for _ in range(5):
        response = await client.get(f"{API}/jobs")
        assert response.status_code == 200, response.text


# --- nothing secret in logs


async def test_database_errors_log_no_bound_values(
    client: httpx.AsyncClient, db: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    # A trigger that fails every new refresh token, quoting it in the error's DETAIL.
    await db.execute(
        text(
            """
            CREATE FUNCTION fail_refresh_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'refused' USING DETAIL = 'leaked ' || encode(NEW.token_hash, 'hex');
            END $$;
            CREATE TRIGGER fail_refresh_tokens BEFORE INSERT ON refresh_tokens
                FOR EACH ROW EXECUTE FUNCTION fail_refresh_tokens();
            """
        )
    )
    email = unique_email("secret")
    registered = await client.post(
        f"{API}/auth/register",
        json={"email": email, "password": DEFAULT_PASSWORD, "full_name": "S"},
    )
    assert registered.status_code == 201
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        response = await sign_in(client, email)
    assert_problem(response, 500)
    formatter = logging.Formatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert "RaiseException" in logged  # the class and message are there for the operator
    assert "refused" in logged
    for secret in ("leaked", "$bcrypt", DEFAULT_PASSWORD):
        assert secret not in logged, secret

    # A statement that binds a password hash: a failing insert of a user.
    await db.execute(
        text(
            """
            CREATE FUNCTION fail_users() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'no more users'; END $$;
            CREATE TRIGGER fail_users BEFORE INSERT ON users
                FOR EACH ROW EXECUTE FUNCTION fail_users();
            """
        )
    )
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        failed = await client.post(
            f"{API}/auth/register",
            json={"email": unique_email("x"), "password": DEFAULT_PASSWORD, "full_name": "S"},
        )
    assert_problem(failed, 500)
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert "no more users" in logged
    for secret in ("$bcrypt", DEFAULT_PASSWORD):
        assert secret not in logged, secret


async def test_database_errors_hide_bound_values(app: FastAPI) -> None:
    async with app.state.engine.connect() as connection:
        with pytest.raises(DBAPIError) as raised:
            await connection.execute(
                text("SELECT 1 / 0 WHERE CAST(:secret AS text) <> ''"), {"secret": "hush-123"}
            )
    assert "division by zero" in str(raised.value)
    assert "hush-123" not in str(raised.value)


def test_settings_never_show_the_database_password() -> None:
    settings = load_settings(
        _env_file=None,
        database_url="postgresql+psycopg://app:s3cr3t-pw@db.example:5432/jobs",
        secret_key="x" * 40,
    )
    assert "s3cr3t-pw" not in repr(settings)
    assert "s3cr3t-pw" not in str(settings)
    assert "db.example" in repr(settings)


def test_production_refuses_the_console_mailer() -> None:
    with pytest.raises(SettingsError, match="MAIL_BACKEND=console"):
        load_settings(
            _env_file=None, environment="production", secret_key="x" * 40, mail_backend="console"
        )
    production = make_settings(make_settings_url(), environment="production", secret_key="y" * 40)
    assert production.mail_backend == "smtp"


def make_settings_url() -> Any:
    from sqlalchemy.engine import make_url

    return make_url("postgresql+psycopg://postgres@localhost:5432/jobboard")


async def test_responses_are_utc_whatever_the_servers_time_zone(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    # This test's requests share its connection: the server now speaks New York time.
    await db.execute(text("SET LOCAL timezone = 'America/New_York'"))
    assert (await db.execute(text("SELECT now()::text"))).scalar_one().endswith(("-05", "-04"))
    for minutes in range(3):
        await create_job(db, company=company, published_at=NOW - timedelta(minutes=minutes))
    first = await client.get(f"{API}/jobs", params={"limit": 2})
    for job in first.json()["items"]:
        assert job["published_at"].endswith("Z")
        assert job["created_at"].endswith("Z")
    rest = await client.get(
        f"{API}/jobs", params={"limit": 2, "cursor": first.json()["next_cursor"]}
    )
    assert len(first.json()["items"]) + len(rest.json()["items"]) == 3
    read = await client.get(f"{API}/users/me", headers=actors.candidate.headers)
    assert read.json()["created_at"].endswith("Z")
