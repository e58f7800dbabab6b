"""/api/v1/admin/users."""

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Actors, assert_problem, create_user, token_for

URL = "/api/v1/admin/users"


@pytest.mark.parametrize("who", ["employer", "candidate"])
async def test_only_admins(client: httpx.AsyncClient, actors: Actors, who: str) -> None:
    headers = getattr(actors, who).headers
    assert_problem(await client.get(URL, headers=headers), 403)
    response = await client.patch(
        f"{URL}/{actors.other_candidate.user.id}", json={"is_active": False}, headers=headers
    )
    assert_problem(response, 403)
    assert_problem(await client.get(URL), 401)


async def test_list_and_filter_by_email(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, actors: Actors
) -> None:
    await create_user(db, app, email="Jane.Doe@Example.org")
    await create_user(db, app, email="jane_x@example.org")
    response = await client.get(URL, params={"email": "JANE.d"}, headers=actors.admin.headers)
    assert response.status_code == 200
    assert [user["email"] for user in response.json()["items"]] == ["Jane.Doe@Example.org"]
    underscore = await client.get(URL, params={"email": "e_x"}, headers=actors.admin.headers)
    assert [user["email"] for user in underscore.json()["items"]] == ["jane_x@example.org"]
    everyone = await client.get(URL, params={"limit": 100}, headers=actors.admin.headers)
    assert len(everyone.json()["items"]) == 7
    assert "hashed_password" not in everyone.text


@pytest.mark.parametrize(
    "body", [{"role": "root"}, {"is_active": "maybe"}, {"is_active": None}, {"email": "x@y.z"}]
)
async def test_invalid_update_is_422(
    client: httpx.AsyncClient, actors: Actors, body: dict[str, object]
) -> None:
    response = await client.patch(
        f"{URL}/{actors.candidate.user.id}", json=body, headers=actors.admin.headers
    )
    assert_problem(response, 422)


async def test_unknown_user_is_404(client: httpx.AsyncClient, actors: Actors) -> None:
    response = await client.patch(f"{URL}/999999", json={}, headers=actors.admin.headers)
    assert_problem(response, 404)


async def test_deactivation_ends_every_session_at_once(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    target = actors.candidate
    second_session = await token_for(client, target.user.email)
    response = await client.patch(
        f"{URL}/{target.user.id}", json={"is_active": False}, headers=actors.admin.headers
    )
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    for headers in (target.headers, {"Authorization": f"Bearer {second_session}"}):
        assert_problem(await client.get("/api/v1/users/me", headers=headers), 401)
    reactivated = await client.patch(
        f"{URL}/{target.user.id}", json={"is_active": True}, headers=actors.admin.headers
    )
    assert reactivated.json()["is_active"] is True
    # Sessions ended stay ended; signing in again works.
    assert_problem(await client.get("/api/v1/users/me", headers=target.headers), 401)
    await token_for(client, target.user.email)


async def test_promote_to_employer_and_admin(client: httpx.AsyncClient, actors: Actors) -> None:
    target = actors.candidate
    for role in ("employer", "admin"):
        response = await client.patch(
            f"{URL}/{target.user.id}", json={"role": role}, headers=actors.admin.headers
        )
        assert response.status_code == 200
        assert response.json()["role"] == role
    # The new role applies on the very next request with the same token.
    assert (await client.get(URL, headers=target.headers)).status_code == 200


@pytest.mark.parametrize("body", [{"is_active": False}, {"role": "candidate"}])
async def test_admins_cannot_lock_themselves_out(
    client: httpx.AsyncClient, actors: Actors, body: dict[str, object]
) -> None:
    response = await client.patch(
        f"{URL}/{actors.admin.user.id}", json=body, headers=actors.admin.headers
    )
    assert_problem(response, 403)
    assert (await client.get(URL, headers=actors.admin.headers)).status_code == 200
