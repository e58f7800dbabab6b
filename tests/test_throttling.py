"""Sign-in throttling per email and per address, and request rates per address."""

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuthAttempt, User
from tests.conftest import ClientFactory
from tests.factories import DEFAULT_PASSWORD, assert_problem, create_user, sign_in

REGISTER = "/api/v1/auth/register"
RESET = "/api/v1/auth/password-reset"


@pytest.fixture
async def user(db: AsyncSession, app: FastAPI) -> User:
    return await create_user(db, app, email="Throttled@Example.com")


async def fail(client: httpx.AsyncClient, email: str, times: int) -> None:
    for _ in range(times):
        assert_problem(await sign_in(client, email, "wrong password"), 401)


async def age_attempts(db: AsyncSession, seconds: int) -> None:
    await db.execute(
        update(AuthAttempt).values(created_at=AuthAttempt.created_at - timedelta(seconds=seconds))
    )


async def test_five_failures_lock_the_email_even_for_the_right_password(
    client: httpx.AsyncClient, user: User
) -> None:
    await fail(client, user.email, 5)
    response = await sign_in(client, user.email)
    problem = assert_problem(response, 429)
    assert "sign-ins" in str(problem["detail"])
    assert 895 <= int(response.headers["retry-after"]) <= 900


async def test_failures_count_case_insensitively(client: httpx.AsyncClient, user: User) -> None:
    for email in ("throttled@example.com", "THROTTLED@EXAMPLE.COM", "Throttled@example.com"):
        await fail(client, email, 1)
    await fail(client, "tHrOtTlEd@ExAmPlE.cOm", 2)
    assert_problem(await sign_in(client, "throttled@EXAMPLE.com"), 429)


async def test_unknown_emails_are_throttled_too(client: httpx.AsyncClient) -> None:
    await fail(client, "ghost@example.com", 5)
    assert_problem(await sign_in(client, "ghost@example.com"), 429)


async def test_four_failures_then_success_clears_the_count(
    client: httpx.AsyncClient, user: User
) -> None:
    await fail(client, user.email, 4)
    assert (await sign_in(client, user.email)).status_code == 200
    await fail(client, user.email, 4)
    assert (await sign_in(client, user.email)).status_code == 200


async def test_lock_lifts_when_the_window_passes(
    client: httpx.AsyncClient, db: AsyncSession, user: User
) -> None:
    await fail(client, user.email, 5)
    assert_problem(await sign_in(client, user.email), 429)
    await age_attempts(db, 600)
    response = await sign_in(client, user.email)
    assert_problem(response, 429)
    assert 295 <= int(response.headers["retry-after"]) <= 300
    await age_attempts(db, 301)
    assert (await sign_in(client, user.email)).status_code == 200


async def test_blocked_attempts_do_not_extend_the_lock(
    client: httpx.AsyncClient, db: AsyncSession, user: User
) -> None:
    await fail(client, user.email, 5)
    for _ in range(3):
        assert_problem(await sign_in(client, user.email, "still wrong"), 429)
    count = await db.scalar(
        select(func.count()).select_from(AuthAttempt).where(AuthAttempt.kind == "login_email")
    )
    assert count == 5


async def test_other_emails_are_not_affected(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, user: User
) -> None:
    other = await create_user(db, app)
    await fail(client, user.email, 5)
    assert (await sign_in(client, other.email)).status_code == 200


async def test_settings_change_the_limits(make_client: ClientFactory, user: User) -> None:
    client = await make_client(login_max_failures=2, login_failure_window_seconds=60)
    await fail(client, user.email, 2)
    response = await sign_in(client, user.email)
    assert_problem(response, 429)
    assert int(response.headers["retry-after"]) <= 60


