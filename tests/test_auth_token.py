"""POST /api/v1/auth/token."""

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.security import PasswordHasher
from backend.db.models import RefreshToken, User, UserSession
from tests.factories import DEFAULT_PASSWORD, assert_problem, bearer, create_user, sign_in

LONG_NON_ASCII = "ü" * 100  # 100 characters, 200 bytes in UTF-8


async def sessions_of(db: AsyncSession, user_id: int) -> int:
    statement = select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id)
    return (await db.execute(statement)).scalar_one()


async def test_unknown_email_and_wrong_password_answer_the_same(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    user = await create_user(db, app)
    wrong_password = await sign_in(client, user.email, "not the password")
    unknown_email = await sign_in(client, "nobody@example.com", DEFAULT_PASSWORD)
    for response in (wrong_password, unknown_email):
        problem = assert_problem(response, 401)
        assert problem["detail"] == "Incorrect email or password."
        assert response.headers["www-authenticate"] == "Bearer"
    assert wrong_password.content == unknown_email.content
    assert await sessions_of(db, user.id) == 0


@pytest.mark.parametrize(
    "password",
    ["x" * 10_000, "", "short", "\x00" * 20, "ü" * 300],
    ids=["10kB", "empty", "short", "nul", "300 characters"],
)
async def test_impossible_password_is_401_not_500(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, password: str
) -> None:
    user = await create_user(db, app)
    response = await client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": password}
    )
    if password == "":
        # An empty form field is a missing one.
        assert_problem(response, 422)
    else:
        assert_problem(response, 401)
    assert password not in response.text or password == ""


@pytest.mark.parametrize(
    "username", ["x" * 10_000, "nul\x00@example.com", "not-an-email", "'; DROP TABLE users; --"]
)
async def test_odd_usernames_are_401(client: httpx.AsyncClient, username: str) -> None:
    response = await sign_in(client, username)
    assert_problem(response, 401)


async def test_missing_fields_are_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "a@example.com"})
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["body", "password"]  # type: ignore[index]


async def test_json_body_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/token", json={"username": "a@example.com", "password": DEFAULT_PASSWORD}
    )
    assert_problem(response, 422)


async def test_deactivated_account_with_right_password_is_403(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    user = await create_user(db, app, is_active=False)
    assert_problem(await sign_in(client, user.email), 403)
    # With the wrong password it is the ordinary 401: nothing is revealed.
    assert_problem(await sign_in(client, user.email, "wrong password"), 401)
    assert await sessions_of(db, user.id) == 0


async def test_sign_in_returns_a_token_pair_and_a_session(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    user = await create_user(db, app, email="Case@Example.com")
    response = await sign_in(client, "case@EXAMPLE.com")
    assert response.status_code == 200, response.text
    pair = response.json()
    assert set(pair) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 30 * 60
    assert len(pair["refresh_token"]) >= 43  # 256 bits, URL-safe base64
    assert await sessions_of(db, user.id) == 1
    # The refresh token is stored only as a hash.
    stored = (await db.execute(select(RefreshToken.token_hash))).scalars().all()
    assert pair["refresh_token"].encode() not in stored
    me = await client.get("/api/v1/users/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == user.id


async def test_refresh_token_cookie_is_httponly_strict_and_scoped(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    user = await create_user(db, app)
    response = await sign_in(client, user.email)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"refresh_token={response.json()['refresh_token']};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/api/v1/auth" in cookie
    # Development settings: not Secure, so it works over http://localhost.
    assert "Secure" not in cookie


async def test_each_sign_in_opens_a_new_session(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    user = await create_user(db, app)
    first = (await sign_in(client, user.email)).json()
    second = (await sign_in(client, user.email)).json()
    assert first["access_token"] != second["access_token"]
    assert await sessions_of(db, user.id) == 2


async def test_100_byte_non_ascii_password_works_and_its_72_byte_prefix_does_not(
    client: httpx.AsyncClient,
) -> None:
    password = "é" * 50  # 100 bytes in UTF-8
    assert len(password.encode()) == 100
    register = await client.post(
        "/api/v1/auth/register",
        json={"email": "long@example.com", "password": password, "full_name": "Long"},
    )
    assert register.status_code == 201, register.text
    assert (await sign_in(client, "long@example.com", password)).status_code == 200
    prefix = password.encode()[:72].decode()
    assert_problem(await sign_in(client, "long@example.com", prefix), 401)


async def test_legacy_bcrypt_hash_verifies_and_is_upgraded(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    user = await create_user(db, app)
    legacy = PasswordHasher(4)._context.handler("bcrypt").hash(DEFAULT_PASSWORD)
    user.hashed_password = legacy
    await db.flush()
    assert (await sign_in(client, user.email)).status_code == 200
    stored = await db.scalar(select(User.hashed_password).where(User.id == user.id))
    assert stored is not None
    assert stored.startswith("$bcrypt-sha256$")


async def test_hash_with_fewer_rounds_is_upgraded(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, settings: object
) -> None:
    user = await create_user(db, app)
    original = app.state.hasher
    app.state.hasher = PasswordHasher(5)
    try:
        assert (await sign_in(client, user.email)).status_code == 200
    finally:
        app.state.hasher = original
    stored = await db.scalar(select(User.hashed_password).where(User.id == user.id))
    assert stored is not None
    assert ",r=5$" in stored
