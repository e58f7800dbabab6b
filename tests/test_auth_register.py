"""POST /api/v1/auth/register."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import User
from tests.factories import DEFAULT_PASSWORD, assert_problem, create_user

URL = "/api/v1/auth/register"
LONG_NON_ASCII = "pässwörd-ß-日本語-" * 5  # 100 characters, well over 72 bytes in UTF-8


def body(**overrides: object) -> dict[str, object]:
    return {
        "email": "new@example.com",
        "password": DEFAULT_PASSWORD,
        "full_name": "New User",
        **overrides,
    }


async def count_users(db: AsyncSession) -> int:
    return (await db.execute(select(func.count()).select_from(User))).scalar_one()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", ""),
        ("email", "a@b"),
        ("password", "short"),
        ("password", "x" * 257),
        ("password", "pass\x00word-long"),
        ("password", 12345678),
        ("full_name", ""),
        ("full_name", "   "),
        ("full_name", "x" * 201),
        ("full_name", "bad\x00name"),
        ("role", "admin"),
        ("role", "superuser"),
        ("role", None),
    ],
)
async def test_invalid_field_is_422_and_writes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, field: str, value: object
) -> None:
    before = await count_users(db)
    response = await client.post(URL, json={**body(), field: value})
    problem = assert_problem(response, 422)
    assert any(err["loc"][-1] == field for err in problem["errors"])  # type: ignore[attr-defined]
    assert await count_users(db) == before


@pytest.mark.parametrize("field", ["is_active", "id", "created_at", "hashed_password", "owner_id"])
async def test_unknown_field_is_422(
    client: httpx.AsyncClient, db: AsyncSession, field: str
) -> None:
    before = await count_users(db)
    response = await client.post(URL, json={**body(), field: True})
    problem = assert_problem(response, 422)
    assert problem["errors"] == [
        {"loc": ["body", field], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
    ]
    assert await count_users(db) == before


@pytest.mark.parametrize("password", ["Qz7#kP", "Qz7#kP" * 50, "Qz7#\x00kP-long"])
async def test_422_never_echoes_the_password(client: httpx.AsyncClient, password: str) -> None:
    response = await client.post(URL, json={**body(), "password": password})
    assert_problem(response, 422)
    assert password not in response.text
    assert "input" not in response.text


@pytest.mark.parametrize(
    "payload",
    ["not json", "[1, 2]", '{"email": ', "null"],
)
async def test_malformed_body_is_a_4xx_problem(client: httpx.AsyncClient, payload: str) -> None:
    response = await client.post(URL, content=payload, headers={"content-type": "application/json"})
    assert_problem(response, 422)


async def test_lone_surrogate_password_is_422(client: httpx.AsyncClient) -> None:
    raw = '{"email": "s@example.com", "password": "abc\\ud800defgh", "full_name": "S"}'
    response = await client.post(URL, content=raw, headers={"content-type": "application/json"})
    assert_problem(response, 422)


async def test_duplicate_email_in_other_case_is_409(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    await create_user(db, app, email="Taken@Example.com")
    before = await count_users(db)
    response = await client.post(URL, json={**body(), "email": "tAKEN@example.COM"})
    problem = assert_problem(response, 409)
    assert problem["detail"] == "This email is already registered."
    assert await count_users(db) == before


async def test_registers_a_candidate_by_default(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, json=body())
    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == {
        "id", "email", "full_name", "role", "is_active", "created_at", "email_verified_at",
        "email_verified",
    }  # fmt: skip
    assert user["email_verified"] is False
    assert user["email_verified_at"] is None
    assert user["email"] == "new@example.com"
    assert user["full_name"] == "New User"
    assert user["role"] == "candidate"
    assert user["is_active"] is True
    assert user["created_at"].endswith("Z")
    assert DEFAULT_PASSWORD not in response.text


async def test_registers_an_employer(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, json={**body(), "role": "employer"})
    assert response.status_code == 201, response.text
    assert response.json()["role"] == "employer"


async def test_full_name_is_trimmed(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, json={**body(), "full_name": "  Ada  "})
    assert response.status_code == 201, response.text
    assert response.json()["full_name"] == "Ada"


async def test_password_is_stored_hashed_with_bcrypt_sha256(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    response = await client.post(URL, json=body())
    assert response.status_code == 201
    stored = await db.scalar(select(User.hashed_password).where(User.id == response.json()["id"]))
    assert stored is not None
    assert stored.startswith("$bcrypt-sha256$")
    assert DEFAULT_PASSWORD not in stored


@pytest.mark.parametrize("password", ["12345678", "x" * 256, LONG_NON_ASCII, "  spaced  out  "])
async def test_any_password_of_8_to_256_characters_signs_in(
    client: httpx.AsyncClient, password: str
) -> None:
    response = await client.post(URL, json={**body(), "password": password})
    assert response.status_code == 201, response.text
    token = await client.post(
        "/api/v1/auth/token", data={"username": "new@example.com", "password": password}
    )
    assert token.status_code == 200, token.text


async def test_concurrent_registrations_of_one_email_give_one_account(
    live_client: httpx.AsyncClient,
) -> None:
    # Both may pass the existence check; the unique index on lower(email) decides.
    bodies = [
        {"email": "race@example.com", "password": DEFAULT_PASSWORD, "full_name": "A"},
        {"email": "RACE@example.com", "password": DEFAULT_PASSWORD, "full_name": "B"},
        {"email": "Race@Example.com", "password": DEFAULT_PASSWORD, "full_name": "C"},
    ]
    responses = await asyncio.gather(*(live_client.post(URL, json=body) for body in bodies))
    assert sorted(response.status_code for response in responses) == [201, 409, 409]
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409)
