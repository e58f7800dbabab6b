"""Small explicit factories and request helpers for the tests."""

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.security import PasswordHasher
from backend.db.models import (
    Application,
    ApplicationStatus,
    Company,
    EmploymentType,
    Job,
    JobStatus,
    Role,
    User,
    Workplace,
)
from backend.db.repository import applications as applications_repo
from backend.db.repository import companies as companies_repo
from backend.db.repository import jobs as jobs_repo
from backend.db.repository import users as users_repo
from backend.services.auth import start_session

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
    verified: bool = True,
) -> User:
    hasher: PasswordHasher = app.state.hasher
    user = await users_repo.create(
        db,
        email=email or unique_email(role.value),
        hashed_password=await hasher.hash(password),
        full_name=full_name,
        role=role,
        email_verified_at=datetime.now(UTC) if verified else None,
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


def job_body(company: int, **overrides: Any) -> dict[str, Any]:
    """A valid body for POST /jobs (a draft unless `status` says otherwise)."""
    return {
        "company_id": company,
        "title": "Backend Engineer",
        "description": "Design and build services.",
        "location": "Lisbon",
        "workplace": "remote",
        "employment_type": "full_time",
        **overrides,
    }


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


async def create_company(db: AsyncSession, *, owner: User, name: str = "Acme Robotics") -> Company:
    return await companies_repo.create(
        db,
        owner_id=owner.id,
        name=name,
        website=None,
        description=None,
        description_html=None,
        rendered_from=None,
    )


_JOB_DEFAULTS: dict[str, Any] = {
    "title": "Python Developer",
    "description": "Build and run our APIs.",
    "location": "Berlin, Germany",
    "workplace": Workplace.hybrid,
    "employment_type": EmploymentType.full_time,
    "tags": [],
    "status": JobStatus.published,
}


async def create_job(db: AsyncSession, *, company: Company, **overrides: Any) -> Job:
    values = {**_JOB_DEFAULTS, **overrides}
    if values["status"] == JobStatus.published:
        values.setdefault("published_at", datetime.now(UTC))
    return await jobs_repo.create(db, company=company, **values)


async def create_application(
    db: AsyncSession, *, job: Job, candidate: User, status: ApplicationStatus | None = None
) -> Application:
    application = await applications_repo.create(
        db, job_id=job.id, candidate_id=candidate.id, cover_letter=None
    )
    if status is not None:
        await applications_repo.update(db, application=application, status=status)
    return application


@dataclass
class Actor:
    user: User
    headers: dict[str, str]
    company: Company | None = None


@dataclass
class Actors:
    employer: Actor
    other_employer: Actor
    candidate: Actor
    other_candidate: Actor
    admin: Actor


async def signed_in(client: httpx.AsyncClient, user: User) -> dict[str, str]:
    return bearer(await token_for(client, user.email))


async def session_headers(db: AsyncSession, app: FastAPI, user: User) -> dict[str, str]:
    """Headers of a fresh sign-in session of `user`, opened without the sign-in route (which
    its own tests cover), so that fixtures stay cheap."""
    tokens = await start_session(db, app.state.settings, user=user)
    return bearer(tokens.access_token)


async def make_actors(db: AsyncSession, app: FastAPI, client: httpx.AsyncClient) -> Actors:
    async def actor(role: Role, company_name: str | None = None) -> Actor:
        user = await create_user(db, app, role=role)
        company = await create_company(db, owner=user, name=company_name) if company_name else None
        return Actor(user=user, headers=await session_headers(db, app, user), company=company)

    return Actors(
        employer=await actor(Role.employer, "Acme Robotics"),
        other_employer=await actor(Role.employer, "Globex"),
        candidate=await actor(Role.candidate),
        other_candidate=await actor(Role.candidate),
        admin=await actor(Role.admin),
    )


async def signed_in_headers(client: httpx.AsyncClient, role: str) -> dict[str, str]:
    """Register a fresh account of `role` through the API, confirm its address (as its
    mailed link would), and sign it in."""
    email = unique_email(role)
    registered = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": DEFAULT_PASSWORD, "full_name": role, "role": role},
    )
    assert registered.status_code == 201, registered.text
    app: FastAPI = client.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as db, db.begin():
        await db.execute(
            update(User)
            .where(User.id == registered.json()["id"])
            .values(email_verified_at=func.now())
        )
    return bearer(await token_for(client, email))