async def test_one_address_cannot_spray_many_emails(make_client: ClientFactory) -> None:
    client = await make_client(address_max_failures=3, client_address="203.0.113.7")
    for number in range(3):
        await fail(client, f"target{number}@example.com", 1)
    response = await sign_in(client, "fresh-target@example.com")
    assert_problem(response, 429)
    # Another address is not held back.
    other = await make_client(address_max_failures=3, client_address="203.0.113.8")
    assert_problem(await sign_in(other, "fresh-target@example.com"), 401)


async def test_disabling_rate_limits_keeps_the_per_email_lock(
    make_client: ClientFactory, user: User
) -> None:
    client = await make_client(rate_limits_enabled=False, address_max_failures=1)
    await fail(client, "someone@example.com", 1)
    await fail(client, "someone-else@example.com", 1)  # no per-address lock
    await fail(client, user.email, 5)
    assert_problem(await sign_in(client, user.email), 429)


async def test_a_wrong_current_password_counts_as_a_failure(
    client: httpx.AsyncClient, user: User
) -> None:
    token = (await sign_in(client, user.email)).json()["access_token"]
    for _ in range(5):
        response = await client.post(
            "/api/v1/users/me/password",
            json={"current_password": "guess", "new_password": "a new passphrase"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert_problem(response, 400)
    assert_problem(await sign_in(client, user.email), 429)


@pytest.mark.parametrize("path", [REGISTER, RESET])
async def test_registration_and_reset_are_rate_limited_per_address(
    make_client: ClientFactory, path: str
) -> None:
    client = await make_client(address_rate_limit_per_minute=3, client_address="198.51.100.1")
    bodies = [
        {"email": "not-an-email"},  # a 422 counts too
        {"email": "r1@example.com", "password": DEFAULT_PASSWORD, "full_name": "R"},
        {"email": "r2@example.com", "password": DEFAULT_PASSWORD, "full_name": "R"},
    ]
    for body in bodies:
        payload = body if path == REGISTER else {"email": body["email"]}
        assert (await client.post(path, json=payload)).status_code in (201, 202, 422)
    response = await client.post(path, json={"email": "r3@example.com"})
    assert_problem(response, 429)
    assert 1 <= int(response.headers["retry-after"]) <= 60
    other = await make_client(address_rate_limit_per_minute=3, client_address="198.51.100.2")
    assert (await other.post(RESET, json={"email": "r3@example.com"})).status_code == 202


async def test_rate_limits_can_be_switched_off(make_client: ClientFactory) -> None:
    client = await make_client(rate_limits_enabled=False, address_rate_limit_per_minute=1)
    for _ in range(3):
        assert (await client.post(RESET, json={"email": "x@example.com"})).status_code == 202


async def test_forwarded_address_is_trusted_only_from_allowed_proxies(
    make_client: ClientFactory,
) -> None:
    headers = {"X-Forwarded-For": "192.0.2.50"}
    behind_proxy = await make_client(
        address_rate_limit_per_minute=1, client_address="10.0.0.2", forwarded_allow_ips="10.0.0.2"
    )
    assert (
        await behind_proxy.post(RESET, json={"email": "a@example.com"}, headers=headers)
    ).status_code == 202
    # Same forwarded client: limited, although the proxy itself is the same peer.
    assert_problem(
        await behind_proxy.post(RESET, json={"email": "a@example.com"}, headers=headers), 429
    )
    # A different forwarded client through the same proxy is counted apart.
    other = {"X-Forwarded-For": "192.0.2.51"}
    assert (
        await behind_proxy.post(RESET, json={"email": "a@example.com"}, headers=other)
    ).status_code == 202

    # From an untrusted peer the header is ignored: spoofing it does not reset the count.
    direct = await make_client(address_rate_limit_per_minute=1, client_address="198.51.100.9")
    assert (
        await direct.post(RESET, json={"email": "a@example.com"}, headers=headers)
    ).status_code == 202
    spoofed = {"X-Forwarded-For": "192.0.2.99"}
    assert_problem(await direct.post(RESET, json={"email": "a@example.com"}, headers=spoofed), 429)
