"""Addresses in one written form, and no account that looks like another's (TS #39)."""

import asyncio
from collections import Counter

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Role
from backend.db.repository import users as users_repo
from tests.conftest import ClientFactory
from tests.factories import DEFAULT_PASSWORD, assert_problem, sign_in

REGISTER = "/api/v1/auth/register"


async def register(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post(
        REGISTER, json={"email": email, "password": DEFAULT_PASSWORD, "full_name": "Someone"}
    )


async def test_a_mixed_script_local_part_is_refused(client: httpx.AsyncClient) -> None:
    assert (await register(client, "admin1@seed.example.com")).status_code == 201
    problem = assert_problem(await register(client, "\u0430dmin1@seed.example.com"), 422)
    assert "mixes scripts" in str(problem["detail"])


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("paypal@example.com", "paypa1@example.com"),
        ("admin@example.com", "adrnin@example.com"),
        ("admin@seed.example.com", "admin@s\u0435ed.example.com"),  # a Cyrillic ie in the domain
        ("ace@example.com", "\u0430\u0441\u0435@example.com"),  # all Cyrillic: one script
    ],
)
async def test_an_address_that_looks_like_a_registered_one_is_409(
    client: httpx.AsyncClient, first: str, second: str
) -> None:
    assert (await register(client, first)).status_code == 201
    problem = assert_problem(await register(client, second), 409)
    assert "looks too much like" in str(problem["detail"])


async def test_compatibility_forms_are_one_address(client: httpx.AsyncClient) -> None:
    created = await register(client, "\uff41\uff44\uff41@Example.COM")  # full-width "ada"
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "ada@example.com"
    problem = assert_problem(await register(client, "ADA@example.com"), 409)
    assert problem["detail"] == "This email is already registered."
    assert (await sign_in(client, "\uff41\uff44\uff41@example.com")).status_code == 200


async def test_an_international_domain_is_kept_in_ascii_and_signs_in_either_way(
    client: httpx.AsyncClient,
) -> None:
    created = await register(client, "jo@b\u00fccher.de")
    assert created.json()["email"] == "jo@xn--bcher-kva.de"
    assert (await sign_in(client, "jo@b\u00fccher.de")).status_code == 200
    assert (await sign_in(client, "jo@xn--bcher-kva.de")).status_code == 200


async def test_the_local_part_is_at_most_64_characters(client: httpx.AsyncClient) -> None:
    assert_problem(await register(client, "a" * 65 + "@example.com"), 422)
    assert (await register(client, "a" * 64 + "@example.com")).status_code == 201


async def test_spellings_of_one_address_share_one_throttle(
    make_client: ClientFactory, client: httpx.AsyncClient
) -> None:
    strict = await make_client(login_max_failures=2)
    await register(client, "ada@example.com")
    for spelling in ("ada@example.com", "\uff41\uff44\uff41@example.com"):
        assert (await sign_in(strict, spelling, "wrong password")).status_code == 401
    assert (await sign_in(strict, "ADA@EXAMPLE.COM", DEFAULT_PASSWORD)).status_code == 429


async def test_look_alike_registrations_at_once_make_one_account(
    make_live_client: ClientFactory,
) -> None:
    client = await make_live_client(rate_limits_enabled=False)
    for round_number in range(5):
        spellings = [
            f"paypal{round_number}@example.com",
            f"paypa1{round_number}@example.com",
            f"PAYPAL{round_number}@example.com",
            f"paypai{round_number}@example.com".replace("i", "l"),
        ]
        responses = await asyncio.gather(*(register(client, email) for email in spellings))
        statuses = Counter(response.status_code for response in responses)
        assert statuses == {201: 1, 409: 3}


async def test_an_account_kept_with_a_unicode_domain_still_signs_in(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    # Addresses were kept as email-validator wrote them before they were normalized.
    await users_repo.create(
        db,
        email="old@b\u00fccher.de",
        hashed_password=await app.state.hasher.hash(DEFAULT_PASSWORD),
        full_name="Old",
        role=Role.candidate,
    )
    for spelling in ("old@b\u00fccher.de", "OLD@xn--bcher-kva.de"):
        assert (await sign_in(client, spelling)).status_code == 200, spelling
    assert_problem(await register(client, "old@xn--bcher-kva.de"), 409)
