"""POST /api/v1/auth/refresh and /auth/logout: rotation, replay, cookies, ending sessions."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import RefreshToken, User, UserSession
from tests.conftest import ClientFactory
from tests.factories import DEFAULT_PASSWORD, assert_problem, bearer, create_user, sign_in

REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"


async def pair_for(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await sign_in(client, email)
    assert response.status_code == 200, response.text
    client.cookies.clear()  # tests choose explicitly whether to rely on the cookie
    pair: dict[str, str] = response.json()
    return pair


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": refresh_token})


@pytest.fixture
async def user(db: AsyncSession, app: FastAPI) -> User:
    return await create_user(db, app)


# --- refresh: unhappy paths


@pytest.mark.parametrize(
    "body",
    [{}, {"refresh_token": None}, None],
    ids=["empty object", "null token", "no body"],
)
async def test_refresh_without_any_token_is_401(client: httpx.AsyncClient, body: object) -> None:
    response = await client.post(REFRESH, json=body)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("token", ["unknown-token", "x" * 512], ids=["unknown", "long unknown"])
async def test_refresh_with_unknown_token_is_401(client: httpx.AsyncClient, token: str) -> None:
    response = await refresh(client, token)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize(
    "body", [{"refresh_token": ""}, {"refresh_token": "x" * 513}, {"refresh_token": 5}, {"x": 1}]
)
async def test_refresh_with_malformed_body_is_422(client: httpx.AsyncClient, body: object) -> None:
    assert_problem(await client.post(REFRESH, json=body), 422)


async def test_an_access_token_is_not_a_refresh_token(
    client: httpx.AsyncClient, user: User
) -> None:
    pair = await pair_for(client, user.email)
    assert_problem(await refresh(client, pair["access_token"]), 401)


async def test_refresh_of_an_expired_session_is_401(
    client: httpx.AsyncClient, db: AsyncSession, user: User
) -> None:
    pair = await pair_for(client, user.email)
    past = datetime.now(UTC) - timedelta(seconds=1)
    await db.execute(update(UserSession).values(expires_at=past))
    await db.execute(update(RefreshToken).values(expires_at=past))
    assert_problem(await refresh(client, pair["refresh_token"]), 401)


async def test_refresh_of_a_deactivated_user_is_401(
    client: httpx.AsyncClient, db: AsyncSession, user: User
) -> None:
    pair = await pair_for(client, user.email)
    await db.execute(update(User).where(User.id == user.id).values(is_active=False))
    assert_problem(await refresh(client, pair["refresh_token"]), 401)


# --- refresh: rotation and replay


async def test_refresh_rotates_and_spends_the_old_token(
    client: httpx.AsyncClient, db: AsyncSession, user: User
) -> None:
    first = await pair_for(client, user.email)
    response = await refresh(client, first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.json()
    assert set(second) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get(ME, headers=bearer(second["access_token"]))).status_code == 200
    # Still one session: refreshing continues it rather than opening another.
    count = await db.scalar(select(func.count()).select_from(UserSession))
    assert count == 1


async def age_spent_tokens(db: AsyncSession, seconds: int) -> None:
    """Move every spend back in time, past the reuse leeway."""
    await db.execute(
        update(RefreshToken)
        .where(RefreshToken.spent_at.is_not(None))
        .values(spent_at=RefreshToken.spent_at - timedelta(seconds=seconds))
    )


async def test_replayed_refresh_token_revokes_the_whole_session(
    client: httpx.AsyncClient, db: AsyncSession, user: User
) -> None:
    first = await pair_for(client, user.email)
    second = (await refresh(client, first["refresh_token"])).json()
    third = (await refresh(client, second["refresh_token"])).json()
    assert (await client.get(ME, headers=bearer(third["access_token"]))).status_code == 200

    await age_spent_tokens(db, 11)  # past REFRESH_REUSE_LEEWAY_SECONDS (10)
    replay = await refresh(client, first["refresh_token"])
    assert_problem(replay, 401)

    # The newest tokens, the thief's or the user's, are dead too.
    assert_problem(await client.get(ME, headers=bearer(third["access_token"])), 401)
    assert_problem(await refresh(client, third["refresh_token"]), 401)


async def test_a_token_presented_again_within_the_leeway_fails_without_revoking(
    client: httpx.AsyncClient, user: User
) -> None:
    # Two tabs refreshing with one token: the slower one loses, and the session lives on.
    first = await pair_for(client, user.email)
    winner = (await refresh(client, first["refresh_token"])).json()
    assert_problem(await refresh(client, first["refresh_token"]), 401)
    assert (await client.get(ME, headers=bearer(winner["access_token"]))).status_code == 200
    assert (await refresh(client, winner["refresh_token"])).status_code == 200


async def test_a_leeway_of_zero_treats_every_reuse_as_a_replay(
    make_client: ClientFactory, db: AsyncSession, user: User
) -> None:
    strict = await make_client(refresh_reuse_leeway_seconds=0)
    first = await pair_for(strict, user.email)
    winner = (await refresh(strict, first["refresh_token"])).json()
    assert_problem(await refresh(strict, first["refresh_token"]), 401)
    assert_problem(await strict.get(ME, headers=bearer(winner["access_token"])), 401)


async def test_replay_leaves_other_sessions_alone(
    client: httpx.AsyncClient, db: AsyncSession, user: User
) -> None:
    stolen = await pair_for(client, user.email)
    other = await pair_for(client, user.email)
    await refresh(client, stolen["refresh_token"])
    await age_spent_tokens(db, 60)
    assert_problem(await refresh(client, stolen["refresh_token"]), 401)
    assert (await client.get(ME, headers=bearer(other["access_token"]))).status_code == 200
    assert (await refresh(client, other["refresh_token"])).status_code == 200


async def test_concurrent_refreshes_with_one_token_succeed_exactly_once(
    live_app: FastAPI, live_client: httpx.AsyncClient
) -> None:
    await live_client.post(
        "/api/v1/auth/register",
        json={"email": "race@example.com", "password": DEFAULT_PASSWORD, "full_name": "R"},
    )
    pair = await pair_for(live_client, "race@example.com")
    responses = await asyncio.gather(
        *(refresh(live_client, pair["refresh_token"]) for _ in range(5))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 401, 401, 401, 401]
    async with live_app.state.sessionmaker() as session:
        tokens = (await session.execute(select(RefreshToken))).scalars().all()
    # The original token plus exactly one successor.
    assert len(tokens) == 2


# --- refresh through the cookie


async def test_refresh_through_the_cookie(client: httpx.AsyncClient, user: User) -> None:
    signed_in = await sign_in(client, user.email)
    assert client.cookies.get("refresh_token") == signed_in.json()["refresh_token"]
    response = await client.post(REFRESH, json={})
    assert response.status_code == 200, response.text
    # The cookie was rotated along with the token.
    assert client.cookies.get("refresh_token") == response.json()["refresh_token"]
    again = await client.post(REFRESH, headers={"content-type": "application/json"})
    assert again.status_code == 200, again.text


@pytest.mark.parametrize(
    ("headers", "content"),
    [
        ({"content-type": "text/plain"}, b""),
        ({}, b""),
        ({"content-type": "application/json", "sec-fetch-site": "cross-site"}, b"{}"),
    ],
    ids=["text/plain", "no content type", "cross-site"],
)
async def test_cookie_needs_a_same_site_json_request(
    client: httpx.AsyncClient, user: User, headers: dict[str, str], content: bytes
) -> None:
    await sign_in(client, user.email)
    response = await client.post(REFRESH, content=content, headers=headers)
    assert_problem(response, 403)


async def test_form_post_with_the_cookie_is_refused(client: httpx.AsyncClient, user: User) -> None:
    await sign_in(client, user.email)
    response = await client.post(REFRESH, data={"refresh_token": "x"})
    assert_problem(response, 422)


# --- logout


async def test_logout_needs_an_access_token(client: httpx.AsyncClient) -> None:
    response = await client.post(LOGOUT)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_logout_ends_the_session_of_the_access_token(
    client: httpx.AsyncClient, user: User
) -> None:
    pair = await pair_for(client, user.email)
    other = await pair_for(client, user.email)
    response = await client.post(LOGOUT, headers=bearer(pair["access_token"]))
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(ME, headers=bearer(pair["access_token"])), 401)
    assert_problem(await refresh(client, pair["refresh_token"]), 401)
    assert_problem(await client.post(LOGOUT, headers=bearer(pair["access_token"])), 401)
    # Another device stays signed in.
    assert (await client.get(ME, headers=bearer(other["access_token"]))).status_code == 200


async def test_logout_clears_the_cookie(client: httpx.AsyncClient, user: User) -> None:
    signed_in = await sign_in(client, user.email)
    token = signed_in.json()["access_token"]
    response = await client.post(LOGOUT, headers=bearer(token))
    assert response.status_code == 204
    assert 'refresh_token=""' in response.headers["set-cookie"]
    assert "Path=/api/v1/auth" in response.headers["set-cookie"]


async def test_logout_with_a_refresh_token_ends_that_session_of_the_same_user_only(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, user: User
) -> None:
    my_other = await pair_for(client, user.email)
    stranger = await create_user(db, app)
    theirs = await pair_for(client, stranger.email)
    for refresh_token in (my_other["refresh_token"], theirs["refresh_token"]):
        mine = await pair_for(client, user.email)
        response = await client.post(
            LOGOUT, json={"refresh_token": refresh_token}, headers=bearer(mine["access_token"])
        )
        assert response.status_code == 204
        assert_problem(await client.get(ME, headers=bearer(mine["access_token"])), 401)
    assert_problem(await client.get(ME, headers=bearer(my_other["access_token"])), 401)
    # Someone else's refresh token cannot be used to sign them out.
    assert (await client.get(ME, headers=bearer(theirs["access_token"]))).status_code == 200
