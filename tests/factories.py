"""Small explicit factories and request helpers for the tests."""

import itertools

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.security import PasswordHasher
from backend.db.models import Role, User
from backend.db.repository import users as users_repo

DEFAULT_PASSWORD = "correct horse battery staple"
_sequence = itertools.count(1)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_sequence)}@example.com"


async def create_user(
    db: AsyncSession,
    app: FastAPI,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    role: Role = Role.candidate,
    full_name: str = "Test User",
    is_active: bool = True,
) -> User:
    hasher: PasswordHasher = app.state.hasher
    user = await users_repo.create(
        db,
        email=email or unique_email(role.value),
        hashed_password=await hasher.hash(password),
        full_name=full_name,
        role=role,
    )
    if not is_active:
        await users_repo.update(db, user=user, is_active=False)
    return user


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": email, "password": password})


async def token_for(client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD) -> str:
    response = await sign_in(client, email, password)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    """The response is an RFC 9457 problem of this status; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["type"], str)
    return body
